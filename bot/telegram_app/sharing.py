"""Share: a finished clip posted to the gallery once per job, the press always answered.

Telegram shows a press's spinner until answerCallbackQuery, and a query takes one answer
(core.telegram.org/bots/api#answercallbackquery). The answer waits for the post only
briefly, so that a post that fails at once is said in the toast; a slower post is answered
"sharing" and, should it fail later, said in the chat.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, ReplyParameters

from bot.i18n import Words
from bot.telegram_app import render

log = logging.getLogger(__name__)

ANSWER_WITHIN_S = 2.0  # well inside the time a Telegram client keeps its spinner


class ShareLedger:
    """Which jobs are in the gallery or on their way there, in this process.

    In memory: a restart forgets it, and a press after one may post again; the database
    would need an engine table for a button's bookkeeping (decisions.md).
    """

    def __init__(self) -> None:
        self._claimed: set[str] = set()
        self._late: set[asyncio.Future[None]] = set()  # posts answered before they ended

    def claim(self, job_id: str) -> bool:
        """Whether this press may post (no other did, or the last one failed)."""
        if job_id in self._claimed:
            return False
        self._claimed.add(job_id)
        return True

    def release(self, job_id: str) -> None:
        """The post failed: a later press may try again."""
        self._claimed.discard(job_id)

    def keep(self, task: asyncio.Future[None]) -> None:
        """Hold a post that outlives its press's answer until it ends."""
        self._late.add(task)
        task.add_done_callback(self._late.discard)


async def share(
    query: CallbackQuery,
    bot: Bot,
    job_id: str,
    message: Message,
    gallery: int | None,
    ledger: ShareLedger,
    words: Words,
) -> None:
    """Post the job's clip to the gallery unless it is there; answer the press either way."""
    if gallery is None or message.video is None:
        await query.answer(words._("There is no gallery to share to."))
        return
    if not ledger.claim(job_id):
        await query.answer(words._("It is already in the gallery."))
        return
    posting = asyncio.ensure_future(_post(bot, query, job_id, message, gallery, ledger, words))
    done, _ = await asyncio.wait({posting}, timeout=ANSWER_WITHIN_S)
    if not done:
        ledger.keep(asyncio.ensure_future(_tell_if_failed(posting, bot, message, words)))
        await query.answer(words._("Sharing to the gallery…"))
        return
    posted = posting.result()
    await query.answer(
        words._("Shared to the gallery.") if posted else words._("Could not share to the gallery.")
    )


async def _post(
    bot: Bot,
    query: CallbackQuery,
    job_id: str,
    message: Message,
    gallery: int,
    ledger: ShareLedger,
    words: Words,
) -> bool:
    """By file_id (no upload), crediting the author in the sharer's language: a gallery
    has readers of every one. False when Telegram refused it."""
    assert message.video is not None  # noqa: S101 - checked by share()
    title = (message.caption or "").split("\n", 1)[0].removeprefix("🌙 ").strip("“”")
    author = render.display_name(query.from_user)
    try:
        await bot.send_video(
            gallery, message.video.file_id, caption=render.shared(title, author, words)
        )
    except TelegramAPIError as exc:
        log.warning("job %s: the gallery post failed: %s", job_id, exc)
        ledger.release(job_id)
        return False
    return True


async def _tell_if_failed(
    posting: asyncio.Task[bool], bot: Bot, message: Message, words: Words
) -> None:
    """A post that fails after its press was answered "sharing" is said in the chat."""
    if await posting:
        return
    try:
        await bot.send_message(
            message.chat.id,
            words._("Could not share to the gallery."),
            message_thread_id=message.message_thread_id if message.is_topic_message else None,
            reply_parameters=ReplyParameters(
                message_id=message.message_id, allow_sending_without_reply=True
            ),
        )
    except TelegramAPIError as exc:
        log.info("the note that a share failed could not be sent: %s", exc)
