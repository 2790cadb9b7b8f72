"""Telegram updates to engine calls: parse, call one method, answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message, User

from bot import admin
from bot.telegram_app import render
from bot.telegram_app.keyboards import JobButton

if TYPE_CHECKING:
    from bot.telegram_app.app import TelegramApp


def display_name(user: User) -> str:
    """How to credit a user (no @, so a share pings nobody)."""
    return user.username or user.full_name


NOT_YOURS = "Only the person who asked for this dream can do that."


def build_router(app: TelegramApp) -> Router:
    """Every handler of the bot, bound to one app."""
    router = Router(name="dreambot")

    @router.message(CommandStart())
    @router.message(Command("help"))
    async def show_help(message: Message) -> None:
        await message.reply(render.HELP)

    @router.message(Command("quota"))
    async def show_quota(message: Message) -> None:
        if message.from_user is None:
            return
        view = await app.engine.books.quota(f"telegram:{message.from_user.id}")
        await message.reply(
            f"You have {view.remaining} of {view.limit} dreams left today; "
            f"more at {view.resets_at:%H:%M} UTC."
        )

    @router.message(Command("dream"))
    async def dream_command(message: Message, command: CommandObject) -> None:
        if message.from_user is None:
            return
        if not command.args:
            await message.reply(render.DREAM_USAGE)
            return
        await app.start_dream(message.from_user, message, command.args, answer=message.reply)

    @router.message(Command("grant", "reset", "ban", "unban", "stats"))
    async def admin_command(message: Message, command: CommandObject) -> None:
        if message.from_user is None:
            return
        if f"telegram:{message.from_user.id}" not in app.options.admins:
            await message.reply("That command is for the bot's admins.")
            return
        await message.reply(await run_admin(app, command))

    @router.message(F.chat.type == "private", F.text, ~F.text.startswith("/"))
    async def private_story(message: Message) -> None:
        if message.from_user is not None and message.text:
            await app.start_dream(message.from_user, message, message.text, answer=message.reply)

    @router.callback_query(JobButton.filter())
    async def press(query: CallbackQuery, callback_data: JobButton) -> None:
        owner = await app.engine.owner_of(callback_data.job)
        if owner != f"telegram:{query.from_user.id}":
            await query.answer(NOT_YOURS, show_alert=False)
            return
        if callback_data.action == "cancel":
            stopped = app.engine.cancel(callback_data.job)
            await query.answer("Cancelling…" if stopped else "It has already finished.")
        elif callback_data.action == "regenerate" and isinstance(query.message, Message):
            await query.answer("Dreaming it again…")
            await app.regenerate(
                query.from_user, query.message, callback_data.job, answer=query.message.reply
            )
        elif callback_data.action == "share" and isinstance(query.message, Message):
            await query.answer(await share(app, query))

    return router


async def share(app: TelegramApp, query: CallbackQuery) -> str:
    """Post the finished clip to the gallery by its file_id (no upload), crediting the author."""
    message = query.message
    gallery = app.options.gallery_chat
    if gallery is None or not isinstance(message, Message) or message.video is None:
        return "There is no gallery to share to."
    title = (message.caption or "").split("\n", 1)[0].removeprefix("🌙 ").strip("“”")
    await app.bot.send_video(
        gallery,
        message.video.file_id,
        caption=render.shared(title, display_name(query.from_user)),
    )
    return "Shared to the gallery."


async def run_admin(app: TelegramApp, command: CommandObject) -> str:
    """One admin command; the reply text."""
    books = app.engine.books
    words = (command.args or "").split()
    try:
        if command.command == "stats":
            return await admin.stats(books)
        if not words:
            return f"Usage: /{command.command} telegram:123" + (" N" * (command.command == "grant"))
        user = admin.parse_user(words[0])
        if command.command == "grant":
            return await admin.grant(books, user, int(words[1]) if len(words) > 1 else 1)
        if command.command == "reset":
            return await admin.reset(books, user)
        return await admin.set_banned(books, user, command.command == "ban")
    except ValueError as exc:
        return str(exc)
