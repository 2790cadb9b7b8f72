"""One job's Telegram message: acknowledged, previewed, updated in place, replaced by the video.

Progress edits keep only the newest state and wait for the chat's next slot; the final
video and a failure never wait for a slot. A 429 is honoured; "not modified" is ignored;
a deleted message or a blocked bot ends the job's updates without failing the job. A
progress frame that does not land is dropped; the acknowledgement, the final and a failure
are retried through server errors, timeouts and outages (``delivery.persist``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    FSInputFile,
    InlineKeyboardMarkup,
    InputMediaVideo,
    Message,
    ReplyParameters,
)

from bot import refs
from bot.flusher import ProgressFlusher
from bot.i18n import DEFAULT_LOCALE, words
from bot.pacing import ChatPacer
from bot.telegram_app import keyboards, render
from bot.telegram_app.delivery import DeliveryPolicy, persist
from engine import Action, DreamResult, JobFailure, JobTicket, ProgressSnapshot
from engine.errors import SurfaceGoneError
from engine.media.ffmpeg import FFmpeg
from engine.media.fit import fit_to_size

log = logging.getLogger(__name__)

REF_PREFIX = "telegram:"
# Answers to an edit that say the message cannot take it (deleted, not the bot's, too old
# to edit, or an id Telegram does not know): the job's updates stop there.
_UNEDITABLE = ("not found", "can't be edited", "MESSAGE_ID_INVALID")
# sendChatAction: "The status is set for 5 seconds or less", so a long upload repeats it;
# one that is over in a moment shows none (the video itself arrives instead).
UPLOAD_ACTION_AFTER_S = 1.0
UPLOAD_ACTION_EVERY_S = 4.5


@dataclass
class Place:
    """Where a job shows itself; stored as the job's surface reference."""

    chat_id: int
    is_group: bool
    reply_to: int | None
    thread_id: int | None = None
    message_id: int | None = None
    is_video: bool = False
    title: str = ""
    # The asker's language, kept with the reference so a job resumed after a restart
    # still speaks it (references stored before it existed read as English).
    locale: str = DEFAULT_LOCALE
    # The delivered video's file_id: /mydreams and inline mode send it again by this id,
    # with no upload. On the message itself: the final may have landed as a new reply.
    file_id: str | None = None
    video_message_id: int | None = None

    def ref(self) -> str:
        """The reference string stored with the job."""
        return refs.encode(REF_PREFIX, self)

    @classmethod
    def from_ref(cls, ref: str) -> Place | None:
        """The place a stored reference names, or None if it is not this platform's."""
        return refs.decode(REF_PREFIX, cls, ref)


