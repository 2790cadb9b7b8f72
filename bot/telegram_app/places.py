"""Where Telegram jobs show themselves: the surface for a new job's reply, or a rebuilt one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.types import Message

from bot.chat_jobs import Remember
from bot.i18n import Words
from bot.pacing import Pacers
from bot.telegram_app import render
from bot.telegram_app.delivery import DeliveryPolicy
from bot.telegram_app.sharing import ShareLedger
from bot.telegram_app.surface import Place, TelegramSurface
from engine import Notice, StoredJob
from engine.media.ffmpeg import FFmpeg


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

    def reply_to(
        self, message: Message, answer: Callable[[str], Awaitable[object]], words: Words
    ) -> MessageReply:
        """Where a story asked in ``message`` is answered in ``words``: refusals go to
        ``answer``, the job's message follows in the same language."""
        is_group = message.chat.type != "private"
        place = Place(
            chat_id=message.chat.id,
            is_group=is_group,
            reply_to=message.message_id,
            thread_id=message.message_thread_id if message.is_topic_message else None,
            locale=words.locale,
        )
        return MessageReply(self, place, answer, words)

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
            pacer=self._pacers.for_chat(place.chat_id, is_group=place.is_group),
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
        answer: Callable[[str], Awaitable[object]],
        words: Words,
    ) -> None:
        self._surfaces = surfaces
        self._place = place
        self._answer = answer
        self._words = words

    async def refuse(self, notice: Notice) -> None:
        """Answer with the reason, in the asker's language."""
        await self._answer(render.refusal(notice, self._words))

    async def open_surface(self, job_id: str, remember: Remember) -> TelegramSurface:
        """The job's own reply, paced with the rest of its chat."""
        return self._surfaces.surface_at(self._place, remember)
