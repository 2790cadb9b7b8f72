"""Where Telegram jobs show themselves: the surface for a new job's reply, or a rebuilt one."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message, User

from bot.chat_jobs import Remember
from bot.i18n import Words
from bot.pacing import ChatPacer, Pacers
from bot.telegram_app import render
from bot.telegram_app.delivery import DeliveryPolicy
from bot.telegram_app.refusals import GroupRefusals, Refused
from bot.telegram_app.sharing import ShareLedger
from bot.telegram_app.surface import Place, TelegramSurface
from engine import Notice, StoredJob
from engine.media.ffmpeg import FFmpeg

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TelegramOptions:
    """What the Telegram adapter needs from the settings."""

    admins: frozenset[str]
    gallery_chat: int | None
    upload_limit_bytes: int
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)


class TelegramSurfaces:
    """Makes each job's TelegramSurface, paced per chat, for the shared flow."""

    def __init__(self, bot: Bot, ffmpeg: FFmpeg, options: TelegramOptions) -> None:
        self.bot = bot
        self._ffmpeg = ffmpeg
        self._options = options
        self._pacers = Pacers()
        self.shares = ShareLedger()  # the bot's gallery posts, one per job
        self.refusals = GroupRefusals(bot, lambda chat_id: self.pacer(chat_id, is_group=True))

    def reply_to(self, message: Message, asker: User, words: Words) -> MessageReply:
        """Where ``asker``'s story, asked in (or from) ``message``, is answered in
        ``words``: refusals and the job's message reply to ``message``."""
        is_group = message.chat.type != "private"
        place = Place(
            chat_id=message.chat.id,
            is_group=is_group,
            reply_to=message.message_id,
            thread_id=message.message_thread_id if message.is_topic_message else None,
            locale=words.locale,
        )
        return MessageReply(self, place, message, asker, words)

    def pacer(self, chat_id: int, *, is_group: bool) -> ChatPacer:
        """The pace every message to the chat keeps."""
        return self._pacers.for_chat(chat_id, is_group=is_group)

    async def close(self) -> None:
        """Stop what is sent in the background outside any job."""
        await self.refusals.close()

    async def rebuild(self, stored: StoredJob, remember: Remember) -> TelegramSurface | None:
        """The surface of a job interrupted by a restart: it keeps editing its message."""
        place = Place.from_ref(stored.surface or "")
        if place is None or place.message_id is None:
            return None
        return self.surface_at(place, remember)

    def surface_at(self, place: Place, remember: Remember) -> TelegramSurface:
        """A surface for a job's message in a chat."""
        return TelegramSurface(
            self.bot,
            place,
            pacer=self.pacer(place.chat_id, is_group=place.is_group),
            ffmpeg=self._ffmpeg,
            upload_limit_bytes=self._options.upload_limit_bytes,
            can_share=self._options.gallery_chat is not None,
            remember=remember,
            delivery=self._options.delivery,
        )


class MessageReply:
    """A story asked in a Telegram message: its job replies to that message."""

    says_every_refusal = False

    def __init__(
        self,
        surfaces: TelegramSurfaces,
        place: Place,
        message: Message,
        asker: User,
        words: Words,
    ) -> None:
        self._surfaces = surfaces
        self._place = place
        self._message = message
        self._asker = asker
        self._words = words

    async def refuse(self, notice: Notice) -> None:
        """Answer with the reason, in the asker's language; in a group, with the others
        refused meanwhile, at the group's pace."""
        reason = render.refusal(notice, self._words)
        if not self._place.is_group:
            try:
                await self._message.reply(reason)
            except TelegramAPIError as exc:  # nothing was started: a lost answer is all
                log.info("a refusal in chat %s could not be sent: %s", self._place.chat_id, exc)
            return
        refused = Refused(
            render.plain_name(self._asker),
            reason,
            self._words,
            self._message.message_id,
            self._place.thread_id,
        )
        self._surfaces.refusals.add(self._place.chat_id, refused)

    async def open_surface(self, job_id: str, remember: Remember) -> TelegramSurface:
        """The job's own reply, paced with the rest of its chat."""
        return self._surfaces.surface_at(self._place, remember)