class TelegramSurface:
    """The engine's view of one Telegram message."""

    def __init__(
        self,
        bot: Bot,
        place: Place,
        *,
        pacer: ChatPacer,
        ffmpeg: FFmpeg,
        upload_limit_bytes: int,
        can_share: bool,
        remember: Callable[[str], Awaitable[None]] | None = None,
        delivery: DeliveryPolicy | None = None,
    ) -> None:
        self.bot = bot
        self.place = place
        self.job_id = ""
        self._pacer = pacer
        self._ffmpeg = ffmpeg
        self._limit = upload_limit_bytes
        self._can_share = can_share
        self._remember = remember
        self._delivery = delivery or DeliveryPolicy()
        self._words = words(place.locale)
        self._shown = ""
        self._flusher = ProgressFlusher(pacer, self._send_progress)
        self._gone = False  # the message cannot be edited (deleted, or the chat is closed)
        self._blocked = False  # the chat refuses the bot: nothing more may be sent

    def ref(self) -> str:
        """Where the job shows itself, as stored with it."""
        return self.place.ref()

    async def close(self) -> None:
        """Stop the progress sender (the job was stopped at shutdown, without a word)."""
        await self._flusher.stop()

    async def acknowledge(self, ticket: JobTicket) -> None:
        """Reply to the story at once with the job's message and a Cancel button."""
        self.job_id, self.place.title = ticket.job_id, ticket.title
        text = render.progress(ticket.title, None, self._words)
        # A reply the person waits for, and a new message in the chat's minute.
        async with self._pacer.turn(final=True, new_message=True):
            message = await self._call(
                lambda: self.bot.send_message(
                    self.place.chat_id,
                    text,
                    reply_parameters=self._reply(),
                    message_thread_id=self.place.thread_id,
                    reply_markup=keyboards.running(self.job_id, self._words),
                ),
                final=True,
            )
        if isinstance(message, Message):
            self.place.message_id = message.message_id
            self._shown = text
            await self._store_place()

    async def show_preview(self, preview: Path) -> None:
        """Turn the message into the preview video, captioned with the progress."""
        if self._gone or self.place.message_id is None:
            return
        async with self._pacer.turn():
            caption = render.progress(self.place.title, self._flusher.newest, self._words)
            edited = await self._call(
                lambda: self.bot.edit_message_media(
                    media=InputMediaVideo(
                        media=FSInputFile(preview), caption=caption, supports_streaming=True
                    ),
                    chat_id=self.place.chat_id,
                    message_id=self.place.message_id,
                    reply_markup=keyboards.running(self.job_id, self._words),
                )
            )
        if edited is not None:
            self.place.is_video, self._shown = True, caption
            await self._store_place()

    async def show_progress(self, progress: ProgressSnapshot) -> None:
        """Note the newest state; it is sent when the chat's slot comes."""
        if not self._gone:
            self._flusher.offer(progress)

    async def deliver_final(self, result: DreamResult) -> None:
        """Replace the preview (or the text) with the final video, in the same message."""
        await self._flusher.stop()
        if self._blocked:
            raise SurfaceGoneError("the bot can no longer write to this chat")
        video, shrunk = await fit_to_size(self._ffmpeg, result.final, self._limit)
        caption = render.final(result, self._words, shrunk=shrunk, limit_mb=self._limit // 2**20)
        markup = keyboards.finished(self.job_id, self._words, can_share=self._can_share)
        media = InputMediaVideo(media=FSInputFile(video), caption=caption, supports_streaming=True)
        # aiogram's 60 s default is the whole request, upload included: a big final on a
        # slow uplink would time out while still arriving, and then land anyway.
        upload_s = self._delivery.upload_timeout(video.stat().st_size)
        if self.place.message_id is not None and not self._gone:
            async with self._pacer.turn(final=True), self._showing_upload():
                edited = await self._edit_final(media, markup, upload_s)
            if edited:
                await self._keep_video(edited)
                return
        # The message cannot take the video (deleted by someone, or an edit Telegram
        # refuses): the video still reaches the asker, as a new reply.
        async with self._pacer.turn(final=True, new_message=True), self._showing_upload():
            sent = await self._send_video(video, caption, markup, upload_s)
        await self._keep_video(sent)

    async def _keep_video(self, sent: object) -> None:
        """Store where the delivered video is and its file_id, for /mydreams and inline
        mode (an edit answered True instead of the message leaves nothing to keep)."""
        if isinstance(sent, Message) and sent.video is not None:
            self.place.file_id = sent.video.file_id
            self.place.video_message_id = sent.message_id
            await self._store_place()

    @contextlib.asynccontextmanager
    async def _showing_upload(self) -> AsyncIterator[None]:
        """The chat shows "sending video…" while the final uploads."""
        showing = asyncio.create_task(self._upload_action(), name=f"upload-{self.job_id}")
        try:
            yield
        finally:
            showing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await showing

    async def _upload_action(self) -> None:
        await asyncio.sleep(UPLOAD_ACTION_AFTER_S)
        while True:
            try:
                await self.bot.send_chat_action(
                    self.place.chat_id, "upload_video", message_thread_id=self.place.thread_id
                )
            except TelegramRetryAfter as exc:
                self._pacer.back_off(exc.retry_after)
            except TelegramAPIError as exc:
                # Only a status line: the upload it describes is what matters.
                log.debug("job %s: the upload status was not shown: %s", self.job_id, exc)
            await asyncio.sleep(UPLOAD_ACTION_EVERY_S)

    async def _edit_final(
        self, media: InputMediaVideo, markup: InlineKeyboardMarkup, upload_s: int
    ) -> Message | bool:
        """The edited message (or True) if the job's message became the final video.

        An edit that timed out may have landed; repeating it is harmless (the same message
        is edited again), so a timeout is retried like any outage, never reported.
        """
        try:
            edited = await self._call(
                lambda: self.bot.edit_message_media(
                    media=media,
                    chat_id=self.place.chat_id,
                    message_id=self.place.message_id,
                    reply_markup=markup,
                    request_timeout=upload_s,
                ),
                final=True,
            )
        except TelegramBadRequest as exc:
            # Any other refusal of the edit (MEDIA_EMPTY, a message type that cannot be
            # turned into a video…): a new message is still worth a try.
            log.warning("job %s: the final could not replace its message: %s", self.job_id, exc)
            return False
        if isinstance(edited, Message):
            return edited
        return edited is not None

    async def _send_video(
        self, video: Path, caption: str, markup: InlineKeyboardMarkup, upload_s: int
    ) -> object:
        return await self._call(
            lambda: self.bot.send_video(
                self.place.chat_id,
                FSInputFile(video),
                caption=caption,
                supports_streaming=True,
                reply_parameters=self._reply(),
                message_thread_id=self.place.thread_id,
                reply_markup=markup,
                request_timeout=upload_s,
            ),
            final=True,
        )

    async def fail(self, failure: JobFailure) -> None:
        """Say why there is no video (or that it was cancelled), with a Try again button."""
        await self._flusher.stop()
        if self._gone or self.place.message_id is None:
            return
        async with self._pacer.turn(final=True):
            await self._edit(
                render.failure(self.place.title, failure, self._words),
                keyboards.failed(self.job_id, self._words),
                final=True,
            )

    async def offer_actions(self, actions: Sequence[Action]) -> None:
        """Buttons travel with every edit (Cancel while running, the rest at the end)."""

    async def _send_progress(self, snapshot: ProgressSnapshot) -> None:
        text = render.progress(self.place.title, snapshot, self._words)
        if text != self._shown and not self._gone:
            await self._edit(text, keyboards.running(self.job_id, self._words))

    async def _edit(self, text: str, markup: InlineKeyboardMarkup, *, final: bool = False) -> None:
        chat, message = self.place.chat_id, self.place.message_id
        if self.place.is_video:
            done = await self._call(
                lambda: self.bot.edit_message_caption(
                    chat_id=chat, message_id=message, caption=text, reply_markup=markup
                ),
                final=final,
            )
        else:
            done = await self._call(
                lambda: self.bot.edit_message_text(
                    text, chat_id=chat, message_id=message, reply_markup=markup
                ),
                final=final,
            )
        if done is not None:
            self._shown = text

    async def _call(self, send: Callable[[], Awaitable[Any]], *, final: bool = False) -> Any:
        """One Bot API call with Telegram's rules applied; None when it did not land.

        A ``final`` call (one the person waits for) is retried until it lands or the
        delivery's patience is spent; any other is tried once, and dropped if it fails.
        """
        try:
            if final:
                return await persist(
                    send, self._delivery, job_id=self.job_id, back_off=self._pacer.back_off
                )
            return await send()
        except TelegramRetryAfter as exc:
            if final:
                raise
            self._pacer.back_off(exc.retry_after)
            return None  # a progress frame is dropped, never queued
        except (TelegramServerError, TelegramNetworkError) as exc:
            if final:
                raise
            log.info("job %s: a progress update did not land: %s", self.job_id, exc)
            return None
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return True  # already showing exactly this
            if any(reason in exc.message for reason in _UNEDITABLE):
                log.info("job %s: its message is gone; updates stop", self.job_id)
                self._gone = True
                return None
            raise
        except TelegramForbiddenError as exc:
            self._gone = self._blocked = True
            log.info("job %s: the chat is closed to the bot; updates stop", self.job_id)
            if final:
                raise SurfaceGoneError("the bot can no longer write to this chat") from exc
            return None

    async def _store_place(self) -> None:
        if self._remember is not None:
            await self._remember(self.place.ref())

    def _reply(self) -> ReplyParameters | None:
        if self.place.reply_to is None:
            return None
        return ReplyParameters(message_id=self.place.reply_to, allow_sending_without_reply=True)
