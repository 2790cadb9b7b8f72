"""/settings: a person's own settings on an inline keyboard, one field at a time.

The message shows the settings and a button per field; a field's button turns the keyboard
into that field's choices (the current one ticked), and a choice is stored at once and
brings the overview back. The buttons name the person they belong to: in a group, nobody
else can change them.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.i18n import Words
from bot.preferences import (
    ASPECT_NAMES,
    AUTO,
    LANGUAGES,
    Field,
    captions_name,
    choose,
    current_voice,
    language_name,
    summary,
    voice_name,
)
from bot.users import Platform, user_key
from engine import N_, Aspect, Engine, Preferences

NOT_YOUR_SETTINGS = N_("These are someone else's settings: send /settings for your own.")
MENU = ""  # the value of a field's button that opens its choices
PER_ROW = 3
_FIELD_LABELS = {
    Field.LANGUAGE: N_("🌐 Language"),
    Field.VOICE: N_("🗣 Voice"),
    Field.ASPECT: N_("📐 Shape"),
    Field.CAPTIONS: N_("💬 Captions"),
}


class SettingsButton(CallbackData, prefix="set"):
    """A press on the settings keyboard: whose, which field, and the value chosen."""

    owner: int
    field: Field | None = None  # None: back to the overview
    value: str = MENU


def build_settings_router() -> Router:
    """/settings and its keyboard."""
    router = Router(name="dreambot-settings")
    router.message.register(show_settings, Command("settings"))
    router.callback_query.register(press_setting, SettingsButton.filter())
    return router


async def show_settings(message: Message, engine: Engine, words: Words) -> None:
    """/settings: the person's settings, and buttons to change them."""
    if message.from_user is None:
        return
    person = message.from_user.id
    preferences = await engine.books.preferences(user_key(Platform.TELEGRAM, person))
    voices = engine.providers.voice.choices
    await message.reply(
        _overview(preferences, voices, words), reply_markup=_fields(person, preferences, words)
    )


async def press_setting(
    query: CallbackQuery, callback_data: SettingsButton, engine: Engine, words: Words
) -> None:
    """A field opened, a choice made, or back to the overview."""
    if query.from_user.id != callback_data.owner:
        await query.answer(words._(NOT_YOUR_SETTINGS))
        return
    person = query.from_user.id
    key = user_key(Platform.TELEGRAM, person)
    voices = engine.providers.voice.choices
    preferences = await engine.books.preferences(key)
    field, value = callback_data.field, callback_data.value
    if field is not None and value == MENU:
        await query.answer()
        choices = _choices(person, field, preferences, voices, words)
        await _show(query, _overview(preferences, voices, words), choices)
        return
    if field is not None:
        try:
            preferences = choose(preferences, field, value, voices)
        except ValueError:
            # A button from before the offer changed (another voice provider, say).
            await query.answer(words._("That choice is no longer offered."))
            return
        await engine.books.set_preferences(key, preferences)
        await query.answer(words._("Saved."))
    else:
        await query.answer()
    await _show(query, _overview(preferences, voices, words), _fields(person, preferences, words))


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)


def _overview(preferences: Preferences, voices: tuple[str, ...], words: Words) -> str:
    return words._("Your settings for new dreams:") + "\n" + summary(preferences, voices, words)


def _button(text: str, owner: int, field: Field | None, value: str = MENU) -> InlineKeyboardButton:
    data = SettingsButton(owner=owner, field=field, value=value).pack()
    return InlineKeyboardButton(text=text, callback_data=data)


def _fields(owner: int, preferences: Preferences, words: Words) -> InlineKeyboardMarkup:
    labels = {field: words._(label) for field, label in _FIELD_LABELS.items()}
    captions = preferences.look.captions
    toggle = "off" if captions else "on"
    labels[Field.CAPTIONS] += f": {captions_name(captions, words)}"
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(labels[Field.LANGUAGE], owner, Field.LANGUAGE)]
            + [_button(labels[Field.VOICE], owner, Field.VOICE)],
            [_button(labels[Field.ASPECT], owner, Field.ASPECT)]
            + [_button(labels[Field.CAPTIONS], owner, Field.CAPTIONS, toggle)],
        ]
    )


def _choices(
    owner: int,
    field: Field,
    preferences: Preferences,
    voices: tuple[str, ...],
    words: Words,
) -> InlineKeyboardMarkup:
    look = preferences.look
    offered: list[tuple[str, str, bool]]  # (value, label, chosen)
    if field is Field.LANGUAGE:
        current = preferences.language
        offered = [(AUTO, language_name(None, words), current is None)] + [
            (language.tag, language_name(language, words), language == current)
            for language in LANGUAGES
        ]
    elif field is Field.VOICE:
        chosen = current_voice(look, voices)
        offered = [(voice, voice_name(voice, words), voice == chosen) for voice in voices]
    elif field is Field.ASPECT:
        offered = [
            (aspect.name, words._(ASPECT_NAMES[aspect]), aspect is look.aspect) for aspect in Aspect
        ]
    else:
        offered = [
            (value, captions_name(value == "on", words), (value == "on") == look.captions)
            for value in ("on", "off")
        ]
    buttons = [
        _button(f"✓ {label}" if chosen else label, owner, field, value)
        for value, label, chosen in offered
    ]
    rows = [buttons[n : n + PER_ROW] for n in range(0, len(buttons), PER_ROW)]
    rows.append([_button(words._("« Back"), owner, None)])
    return InlineKeyboardMarkup(inline_keyboard=rows)
