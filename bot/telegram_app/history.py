"""A person's past dreams: /mydreams with a resend button, inline mode, and redo by reply.

Every video goes out again by the file_id Telegram gave it at delivery: nothing is
uploaded or made again. Only a person's own dreams are listed or offered.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultCachedVideo,
    InlineQueryResultUnion,
    Message,
)

from bot.i18n import Words
from bot.telegram_app import render
from bot.telegram_app.keyboards import JobButton
from bot.telegram_app.surface import Place
from bot.users import Platform, user_key
from engine import Action, Engine, PastDream

TITLE_CHARS = 60
# Bot API, answerInlineQuery: "No more than 50 results per query are allowed".
INLINE_RESULTS = 50
INLINE_CACHE_S = 5  # a dream delivered a moment ago shows up in the next query
# How far back a reply to a video is looked for among the person's own dreams.
REPLY_LOOKBACK = 100


def build_history_router() -> Router:
    """/mydreams and inline mode (the resend buttons are job buttons: ``handlers.press``)."""
    router = Router(name="dreambot-history")
    router.message.register(my_dreams, Command("mydreams"))
    router.inline_query.register(inline_dreams)
    return router


def sendable(dream: PastDream) -> str | None:
    """The file_id a past dream can be sent again by, if its delivery was kept."""
    place = Place.from_ref(dream.surface or "")
    return place.file_id if place is not None else None


def headline(dream: PastDream) -> str:
    """A past dream by the first words of its story, on one line."""
    return render.clip(" ".join(dream.story.split()), TITLE_CHARS)


async def my_dreams(message: Message, engine: Engine, words: Words) -> None:
    """/mydreams: the last ten, newest first, each with a button that sends it here."""
    if message.from_user is None:
        return
    dreams = [
        dream
        for dream in await engine.books.history(user_key(Platform.TELEGRAM, message.from_user.id))
        if sendable(dream)
    ]
    if not dreams:
        await message.reply(words._("You have no dreams yet. Send me a story to make one."))
        return
    lines = [words._("Your latest dreams:")]
    buttons = []
    for number, dream in enumerate(dreams, start=1):
        lines.append(f"{number}. {headline(dream)} · {dream.created_at:%Y-%m-%d}")
        data = JobButton(action=Action.RESEND, job=dream.job_id).pack()
        buttons.append(InlineKeyboardButton(text=f"▶ {number}", callback_data=data))
    rows = [buttons[n : n + 5] for n in range(0, len(buttons), 5)]
    await message.reply(
        render.clip("\n".join(lines), render.MESSAGE_LIMIT),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def resend(query: CallbackQuery, bot: Bot, engine: Engine, job: str, words: Words) -> None:
    """A /mydreams button: the video again, in the chat where the list is, by file_id."""
    dream = await engine.books.past(job)
    file_id = sendable(dream) if dream is not None else None
    if dream is None or file_id is None or not isinstance(query.message, Message):
        await query.answer(words._("That dream can no longer be sent."))
        return
    await query.answer()
    await bot.send_video(
        query.message.chat.id,
        file_id,
        caption=headline(dream),
        message_thread_id=query.message.message_thread_id,
    )


def matches(dream: PastDream, query: str) -> bool:
    """Whether every word of an inline query is in the story (any case)."""
    story = dream.story.casefold()
    return all(word in story for word in query.casefold().split())


async def inline_dreams(inline: InlineQuery, engine: Engine) -> None:
    """@bot WORDS in any chat: the person's own dreams whose story has those words."""
    dreams = await engine.books.history(
        user_key(Platform.TELEGRAM, inline.from_user.id), limit=INLINE_RESULTS
    )
    results: list[InlineQueryResultUnion] = [
        InlineQueryResultCachedVideo(
            id=dream.job_id,
            video_file_id=file_id,
            title=headline(dream),
            description=f"{dream.created_at:%Y-%m-%d}",
        )
        for dream in dreams
        if (file_id := sendable(dream)) is not None and matches(dream, inline.query)
    ]
    # is_personal: the results are this person's alone, and must never be cached for anyone
    # else who types the same words.
    await inline.answer(results, cache_time=INLINE_CACHE_S, is_personal=True)


async def replied_dream(message: Message, engine: Engine, user: str) -> PastDream | None:
    """The person's own dream whose video ``message`` replies to, if it is one."""
    replied = message.reply_to_message
    if replied is None or replied.video is None:
        return None
    for dream in await engine.books.history(user, limit=REPLY_LOOKBACK):
        place = Place.from_ref(dream.surface or "")
        if (
            place is not None
            and place.chat_id == message.chat.id
            and replied.message_id in (place.video_message_id, place.message_id)
        ):
            return dream
    return None
