"""How long a text takes to read aloud, in any script.

Speech is close to proportional to letters within one script, but a letter's worth differs
between scripts: a Chinese character is a syllable, a Latin letter a fraction of one. The
rates below are letters (grapheme clusters) per second at an unhurried storytelling pace,
near what espeak-ng's voices take at 150 words a minute for a four-sentence fable in each
language (bench/languages.py prints the measured rate beside the video it made).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from engine.segment import Script, graphemes, is_wordlike, script_of, sentences

_RATE: dict[Script, float] = {
    Script.CYRILLIC: 12.0,
    Script.HEBREW: 10.0,  # written without most vowels: each letter carries more sound
    Script.ARABIC: 7.0,
    Script.DEVANAGARI: 5.5,  # a grapheme is a syllable or a consonant cluster
    Script.BENGALI: 5.0,
    Script.GURMUKHI: 5.5,
    Script.GUJARATI: 5.5,
    Script.TAMIL: 6.5,
    Script.TELUGU: 5.5,
    Script.KANNADA: 5.5,
    Script.MALAYALAM: 5.5,
    Script.SINHALA: 5.5,
    Script.THAI: 6.0,
    Script.LAO: 6.0,
    Script.KHMER: 6.0,
    Script.MYANMAR: 6.0,
    Script.ETHIOPIC: 6.0,
    Script.HANGUL: 4.5,  # a block is a syllable
    Script.KANA: 6.0,
    # A character is a syllable, a kanji often two; espeak-ng's Mandarin reads about 2.2 a
    # second, a person 4 to 5: this sits between, so neither is taken for spelling out.
    Script.HAN: 3.0,
}
LATIN_RATE = 11.5  # also the rate of the alphabets not listed (Greek, Armenian…)
_PAUSE_S = 0.35  # between sentences
_DIGIT_S = 0.3
_LEAST_S = 1.5


def rate_of(script: Script) -> float:
    """Letters a second for a script at storytelling pace."""
    return _RATE.get(script, LATIN_RATE)


@lru_cache(maxsize=8192)  # a story repeats its letters: admission measures every one
def letter_weight(grapheme: str) -> float:
    """Seconds a grapheme takes to say; spaces, punctuation and emoji take none."""
    if not is_wordlike(grapheme):
        return 0.0
    if unicodedata.category(grapheme[0]) == "Nd":
        return _DIGIT_S  # "1999" is said as four or five syllables, not four letters
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
