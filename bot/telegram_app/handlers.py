"""Telegram updates to engine calls: parse, call one method, answer.

Handlers receive their dependencies from the dispatcher's workflow data (``engine``,
``jobs``, ``surfaces``, ``options``, aiogram's own ``bot``, and ``words`` in the sender's
language from the locale middleware), so the router closes over nothing and any number of
apps can each build one.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message, User

from bot import admin
from bot.actions import NOT_YOURS
from bot.chat_jobs import Ask, ChatJobs
from bot.i18n import Words
from bot.telegram_app import render
from bot.telegram_app.history import build_history_router, replied_dream, resend
from bot.telegram_app.keyboards import JobButton
from bot.telegram_app.menu import build_menu_router
from bot.telegram_app.places import TelegramOptions, TelegramSurfaces
from bot.telegram_app.settings_menu import build_settings_router
from bot.telegram_app.sharing import share
from bot.telegram_app.story_text import story_text
from bot.users import Platform, chat_key, parse_user, user_key
from engine import Action, Books, Engine


def build_router() -> Router:
    """Every handler of the bot, on a router of its own (a router joins one dispatcher)."""
    router = Router(name="dreambot")
    router.message.register(show_help, CommandStart())
    router.message.register(show_help, Command("help"))
    router.message.register(show_quota, Command("quota"))
    router.message.register(dream_command, Command("dream"))
    router.message.register(admin_command, Command("grant", "reset", "ban", "unban", "stats"))
    router.message.register(
        private_story, F.chat.type == "private", F.text, ~F.text.startswith("/")
    )
    router.callback_query.register(press, JobButton.filter())
    router.include_router(build_settings_router())
    router.include_router(build_history_router())
    # Last: /cancel, and what no handler above took (unknown commands, media).
    router.include_router(build_menu_router())
    return router


def telegram_user(user: User) -> str:
    """The engine's key for a Telegram user."""
    return user_key(Platform.TELEGRAM, user.id)


async def show_help(message: Message, words: Words) -> None:
    """/start and /help."""
    await message.reply(f"{words._(render.HELP)}\n{words._(render.HELP_YOURS)}")


async def show_quota(message: Message, engine: Engine, words: Words) -> None:
    """/quota: what is left today."""
    if message.from_user is None:
        return
    view = await engine.books.quota(telegram_user(message.from_user))
    await message.reply(
        words._(
            "You have {remaining} of {limit} dreams left today; more at {time} UTC.",
            remaining=view.remaining,
            limit=view.limit,
            time=f"{view.resets_at:%H:%M}",
        )
    )


async def dream_command(
    message: Message,
    command: CommandObject,
    jobs: ChatJobs,
    surfaces: TelegramSurfaces,
    words: Words,
) -> None:
    """/dream STORY, the way to ask in a group."""
    if message.from_user is None:
        return
    if not command.args:
        await message.reply(words._(render.DREAM_USAGE))
        return
    await start_dream(message, message.from_user, story_text(message), jobs, surfaces, words)


async def private_story(
    message: Message, jobs: ChatJobs, surfaces: TelegramSurfaces, words: Words
) -> None:
    """In a private chat, any text that is not a command is a story."""
    if message.from_user is not None and message.text:
        await start_dream(message, message.from_user, story_text(message), jobs, surfaces, words)


async def start_dream(
    message: Message,
    user: User,
    story: str,
    jobs: ChatJobs,
    surfaces: TelegramSurfaces,
    words: Words,
) -> None:
    """Ask for ``user``'s story, the job replying to ``message`` in ``words``.

    A story sent as a reply to one of the person's own videos is that dream edited: made
    again with its seed and look, so the scenes the change left alone come from the cache.
    """
    is_group = message.chat.type != "private"
    chat = chat_key(Platform.TELEGRAM, message.chat.id) if is_group else None
    asker = telegram_user(user)
    past = await replied_dream(message, jobs.engine, asker)
    ask = jobs.edited(past, story, chat) if past is not None else Ask(story, asker, chat)
    await jobs.start(ask, surfaces.reply_to(message, user, words))


async def admin_command(
    message: Message,
    command: CommandObject,
    engine: Engine,
    options: TelegramOptions,
    words: Words,
) -> None:
    """/grant, /reset, /ban, /unban, /stats, for the admins the settings name."""
    if message.from_user is None:
        return
    if telegram_user(message.from_user) not in options.admins:
        await message.reply(words._("That command is for the bot's admins."))
        return
    await message.reply(await run_admin(engine.books, command, words))


async def run_admin(books: Books, command: CommandObject, words: Words) -> str:
    """One admin command; the reply text."""
    args = (command.args or "").split()
    usage = f"/{command.command} telegram:123" + (" N" * (command.command == "grant"))
    try:
        if command.command == "stats":
            return await admin.stats(books, words)
        if not args:
            return words._("Usage: {usage}", usage=usage)
        user = parse_user(args[0])
        if command.command == "grant":
            return await admin.grant(books, user, int(args[1]) if len(args) > 1 else 1, words)
        if command.command == "reset":
            return await admin.reset(books, user, words)
        return await admin.set_banned(books, user, command.command == "ban", words)
    except ValueError:
        # A malformed user key or count: the usage says it in the admin's language.
        return words._("Usage: {usage}", usage=usage)


async def press(
    query: CallbackQuery,
    callback_data: JobButton,
    bot: Bot,
    engine: Engine,
    jobs: ChatJobs,
    surfaces: TelegramSurfaces,
    options: TelegramOptions,
    words: Words,
) -> None:
    """A button under a job's message: only the person who asked may use it."""
    job = callback_data.job
    if not await jobs.is_owner(job, telegram_user(query.from_user)):
        await query.answer(words._(NOT_YOURS), show_alert=False)
        return
    message = query.message
    if callback_data.action is Action.CANCEL:
        stopped = await jobs.cancel(job)
        await query.answer(
            words._("Cancelling…") if stopped else words._("It has already finished.")
        )
    elif callback_data.action is Action.REGENERATE and isinstance(message, Message):
        await query.answer(words._("Dreaming it again…"))
        ask = await jobs.again(job, telegram_user(query.from_user))
        if ask is None:
            await message.reply(words._("That dream is too old to make again."))
            return
        await jobs.start(ask, surfaces.reply_to(message, query.from_user, words))
    elif callback_data.action == Action.SHARE and isinstance(message, Message):
        await share(query, bot, job, message, options.gallery_chat, surfaces.shares, words)
    elif callback_data.action is Action.RESEND:
        await resend(query, bot, engine, job, words)
