"""The language a story is written in, detected from its text.

Detection uses py3langid, whose model ships inside its wheel (nothing is downloaded), after
a look at the script: a script that only one common language writes in (Thai, Hangul,
kana, Hebrew, Greek…) decides by itself, which is both faster and surer on short text.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from babel.core import get_global

from engine.models import ENGLISH, Language
from engine.segment import Script, dominant_script

# Scripts that, in practice, one language is written in.
_SCRIPT_LANGUAGE: dict[Script, str] = {
    Script.THAI: "th",
    Script.LAO: "lo",
    Script.KHMER: "km",
    Script.MYANMAR: "my",
    Script.HANGUL: "ko",
    Script.KANA: "ja",
    Script.HEBREW: "he",
    Script.GREEK: "el",
    Script.ARMENIAN: "hy",
    Script.GEORGIAN: "ka",
    Script.TAMIL: "ta",
    Script.TELUGU: "te",
    Script.KANNADA: "kn",
    Script.MALAYALAM: "ml",
    Script.GUJARATI: "gu",
    Script.GURMUKHI: "pa",
    Script.SINHALA: "si",
}
# What a script most likely means when the detector is unsure.
_SCRIPT_DEFAULT: dict[Script, str] = {
    Script.LATIN: "en",
    Script.CYRILLIC: "ru",
    Script.ARABIC: "ar",
    Script.DEVANAGARI: "hi",
    Script.BENGALI: "bn",
    Script.HAN: "zh",
    Script.ETHIOPIC: "am",
}
# Below this normalised probability the detector's answer is a guess; short texts in a
# language it confuses (Spanish and Galician, Indonesian and Malay) land here.
_SURE = 0.5

_identifier: Any = None
_lock = threading.Lock()


def _detector() -> Any:
    """The py3langid model, loaded once (about a second: the first call runs in a thread)."""
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import (  # type: ignore[import-untyped]
                MODEL_FILE,
                LanguageIdentifier,
            )

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _identifier


def detect_language(text: str) -> Language:
    """The language the text is most likely written in (English when nothing is written)."""
    script = dominant_script(text)
    if script in _SCRIPT_LANGUAGE:
        return Language(_SCRIPT_LANGUAGE[script])
    if script is Script.OTHER:
        return ENGLISH
    # Only languages written in this script are candidates: the detector sometimes names
    # one of another script when it has seen too little.
    ranked = [
        (Language.parse(str(code)), float(probability))
        for code, probability in _detector().rank(text)
        if _script_of_language(str(code)) == script
    ]
    if not ranked:
        return Language(_SCRIPT_DEFAULT.get(script, ENGLISH.tag))
    best, probability = ranked[0]
    if probability < _SURE and _is_rare(best):
        # Unsure, and of a language few people write stories in: the likeliest common
        # language of the script is the better bet (Galician read as Spanish, say).
        common = [language for language, _ in ranked if not _is_rare(language)]
        best = common[0] if common else Language(_SCRIPT_DEFAULT.get(script, best.tag))
    partner = _NEAR_TIE.get(best.base)
    if partner is not None:
        odds = dict((language.base, p) for language, p in ranked)
        if odds.get(partner, 0.0) >= _NEAR_TIE_SHARE * odds.get(best.base, 1.0):
            return Language(partner)
    return best


# Pairs the detector barely tells apart on a few sentences, where the second language has
# many times the writers of the first: a near tie goes to the second. Indonesian has
# about ten times the speakers of Malay, and short Indonesian stories score as Malay.
_NEAR_TIE = {"ms": "id"}
_NEAR_TIE_SHARE = 0.6


def is_loaded() -> bool:
    """Whether the detector's model is in memory (detection then takes about a millisecond)."""
    return _identifier is not None


def warm_up() -> None:
    """Load the detector now rather than at the first story (it takes about a second),
    and with it CLDR's likely subtags (about 0.1 s, which the first story would otherwise
    spend on the loop that answers every chat)."""
    detect_language("A story to warm up the detector.")


# Languages a low-confidence guess may still name; anything else falls back to the
# script's most common language.
_COMMON = frozenset(
    {
        "en",
        "es",
        "pt",
        "fr",
        "de",
        "it",
        "nl",
        "ru",
        "uk",
        "ar",
        "fa",
        "ur",
        "hi",
        "bn",
        "id",
        "ms",
        "tr",
        "vi",
        "pl",
        "ro",
        "cs",
        "sv",
        "zh",
        "ja",
        "ko",
    }
)


def _is_rare(language: Language) -> bool:
    return language.base not in _COMMON


@lru_cache(maxsize=512)  # every detection asks this of all ~97 languages the model knows
def _script_of_language(base: str) -> Script:
    """The script a language is usually written in, from CLDR's likely subtags."""
    likely = str(get_global("likely_subtags").get(base, ""))
    parts = likely.split("_")
    code = parts[1] if len(parts) > 2 else ""
    if code in {"Hans", "Hant"}:
        return Script.HAN
    try:
        return Script(code)
    except ValueError:
        return Script.OTHER
