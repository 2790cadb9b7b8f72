"""Text cut the way each script cuts it: graphemes, words, sentences and line-break points.

ICU (bundled in the icu4py wheel, with its Thai, Lao, Khmer, Burmese and CJK dictionaries)
does the segmentation, so a Japanese or Thai story has words and sentences even though it
has no spaces, and the sentence marks of every script end sentences as they should. The
``regex`` module supplies the Unicode script and emoji properties that ``unicodedata``
lacks.
"""

from __future__ import annotations

import enum
import unicodedata
from collections import Counter
from functools import lru_cache

import regex  # type: ignore[import-untyped]
from icu4py.breakers import CharacterBreaker, LineBreaker, SentenceBreaker, WordBreaker
from icu4py.locale import Locale

# A grapheme is an emoji if any of its code points is pictographic, a flag letter or the
# keycap mark: that keeps ZWJ families, skin tones, flags and keycaps whole.
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3]")
_WORDLIKE = regex.compile(r"[\p{L}\p{N}\p{M}]")
_LETTER = regex.compile(r"\p{L}")
_OPENING = frozenset({"Ps", "Pi"})


class Script(enum.StrEnum):
    """The writing systems the engine tells apart, by ISO 15924 code."""

    LATIN = "Latn"
    CYRILLIC = "Cyrl"
    GREEK = "Grek"
    ARMENIAN = "Armn"
    GEORGIAN = "Geor"
    ARABIC = "Arab"
    HEBREW = "Hebr"
    DEVANAGARI = "Deva"
    BENGALI = "Beng"
    GURMUKHI = "Guru"
    GUJARATI = "Gujr"
    TAMIL = "Taml"
    TELUGU = "Telu"
    KANNADA = "Knda"
    MALAYALAM = "Mlym"
    SINHALA = "Sinh"
    THAI = "Thai"
    LAO = "Laoo"
    KHMER = "Khmr"
    MYANMAR = "Mymr"
    ETHIOPIC = "Ethi"
    HAN = "Hani"
    KANA = "Kana"  # hiragana and katakana both
    HANGUL = "Hang"
    OTHER = "Zyyy"  # common: digits, punctuation, symbols


_SCRIPT_PATTERNS: tuple[tuple[Script, regex.Pattern[str]], ...] = tuple(
    (script, regex.compile(rf"\p{{Script={name}}}"))
    for script, name in (
        (Script.LATIN, "Latin"),
        (Script.CYRILLIC, "Cyrillic"),
        (Script.GREEK, "Greek"),
        (Script.ARMENIAN, "Armenian"),
        (Script.GEORGIAN, "Georgian"),
        (Script.ARABIC, "Arabic"),
        (Script.HEBREW, "Hebrew"),
        (Script.DEVANAGARI, "Devanagari"),
        (Script.BENGALI, "Bengali"),
        (Script.GURMUKHI, "Gurmukhi"),
        (Script.GUJARATI, "Gujarati"),
        (Script.TAMIL, "Tamil"),
        (Script.TELUGU, "Telugu"),
        (Script.KANNADA, "Kannada"),
        (Script.MALAYALAM, "Malayalam"),
        (Script.SINHALA, "Sinhala"),
        (Script.THAI, "Thai"),
        (Script.LAO, "Lao"),
        (Script.KHMER, "Khmer"),
        (Script.MYANMAR, "Myanmar"),
        (Script.ETHIOPIC, "Ethiopic"),
        (Script.HAN, "Han"),
        (Script.KANA, "Hiragana"),
        (Script.KANA, "Katakana"),
        (Script.HANGUL, "Hangul"),
    )
)


@lru_cache(maxsize=4096)
def script_of(char: str) -> Script:
    """The script a single character is written in (OTHER for digits, marks, symbols)."""
    for script, pattern in _SCRIPT_PATTERNS:
        if pattern.match(char):
            return script
    return Script.OTHER


def scripts_in(text: str) -> Counter[Script]:
    """How many letters of each script the text has (punctuation and digits not counted)."""
    return Counter(script_of(ch) for ch in text if unicodedata.category(ch).startswith("L"))


def dominant_script(text: str) -> Script:
    """The script most of the text's letters are in; Japanese kanji count as kana's company."""
    counts = scripts_in(text)
    counts.pop(Script.OTHER, None)
    if not counts:
        return Script.OTHER
    # Japanese mixes kanji with kana; any real share of kana makes the text Japanese.
    if counts[Script.KANA] and counts[Script.KANA] * 5 >= counts[Script.HAN]:
        return Script.KANA
    return counts.most_common(1)[0][0]


def graphemes(text: str) -> list[str]:
    """User-perceived characters: an emoji family or a Devanagari syllable stays one."""
    return list(CharacterBreaker(text, _ROOT)) if text else []


# Both are asked of every grapheme or segment of every story; property lookups in `regex`
# take tens of microseconds, a cache hit a fraction of one.
@lru_cache(maxsize=16384)
def is_emoji(grapheme: str) -> bool:
    """Whether a grapheme (see ``graphemes``) is an emoji, including flags and keycaps."""
    return _EMOJI.search(grapheme) is not None


@lru_cache(maxsize=16384)
def is_wordlike(segment: str) -> bool:
    """Whether a segment holds a letter or a digit (not only spaces, punctuation or emoji)."""
    return _WORDLIKE.search(segment) is not None


def has_letter(text: str) -> bool:
    """Whether the text holds a letter of any script (digits, signs and emoji are none)."""
    return _LETTER.search(text) is not None


def words(text: str, locale: str = "") -> list[str]:
    """The words of the text, found by the rules (and dictionaries) of its script."""
    return [s for s in WordBreaker(text, _locale(locale)) if is_wordlike(s)] if text else []


def tokens(text: str, locale: str = "") -> list[str]:
    """The text cut into pieces of one word each, losslessly (``"".join`` gives it back).

    Spaces and closing punctuation stay with the word before them, opening quotes and
    brackets with the word after, and an emoji with its neighbour, so a cut between two
    tokens never splits a word, a quotation mark from its word, or an emoji sequence.
    """
    if not text:
        return []
    out: list[str] = []
    pending = ""  # opening punctuation waiting for its word
    for segment in WordBreaker(text, _locale(locale)):
        if is_wordlike(segment):
            out.append(pending + segment)
            pending = ""
        elif all(unicodedata.category(ch) in _OPENING for ch in segment) or not out or pending:
            pending += segment
        else:
            out[-1] += segment
    if pending:
        if out:
            out[-1] += pending
        else:
            out.append(pending)
    return out


def sentences(text: str, locale: str = "") -> list[str]:
    """The sentences of the text by Unicode's rules for every script's sentence marks."""
    return list(SentenceBreaker(text, _locale(locale))) if text else []


def line_segments(text: str, locale: str = "") -> list[str]:
    """The text cut at every place a line may break (UAX #14, with dictionaries for Thai
    and similar scripts): each piece keeps its trailing space, so a line is their join."""
    return list(LineBreaker(text, _locale(locale))) if text else []


_ROOT = Locale("en")


@lru_cache(maxsize=64)
def _locale(tag: str) -> Locale:
    return Locale(tag.replace("-", "_")) if tag else _ROOT
