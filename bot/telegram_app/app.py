"""The Telegram bot: a dispatcher, the engine, and the jobs it started."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.types import Message, User

from bot.jobs import JobTasks
from bot.pacing import Pacers
from bot.telegram_app.handlers import build_router
from bot.telegram_app.surface import Place, TelegramSurface
from engine import AdmissionRefusedError, Engine, StoredJob, StoryRejectedError
from engine.media.ffmpeg import FFmpeg

REFUSAL_REPEAT_S = 10.0


@dataclass(frozen=True)
class TelegramOptions:
    """What the Telegram adapter needs from the settings."""

    admins: frozenset[str]
    gallery_chat: int | None
    upload_limit_bytes: int


def user_key(user: User) -> str:
    """The engine's key for a Telegram user."""
    return f"telegram:{user.id}"


class TelegramApp:
    """Turns messages into engine jobs, each shown by its own TelegramSurface."""

    def __init__(self, bot: Bot, engine: Engine, ffmpeg: FFmpeg, options: TelegramOptions) -> None:
        self.bot = bot
        self.engine = engine
        self.options = options
        self._ffmpeg = ffmpeg
        self._pacers = Pacers()
        self._tasks = JobTasks("telegram")
        self._refused: dict[int, tuple[str, float]] = {}
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(build_router(self))

    async def start_dream(
        self,
        user: User,
        message: Message,
        story: str,
        *,
        answer: Callable[[str], Awaitable[object]],
        seed: int | None = None,
    ) -> None:
        """Admit ``user``'s story, replying to ``message``; a refusal goes to ``answer``."""
        is_group = message.chat.type != "private"
        try:
            request = await self.engine.admit(
                story,
                requester=user_key(user),
                chat=f"telegram:{message.chat.id}" if is_group else None,
                seed=seed,
            )
        except (StoryRejectedError, AdmissionRefusedError) as refusal:
            if self._is_new_refusal(user.id, refusal.reason):
                await answer(refusal.reason)
            return
        place = Place(
            chat_id=message.chat.id,
            is_group=is_group,
            reply_to=message.message_id,
            thread_id=message.message_thread_id if message.is_topic_message else None,
        )
        surface = self.surface_for(place, request.job_id)
        self._tasks.spawn(
            self.engine.dream(request, surface, surface_ref=place.ref()), request.job_id
        )

    def _is_new_refusal(self, user_id: int, reason: str) -> bool:
        """Whether to say a refusal: the same one to the same person at most once per window.

        A flood of requests must not turn into a flood of replies (Telegram counts those).
        """
        now = time.monotonic()
        last = self._refused.get(user_id)
        if last is not None and last[0] == reason and now - last[1] < REFUSAL_REPEAT_S:
            return False
        self._refused[user_id] = (reason, now)
        return True

    def surface_for(self, place: Place, job_id: str) -> TelegramSurface:
        """A surface for a job's message in a chat."""

        async def remember(ref: str) -> None:
            await self.engine.remember_surface(job_id, ref)

        return TelegramSurface(
            self.bot,
            place,
            pacer=self._pacers.for_chat(place.chat_id, is_group=place.is_group),
            ffmpeg=self._ffmpeg,
            upload_limit_bytes=self.options.upload_limit_bytes,
            can_share=self.options.gallery_chat is not None,
            remember=remember,
        )

    async def rebuild(self, stored: StoredJob) -> TelegramSurface | None:
        """The surface of a job interrupted by a restart, from its stored reference."""
        place = Place.from_ref(stored.surface or "")
        if place is None or place.message_id is None:
            return None
        surface = self.surface_for(place, stored.job_id)
        surface.job_id = stored.job_id
        return surface

    async def resume(self) -> None:
        """Continue this adapter's unfinished jobs, editing their original messages."""
        for task in await self.engine.resume(self.rebuild):
            self._tasks.track(task, task.get_name())

    async def regenerate(
        self, user: User, message: Message, job_id: str, answer: Callable[[str], Awaitable[object]]
    ) -> None:
        """The same story again with a new seed (unchanged parts come from the cache)."""
        found = await self.engine.books.story_of(job_id)
        if found is None:
            await answer("That dream is too old to make again.")
            return
        story, _ = found
        seed = random.randrange(2**31)
        await self.start_dream(user, message, story, answer=answer, seed=seed)

    async def drain(self) -> None:
        """Wait until every job this process started has ended."""
        await self._tasks.drain()

    async def close(self) -> None:
        """Stop the jobs this process runs (they resume on the next start)."""
        await self._tasks.close()
