"""The engine: admits stories, runs jobs, keeps the books, resumes and cancels them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.books import Books
from engine.cache import MediaCache
from engine.calls import ProviderGates
from engine.config import EngineConfig
from engine.errors import AdmissionRefusedError, StageFailedError, StoryRejectedError
from engine.housekeeping import CACHE_FOLDER, Housekeeper, Retention
from engine.job import JobRun
from engine.journal import Journal
from engine.media.ffmpeg import FFmpeg
from engine.models import DreamRequest, DreamResult, JobFailure, Role, Stage
from engine.ports import CancellableProvider, Providers, Surface
from engine.storage import JobStore, Storage, StoredJob
from engine.storage.ledger import Ask
from engine.story import validate_story
from engine.telemetry import NoTelemetry, Telemetry

log = logging.getLogger(__name__)

Rebuild = Callable[[StoredJob], Awaitable[Surface | None]]
STOPPING = "dreambot is restarting. Please send that again in a minute; nothing was charged."


class Engine:
    """The platform-free core: turns a request into a video, reporting to a Surface.

    With ``storage``, every job is admitted against quotas, recorded as it goes, charged
    on delivery, refunded on failure or cancel, and resumable after a restart.
    """

    def __init__(
        self,
        config: EngineConfig,
        providers: Providers,
        ffmpeg: FFmpeg,
        *,
        books: Books,
        use_cache: bool = False,
        retention: Retention | None = None,
        estimate_cost: Callable[[str], float] | None = None,
        resume_window: timedelta = timedelta(hours=6),
        telemetry: Telemetry | None = None,
    ) -> None:
        self.config = config
        self.providers = providers
        self.ffmpeg = ffmpeg
        self.books = books
        self.storage: Storage | None = books.storage
        cache_dir = config.work_dir / CACHE_FOLDER
        self.cache = MediaCache(cache_dir, books.storage.db) if use_cache else None
        self.estimate_cost = estimate_cost or (lambda story: 0.0)
        self.resume_window = resume_window
        self.telemetry = telemetry or NoTelemetry()
        self.housekeeper = (
            Housekeeper(config.work_dir, books.storage.jobs, retention, cache=self.cache)
            if retention is not None
            else None
        )
        self._draining = False
        self.gates = ProviderGates(config.roles, config.retry, self.telemetry)
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._cancel_requested: set[str] = set()

    async def admit(
        self, story: str, *, requester: str, chat: str | None = None, seed: int | None = None
    ) -> DreamRequest:
        """Validate, moderate and reserve (StoryRejectedError, AdmissionRefusedError).

        Nothing is charged for a refusal: the reservation is the last step.
        """
        if self._draining:
            self.telemetry.admission_refused("stopping")
            raise StoryRejectedError(STOPPING)
        try:
            return await self._admit(story, requester, chat, seed)
        except StoryRejectedError:
            self.telemetry.admission_refused("rejected")
            raise
        except AdmissionRefusedError as refused:
            self.telemetry.admission_refused(refused.refusal.value)
            raise

    async def _admit(
        self, story: str, requester: str, chat: str | None, seed: int | None
    ) -> DreamRequest:
        request = DreamRequest(validate_story(story, self.config.story), requester, seed, chat=chat)
        if self.storage is not None:
            await self.storage.ledger.precheck(requester)
        if self.providers.moderation is not None:
            try:
                async with asyncio.timeout(self.config.roles[Role.SCRIPT].timeout_s):
                    await self.providers.moderation.check(request.story)
            except TimeoutError:
                raise StoryRejectedError(
                    "The content check is unavailable right now. Please try again in a minute."
                ) from None
        if self.storage is not None:
            cost = self.estimate_cost(request.story)
            await self.storage.ledger.admit(
                Ask(request.job_id, requester, request.story, chat, seed, cost)
            )
        return request

    async def dream(
        self, request: DreamRequest, surface: Surface, *, surface_ref: str | None = None
    ) -> DreamResult:
        """Run an admitted job to its end: the final video, or StageFailedError.

        ``surface_ref`` is the adapter's opaque reference to its message, stored so that a
        restart can rebuild the surface and keep editing the same message.
        """
        journal = Journal(request.job_id, self._job_store())
        return await self._run(request, surface, surface_ref, journal)

    async def remember_surface(self, job_id: str, surface_ref: str) -> None:
        """Store where a job shows itself, once the adapter knows (e.g. after posting)."""
        if self.storage is not None:
            await self.storage.jobs.set_surface(job_id, surface_ref)

    async def owner_of(self, job_id: str) -> str | None:
        """The user who asked for a job, from the database (None if unknown)."""
        if self.storage is None:
            return None
        return await self.storage.jobs.owner(job_id)

    def cancel(self, job_id: str) -> bool:
        """Stop a running job at its owner's request: it is refunded and told. False if idle."""
        task = self._tasks.get(job_id)
        if task is None or task.done():
            return False
        self._cancel_requested.add(job_id)
        task.cancel()
        return True

    def is_running(self, job_id: str) -> bool:
        """Whether a job is running in this process."""
        task = self._tasks.get(job_id)
        return task is not None and not task.done()

    def drain(self, grace_s: float) -> Awaitable[int]:
        """Stop admitting at once; the result waits up to ``grace_s`` for running jobs.

        It gives how many are still running; the caller cancels those, and since every
        validated file and provider request id is already in the journal, they resume from
        their last checkpoint on the next start.
        """
        self._draining = True
        running = [task for task in self._tasks.values() if not task.done()]
        return self._wait_for(running, grace_s)

    @staticmethod
    async def _wait_for(running: list[asyncio.Task[Any]], grace_s: float) -> int:
        if running and grace_s > 0:
            log.info("stopping: waiting up to %g s for %d running jobs", grace_s, len(running))
            await asyncio.wait(running, timeout=grace_s)
        return sum(not task.done() for task in running)

    async def resume(self, rebuild: Rebuild) -> list[asyncio.Task[DreamResult]]:
        """Continue every job left unfinished by the last process; returns their tasks.

        ``rebuild`` turns a stored surface reference back into a Surface, or None when the
        adapter cannot (then the job fails with a refund).
        """
        if self.storage is None:
            return []
        tasks = []
        for stored in await self.storage.jobs.unfinished():
            surface = await rebuild(stored)
            if surface is None or datetime.now(UTC) - stored.created_at > self.resume_window:
                await self._give_up(stored, surface, "the job could not be resumed after a restart")
                continue
            request = DreamRequest(
                stored.story, stored.user, stored.seed, job_id=stored.job_id, chat=stored.chat
            )
            journal = Journal(
                stored.job_id, self._job_store(), files=stored.files, requests=stored.requests
            )
            coroutine = self._run(request, surface, None, journal, resumed=True)
            tasks.append(asyncio.create_task(coroutine, name=f"resume-{stored.job_id}"))
        return tasks

    def _job_store(self) -> JobStore | None:
        return self.storage.jobs if self.storage is not None else None

    async def _run(
        self,
        request: DreamRequest,
        surface: Surface,
        surface_ref: str | None,
        journal: Journal,
        *,
        resumed: bool = False,
    ) -> DreamResult:
        job_id = request.job_id
        current = asyncio.current_task()
        if current is not None:
            self._tasks[job_id] = current
        run = JobRun(self, request, surface, journal, resumed=resumed)
        try:
            if self.storage is not None:
                await self.storage.jobs.start(job_id, run.workdir, surface_ref)
            result = await run.run()
        except StageFailedError as failure:
            await self._settle(job_id, "failed", stage=failure.stage, reason=failure.reason)
            raise
        except asyncio.CancelledError:
            if job_id in self._cancel_requested:
                await self._cancel_requests(journal)
                await self._settle(job_id, "cancelled")
                await run.tell_cancelled()
            # Otherwise the process is shutting down: the job stays unfinished and resumes.
            raise
        finally:
            self._tasks.pop(job_id, None)
            self._cancel_requested.discard(job_id)
        await self._settle(job_id, "delivered", timings=result.timings)
        return result

    async def _cancel_requests(self, journal: Journal) -> None:
        """Ask remote providers to drop this job's unfinished requests, so nobody pays for them."""
        for name, request_id in journal.pending_requests().items():
            provider = self.providers.for_request(name)
            if not isinstance(provider, CancellableProvider):
                continue
            try:
                await provider.cancel_request(request_id)
            except Exception:
                # Best effort: the job is cancelled and refunded whatever the provider says.
                log.exception("job %s: cancelling request %s failed", journal.job_id, name)

    async def _settle(
        self,
        job_id: str,
        state: str,
        *,
        stage: Stage | None = None,
        reason: str | None = None,
        timings: Mapping[Stage, float] | None = None,
    ) -> None:
        """Charge or refund exactly once, and record how the job ended."""
        self.telemetry.job_ended(state)
        if self.storage is None:
            return
        if state == "delivered":
            if (cost := await self.storage.ledger.commit(job_id)) is not None:
                self.telemetry.spent(cost)
        else:
            await self.storage.ledger.refund(job_id)
        for done_stage, seconds in (timings or {}).items():
            await self.storage.jobs.record_stage(job_id, done_stage.value, "done", seconds)
        await self.storage.jobs.finish(
            job_id, state, stage=stage.value if stage else None, failure=reason
        )
        if self.housekeeper is not None:
            self.housekeeper.wake()

    async def _give_up(self, stored: StoredJob, surface: Surface | None, reason: str) -> None:
        stage = Stage.SCENES if "script" in stored.files else Stage.SCRIPT
        log.warning("job %s: %s; refunding", stored.job_id, reason)
        await self._settle(stored.job_id, "failed", stage=stage, reason=reason)
        if surface is not None:
            await surface.fail(JobFailure(stored.job_id, stage, reason))
