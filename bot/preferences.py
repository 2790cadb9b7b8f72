"""A person's settings as both chat adapters offer them: the choices, their names, a change.

Settings are the person's own, kept by the engine's books; an adapter shows them and
changes one field at a time, through ``choose``.
"""

from __future__ import annotations

import enum
from dataclasses import replace

from bot.i18n import Words
from engine import N_, Aspect, Language, Look, Preferences
from engine.providers.local.voice import STANDARD_VOICE

# Story languages offered beside "the story's own": the bot's catalogs' languages and the
# most spoken others. Any story is still read in its own language when "auto" is kept.
LANGUAGES = tuple(
    Language(tag)
    for tag in ("en", "es", "pt", "fr", "de", "it", "ru", "uk", "ar", "hi", "id", "ja", "zh")
    + ("ko", "tr")
)
AUTO = "auto"


ASPECT_NAMES = {
    Aspect.WIDE: N_("16:9 wide"),
    Aspect.TALL: N_("9:16 tall"),
    Aspect.SQUARE: N_("1:1 square"),
}


class Field(enum.StrEnum):
    """What a person may set."""

    LANGUAGE = "language"
    VOICE = "voice"
    ASPECT = "aspect"
    CAPTIONS = "captions"


def language_name(language: Language | None, words: Words) -> str:
    """A language by its own name (a reader finds theirs at a glance), or "the story's"."""
    if language is None:
        return words._("the story's own")
    return language.display_name(language.tag).capitalize()


def voice_name(voice: str, words: Words) -> str:
    """A voice's name; the provider's names are names (Alloy, Linda), not words."""
    return words._("standard") if voice == STANDARD_VOICE else voice.capitalize()


def captions_name(captions: bool, words: Words) -> str:
    """Captions on or off."""
    return words._("on") if captions else words._("off")


def summary(preferences: Preferences, voices: tuple[str, ...], words: Words) -> str:
    """The settings in four lines."""
    look = preferences.look
    return "\n".join(
        (
            words._("Language: {value}", value=language_name(preferences.language, words)),
            words._("Voice: {value}", value=voice_name(current_voice(look, voices), words)),
            words._("Shape: {value}", value=words._(ASPECT_NAMES[look.aspect])),
            words._("Captions: {value}", value=captions_name(look.captions, words)),
        )
    )


def current_voice(look: Look, voices: tuple[str, ...]) -> str:
    """The voice a job would speak with: the chosen one if the provider has it."""
    return look.voice if look.voice in voices else voices[0]


def choose(
    preferences: Preferences, field: Field, value: str, voices: tuple[str, ...]
) -> Preferences:
    """The settings with one field changed; ValueError for a value that is not offered."""
    look = preferences.look
    if field is Field.LANGUAGE:
        if value == AUTO:
            return replace(preferences, language=None)
        language = Language.parse(value)
        if language not in LANGUAGES:
            raise ValueError(f"{value!r} is not offered")
        return replace(preferences, language=language)
    if field is Field.VOICE:
        if value not in voices:
            raise ValueError(f"{value!r} is not a voice of this bot")
        return replace(preferences, look=replace(look, voice=value))
    if field is Field.ASPECT:
        # By name too ("TALL"): a value such as "9:16" cannot travel in Telegram's
        # colon-separated callback data.
        aspect = Aspect[value] if value in Aspect.__members__ else Aspect(value)
        return replace(preferences, look=replace(look, aspect=aspect))
    if value not in ("on", "off"):
        raise ValueError(f"{value!r} is neither on nor off")
    return replace(preferences, look=replace(look, captions=value == "on"))
