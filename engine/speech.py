"""How long a text takes to read aloud, in any script.

Speech is close to proportional to letters within one script, but a letter's worth differs
between scripts: a Chinese character is a syllable, a Latin letter a fraction of one. The
rates below are letters (grapheme clusters) per second at an unhurried storytelling pace,
near what espeak-ng's voices take at 150 words a minute (measured in bench/languages.py).
"""

from __future__ import annotations

from engine.segment import Script, graphemes, is_wordlike, script_of, sentences

_RATE: dict[Script, float] = {
    Script.HAN: 4.5,
    Script.KANA: 7.0,
    Script.HANGUL: 6.0,
    Script.THAI: 10.0,
    Script.LAO: 10.0,
    Script.KHMER: 9.0,
    Script.MYANMAR: 9.0,
    Script.ARABIC: 11.0,
    Script.HEBREW: 11.0,
    Script.ETHIOPIC: 7.0,
}
LATIN_RATE = 11.5  # also the rate of every script not listed: alphabets and abugidas
_PAUSE_S = 0.35  # between sentences
_LEAST_S = 1.5


def rate_of(script: Script) -> float:
    """Letters a second for a script at storytelling pace."""
    return _RATE.get(script, LATIN_RATE)


def letter_weight(grapheme: str) -> float:
    """Seconds a grapheme takes to say; spaces, punctuation and emoji take none."""
    if not is_wordlike(grapheme):
        return 0.0
    return 1.0 / rate_of(script_of(grapheme[0]))


def speaking_time(text: str) -> float:
    """How long the text takes to read aloud at a storytelling pace, in seconds."""
    letters = sum(letter_weight(g) for g in graphemes(text))
    pauses = _PAUSE_S * max(0, len(sentences(text)) - 1)
    return max(_LEAST_S, letters + pauses + 0.4)


def latin_equivalent(text: str) -> int:
    """The text's length counted in Latin letters of the same speaking time: the measure
    that story limits use, so a limit means the same length of video in every script."""
    return round(
        sum(letter_weight(g) if is_wordlike(g) else 1 / LATIN_RATE for g in graphemes(text))
        * LATIN_RATE
    )
