"""One chat job's flow, shared by the Telegram and Discord adapters.

A story is admitted (or refused), gets a surface where it was asked, and runs as a
tracked background task; Regenerate asks the same story again with a new seed; after a
restart, each unfinished job's surface is rebuilt from its stored reference and the job
resumes. A platform supplies only what is its own, through the protocols below: how to
refuse, where a job shows itself, and how to rebuild that place from a reference.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from engine import (
    AdmissionRefusedError,
    Aspect,
    Engine,
    Language,
    Look,
    Notice,
    PastDream,
    Preferences,
    StageFailedError,
    StoredJob,
    StoryRejectedError,
    Surface,
)

log = logging.getLogger(__name__)

REFUSAL_REPEAT_S = 10.0

Remember = Callable[[str], Awaitable[None]]


class ChatSurface(Surface, Protocol):
    """A Surface that a chat adapter stores by reference and can rebuild after a restart."""

    job_id: str

    def ref(self) -> str:
        """The reference stored with the job."""
        ...

    async def close(self) -> None:
        """Stop sending in the background: the job was stopped without being told."""
        ...


class Reply(Protocol):
    """Where a story was asked: how to refuse it, and where its job shows itself."""

    # Telegram counts every reply against the chat, so a flood of one refusal is said once;
    # a Discord interaction waits for an answer of its own.
    says_every_refusal: bool

    async def refuse(self, notice: Notice) -> None:
        """Tell the asker why nothing was started, in their language."""
        ...

    async def open_surface(self, job_id: str, remember: Remember) -> ChatSurface:
        """The surface of a newly admitted job."""
        ...


class Remote(Protocol):
    """The jobs workers run, shown and cancelled here (engine.dispatch.RemoteJobs)."""

    async def follow(self, job_id: str, surface: Surface) -> None: ...

    async def to_follow(self) -> list[StoredJob]: ...

    async def cancel(self, job_id: str) -> bool: ...


class Rebuilder(Protocol):
    """A platform that can turn a stored surface reference back into a surface."""

    async def rebuild(self, stored: StoredJob, remember: Remember) -> ChatSurface | None:
        """The job's surface, or None when the reference is not this platform's."""
        ...


@dataclass(frozen=True)
class Ask:
    """A person's story, from a chat, to be admitted.

    What it leaves as None comes from the person's settings: a ``look`` whole (a job made
    again is made as it was), or ``aspect``, ``voice`` and ``captions`` one by one (the
    options of a single request).
    """

    story: str
    requester: str
    chat: str | None = None
    seed: int | None = None
    language: Language | None = None  # None: the person's setting, else detected
    look: Look | None = None
    aspect: Aspect | None = None
    voice: str | None = None
    captions: bool | None = None

    def look_for(self, preferences: Preferences) -> Look:
        """The look this request is made with, over the person's settings."""
        if self.look is not None:
            return self.look
        base = preferences.look
        return replace(
            base,
            aspect=self.aspect or base.aspect,
            voice=self.voice or base.voice,
            captions=base.captions if self.captions is None else self.captions,
        )


