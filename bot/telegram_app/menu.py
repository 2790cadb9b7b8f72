"""The bot's command menu, /cancel, and short answers to what the bot cannot take.

The menu (setMyCommands) is set at every start in English and in each language with a
catalog, so the "/" menu of a Telegram client speaks its user's language.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BotCommand, Message

from bot.chat_jobs import ChatJobs
from bot.i18n import Words, available_locales, words
from bot.users import Platform, user_key
from engine import N_, Engine

# (command, what the menu says it does); descriptions are 1-256 characters (BotCommand).
MENU = (
    ("dream", N_("Turn a story into a narrated video")),
    ("quota", N_("How many dreams you have left today")),
    ("cancel", N_("Stop the dream you are making")),
    ("settings", N_("Your language, voice, shape and captions")),
    ("mydreams", N_("Your latest dreams, to send again")),
    ("help", N_("What this bot does")),
)
NOT_A_STORY = N_(
    "I make videos from written stories: send me your story as text, and I will film it."
)
UNKNOWN_COMMAND = N_("I don't know that command. /help says what I can do.")


def build_menu_router() -> Router:
    """/cancel, and the answers to media and unknown commands in private chats."""
    router = Router(name="dreambot-menu")
    router.message.register(cancel_command, Command("cancel"))
    private = F.chat.type == "private"
    # Registered after every known command, so only the rest reach this one.
    router.message.register(unknown_command, private, F.text.startswith("/"))
    router.message.register(not_a_story, private, ~F.text)
    return router


async def set_menu(bot: Bot) -> None:
    """The command menu in English (the default) and in every catalog's language."""
    for locale in available_locales():
        reader = words(locale)
        commands = [BotCommand(command=name, description=reader._(about)) for name, about in MENU]
        # language_code: "A two-letter ISO 639-1 language code" (setMyCommands); empty for
        # the default list shown to everyone else.
        code = "" if locale == "en" else locale.split("_")[0]
        await bot.set_my_commands(commands, language_code=code or None)


async def cancel_command(message: Message, engine: Engine, jobs: ChatJobs, words: Words) -> None:
    """/cancel: stop the sender's running dream (the same as its Cancel button)."""
    if message.from_user is None:
        return
    running = await engine.books.unfinished_of(user_key(Platform.TELEGRAM, message.from_user.id))
    stopped = [job for job in running if await jobs.cancel(job)]
    if stopped:
        await message.reply(words._("Cancelling your dream…"))
    else:
        await message.reply(words._("You have no dream running."))


async def unknown_command(message: Message, words: Words) -> None:
    """A command the bot does not have, in a private chat (in a group it is another bot's)."""
    await message.reply(words._(UNKNOWN_COMMAND))


async def not_a_story(message: Message, words: Words) -> None:
    """A photo, voice message, sticker… in a private chat: what the bot takes instead."""
    await message.reply(words._(NOT_A_STORY))