class ChatJobs:
    """The jobs chat adapters started: admitted, tracked, drained, cancelled, resumed."""

    def __init__(
        self,
        engine: Engine,
        *,
        refusal_repeat_s: float = REFUSAL_REPEAT_S,
        remote: Remote | None = None,
    ) -> None:
        self.engine = engine
        # In an adapter whose jobs workers run: what shows and cancels them here.
        self._remote = remote
        self._repeat_s = refusal_repeat_s
        self._refused: dict[str, tuple[str, float]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # A job cancelled at shutdown is not settled, so its surface hears nothing; these are
        # closed after it instead. Weak: a surface goes when its job's last reference does.
        self._surfaces: weakref.WeakSet[ChatSurface] = weakref.WeakSet()

    async def start(self, ask: Ask, reply: Reply) -> str | None:
        """Admit the story and run its job in the background; its id, or None if refused."""
        preferences = await self._preferences(ask.requester)
        try:
            request = await self.engine.admit(
                ask.story,
                requester=ask.requester,
                chat=ask.chat,
                seed=ask.seed,
                language=ask.language or preferences.language,
                look=ask.look_for(preferences),
            )
        except (StoryRejectedError, AdmissionRefusedError) as refusal:
            if reply.says_every_refusal or self._is_new_refusal(ask.requester, refusal.reason):
                await reply.refuse(refusal.notice)
            return None
        try:
            surface = await reply.open_surface(request.job_id, self._remember(request.job_id))
        except BaseException:
            # Nowhere to show it, so nobody would ever hear of it: refunded, not reserved.
            try:
                await asyncio.shield(self.engine.withdraw(request))
            except Exception:
                # The adapter's own error is the one to raise; this one is logged.
                log.exception("job %s: could not be given back", request.job_id)
            raise
        self._surfaces.add(surface)
        job: Coroutine[Any, Any, object]
        if self._remote is not None:
            if ref := surface.ref():  # known before posting (a Discord interaction)
                await self.engine.remember_surface(request.job_id, ref)
            job = self._remote.follow(request.job_id, surface)
        else:
            job = self.engine.dream(request, surface, surface_ref=surface.ref())
        self._track(asyncio.create_task(job, name=f"chat-{request.job_id}"), request.job_id)
        return request.job_id

    async def cancel(self, job_id: str) -> bool:
        """The owner's Cancel: the job is refunded and told; False if it has ended."""
        if self._remote is not None:
            return await self._remote.cancel(job_id)
        return self.engine.cancel(job_id)

    async def again(self, job_id: str, requester: str) -> Ask | None:
        """A job's story again, as it was made, with a new seed.

        None when the books no longer know the job.
        """
        past = await self.engine.books.past(job_id)
        if past is None:
            return None
        return Ask(
            past.story,
            requester,
            past.chat,
            seed=random.randrange(2**31),
            language=past.language,
            look=past.look,
        )

    def edited(self, past: PastDream, story: str, chat: str | None) -> Ask:
        """A changed story in place of a past one: made with the same seed and look, so
        the scenes the change left alone come from the cache, and quickly."""
        return Ask(story, past.user, chat, seed=past.seed_used, look=past.look)

    async def is_owner(self, job_id: str, requester: str) -> bool:
        """Whether ``requester`` asked for the job (only they may press its buttons)."""
        return await self.engine.books.owner_of(job_id) == requester

    async def resume(self, platforms: Sequence[Rebuilder]) -> int:
        """Continue every unfinished job on the platform whose reference it stored."""

        async def rebuild(stored: StoredJob) -> Surface | None:
            for platform in platforms:
                surface = await platform.rebuild(stored, self._remember(stored.job_id))
                if surface is not None:
                    surface.job_id = stored.job_id
                    self._surfaces.add(surface)
                    return surface
            return None

        if self._remote is not None:
            return await self._follow_again(self._remote, rebuild)
        tasks = await self.engine.resume(rebuild)
        for task in tasks:
            self._track(task, task.get_name())
        return len(tasks)

    async def _follow_again(
        self, remote: Remote, rebuild: Callable[[StoredJob], Awaitable[Surface | None]]
    ) -> int:
        """After an adapter's restart: follow again every job a worker runs or ran for it."""
        count = 0
        for stored in await remote.to_follow():
            surface = await rebuild(stored)
            if surface is None:
                continue  # another adapter's (another bot, another shard)
            task = asyncio.create_task(remote.follow(stored.job_id, surface))
            self._track(task, stored.job_id)
            count += 1
        return count

    async def drain(self) -> None:
        """Wait until every job has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop every job (they resume on the next start), and what their surfaces still send."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for surface in list(self._surfaces):
            await surface.close()

    async def _preferences(self, user: str) -> Preferences:
        """The person's settings; the defaults if the database cannot be read now (the
        admission then says so, and charges nothing)."""
        try:
            return await self.engine.books.preferences(user)
        except Exception:
            log.warning("the settings of %s could not be read", user, exc_info=True)
            return Preferences()

    def _remember(self, job_id: str) -> Remember:
        return functools.partial(self.engine.remember_surface, job_id)

    def _is_new_refusal(self, requester: str, reason: str) -> bool:
        """The same refusal to the same person is said at most once per window.

        A flood of requests must not turn into a flood of replies.
        """
        now = time.monotonic()
        last = self._refused.get(requester)
        if last is not None and last[0] == reason and now - last[1] < self._repeat_s:
            return False
        self._refused[requester] = (reason, now)
        return True

    def _track(self, task: asyncio.Task[Any], job_id: str) -> None:
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, job_id))

    def _finished(self, task: asyncio.Task[Any], job_id: str) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, StageFailedError):
            log.info("job %s ended at %s (the chat was told)", job_id, error.stage.value)
        elif error is not None:
            log.error("job %s crashed", job_id, exc_info=error)
