"""The engine: admits stories, starts and tracks job runs, resumes and drains them.

Each job is owned by its ``JobRun`` (engine/job.py), which settles it; the engine only
admits, hands each run what it needs (a ``JobContext``) and keeps the runs it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from engine.books import Books
from engine.cache import Cache, MediaCache, NoCache
from engine.calls import ProviderGates
from engine.config import EngineConfig
from engine.errors import (
    AdmissionRefusedError,
    EngineError,
    Refusal,
    StageFailedError,
    StoryRejectedError,
)
from engine.housekeeping import CACHE_FOLDER, Housekeeper, Retention
from engine.job import CANCELLED, JobContext, JobRun
from engine.journal import Journal
from engine.language import detect_language
from engine.language import is_loaded as detector_loaded
from engine.language import warm_up as warm_up_detector
from engine.media.ffmpeg import FFmpeg
from engine.models import (
    Action,
    DreamRequest,
    DreamResult,
    JobFailure,
    JobState,
    Language,
    Look,
    Part,
    PartKind,
    Role,
    Stage,
)
from engine.notice import CHECK_UNAVAILABLE, N_, Notice
from engine.outcome import Outcome, read_outcome
from engine.ports import Providers, Surface
from engine.settlement import Settlement
from engine.step import abandon_pending
from engine.storage import StoredJob
from engine.storage.ledger import Ask, Then
from engine.story import validate_story
from engine.telemetry import NoTelemetry, Telemetry
from engine.waiting import Typical

log = logging.getLogger(__name__)

Rebuild = Callable[[StoredJob], Awaitable[Surface | None]]
STOPPING = Notice(
    N_("dreambot is restarting. Please send that again in a minute; nothing was charged.")
)
NOT_RESUMABLE = Notice(N_("the job could not be resumed after a restart"))
_T = TypeVar("_T")
NOT_STARTED = Notice(N_("the job could not be started"))
UNAVAILABLE = Notice(
    N_("dreambot cannot take dreams right now. Please try again later; nothing was charged.")
)


class Engine:
    """The platform-free core: turns a request into a video, reporting to a Surface.

    Every job is admitted against quotas, recorded as it goes, charged on delivery,
    refunded on failure or cancel, and resumable after a restart. ``use_cache`` keeps
    provider outputs for reuse; ``retention`` turns on housekeeping of the work folder.
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
        enqueue: Then | None = None,
    ) -> None:
        self.config = config
        # Set in an adapter whose jobs workers run: admitting a job queues it, in one commit.
        self._enqueue = enqueue
        self.providers = providers
        self.books = books
        self.telemetry = telemetry or NoTelemetry()
        self._storage = books.storage
        self._storage.patience.listen(self.telemetry.storage_refused)
        self._estimate_cost = estimate_cost or (lambda story: 0.0)
        self._resume_window = resume_window
        kept = MediaCache(config.work_dir / CACHE_FOLDER, self._storage.db) if use_cache else None
        cache: Cache = kept if kept is not None else NoCache()
        self.housekeeper = (
            Housekeeper(config.work_dir, self._storage.jobs, retention, cache=kept)
            if retention is not None
            else None
        )
        # How long stages usually take: seeded from the books at warm-up, then every job.
        self.typical = Typical()
        self._settlement = Settlement(self._storage, self.telemetry, self.housekeeper, self.typical)
        self._draining = False
        self._context = JobContext(
            config=config,
            providers=providers,
            ffmpeg=ffmpeg,
            gates=ProviderGates(config.roles, config.retry, self.telemetry, self.typical),
            cache=cache,
            telemetry=self.telemetry,
            settlement=self._settlement,
        )
        self._runs: dict[str, JobRun] = {}

    async def admit(
        self,
        story: str,
        *,
        requester: str,
        chat: str | None = None,
        seed: int | None = None,
        language: Language | None = None,
        look: Look | None = None,
    ) -> DreamRequest:
        """Validate, moderate and reserve (StoryRejectedError, AdmissionRefusedError).

        The story's language is detected unless ``language`` says it; ``look`` is how the
        video is made (the defaults if None), kept with the job. Nothing is charged
        for a refusal: the reservation is the last step.
        """
        self._refuse_if_stopping()
        try:
            return await self._admit(story, requester, chat, seed, language, look or Look())
        except (StoryRejectedError, AdmissionRefusedError) as refusal:
            self._count(refusal)
            raise
        except Exception as exc:
            # The database refusing, a bug: the asker still gets an answer, and it is
            # true that nothing was charged, since the reservation is the last step and
            # its transaction either committed or rolled back.
            log.exception("admission failed for %s", requester)
            self.telemetry.admission_refused(Refusal.UNAVAILABLE)
            raise AdmissionRefusedError(Refusal.UNAVAILABLE, UNAVAILABLE, None) from exc

    async def precheck(self, story: str | None, *, requester: str) -> None:
        """Refuse at once what needs no paid or slow check (StoryRejectedError,
        AdmissionRefusedError): the story's text rules, a ban, a spent quota, a stop.

        Milliseconds (no moderation, no writes), so a platform can answer a refusal before
        it acknowledges the request; ``admit`` still decides. ``story`` None skips the text
        rules (the adapter has not got the story as it will be admitted yet). A database
        that cannot be read refuses nothing here: ``admit`` answers that.
        """
        self._refuse_if_stopping()
        try:
            if story is not None:
                validate_story(story, self.config.story)
            await self._storage.ledger.precheck(requester)
        except (StoryRejectedError, AdmissionRefusedError) as refusal:
            self._count(refusal)
            raise
        except Exception:
            log.warning("precheck could not read the books for %s", requester, exc_info=True)

    def _refuse_if_stopping(self) -> None:
        if self._draining:
            self.telemetry.admission_refused(Refusal.STOPPING)
            raise StoryRejectedError(STOPPING)

    def _count(self, refusal: StoryRejectedError | AdmissionRefusedError) -> None:
        """Each refusal is counted once, by kind, where it leaves the engine."""
        kind = refusal.refusal if isinstance(refusal, AdmissionRefusedError) else Refusal.REJECTED
        self.telemetry.admission_refused(kind)

    async def _admit(
        self,
        story: str,
        requester: str,
        chat: str | None,
        seed: int | None,
        language: Language | None,
        look: Look,
    ) -> DreamRequest:
        story = validate_story(story, self.config.story)
        if language is None:
            language = await _detect(story)
        request = DreamRequest(story, requester, seed, chat=chat, language=language, look=look)
        ledger = self._storage.ledger
        await ledger.precheck(requester)
        if self.providers.moderation is not None:
            try:
                async with asyncio.timeout(self.config.roles[Role.SCRIPT].timeout_s):
                    await self.providers.moderation.check(request.story)
            except StoryRejectedError:
                raise
            except (TimeoutError, EngineError) as exc:
                # The check could not run (a timeout, a refused key, a 4xx): the story is
                # not judged, so it is neither accepted nor called unsafe.
                log.warning("moderation could not run: %s", exc)
                raise StoryRejectedError(CHECK_UNAVAILABLE) from None
        cost = self._estimate_cost(request.story)
        ask = Ask(
            request.job_id, requester, request.story, chat, seed, cost, language.tag,
            look.to_json(),
        )  # fmt: skip
        if self._enqueue is not None:
            await ledger.admit(ask, self._enqueue)  # a worker claims it when it takes it
            return request
        # Held before its row exists: a process starting meanwhile must not resume it. A
        # claim the database cannot confirm (None) still runs: the job is this process's.
        await self._storage.db.claim(request.job_id)
        try:
            await ledger.admit(ask)
        except BaseException:
            await self._storage.db.release(request.job_id)
            raise
        return request

    async def warm_up(self) -> None:
        """Load the language detector (about a second, in a thread) and read one story
        through the text rules, so that a long-running process admits its first story as
        fast as the rest."""
        await asyncio.to_thread(warm_up_detector)
        try:
            self.typical.seed(await self._storage.jobs.recent_stage_times())
        except Exception:
            log.warning("recent stage times could not be read; waits get no estimate yet")
        with contextlib.suppress(StoryRejectedError):  # an operator's limits may refuse it
            validate_story("A story to warm up: *one* line.", self.config.story)

    async def dream(
        self, request: DreamRequest, surface: Surface, *, surface_ref: str | None = None
    ) -> DreamResult:
        """Run an admitted job to its end: the final video, or StageFailedError.

        ``surface_ref`` is the adapter's opaque reference to its message, stored so that a
        restart can rebuild the surface and keep editing the same message.
        """
        journal = Journal(request.job_id, self._storage.jobs)
        return await self._run(JobRun(self._context, request, surface, journal), surface_ref)

    async def withdraw(self, request: DreamRequest) -> None:
        """Give back an admitted job that never started (its adapter could not open a
        place to show it): refunded and let go, so nothing stays reserved."""
        outcome = Outcome(JobState.FAILED, Stage.SCRIPT, NOT_STARTED)
        await self._settlement.settle(request.job_id, None, outcome)

    async def remember_surface(self, job_id: str, surface_ref: str) -> None:
        """Store where a job shows itself, once the adapter knows (e.g. after posting)."""
        await self._settlement.remember_surface(job_id, surface_ref)

    def cancel(self, job_id: str) -> bool:
        """Stop a running job at its owner's request: it is refunded and told. False if idle."""
        run = self._runs.get(job_id)
        return run is not None and run.cancel()

    async def cancel_waiting(self, job_id: str, surface: Surface) -> bool:
        """Cancel, at its owner's request, a queued job that no process runs (it waits for
        a worker, or its worker died): refunded, then told on ``surface``. False when it
        has ended, or a live process holds it (that one settles it)."""
        if not await self._storage.db.claim(job_id):
            return False
        try:
            return await _to_the_end(self._cancel_claimed(job_id, surface))
        finally:
            await self._storage.db.release(job_id)

    async def _cancel_claimed(self, job_id: str, surface: Surface) -> bool:
        """Settle a claimed job that is not running here as cancelled, and tell; the claim
        is kept until it is told, so that no worker taking the job meanwhile speaks first."""
        stored = await self._storage.jobs.unfinished_one(job_id)
        if stored is None:
            return False
        stage = Stage.SCENES if Part(PartKind.SCRIPT).name in stored.files else Stage.SCRIPT
        outcome = Outcome(JobState.CANCELLED, stage, CANCELLED)
        # The files are on the host of the worker that made them, whose cleaner removes them.
        await self._settlement.settle(job_id, None, outcome, keep_claim=True)
        log.info("job %s: cancelled where no run of it was going", job_id)
        await surface.fail(JobFailure(job_id, stage, CANCELLED, cancelled=True, refunded=True))
        await surface.offer_actions([Action.REGENERATE])
        # After telling (the person waits on it, the requests do not): a worker that died
        # may have left clips in fal's queue, which nobody will want now.
        journal = Journal(job_id, self._storage.jobs, files=stored.files, requests=stored.requests)
        await abandon_pending(journal, self.providers)
        return True

    def is_running(self, job_id: str) -> bool:
        """Whether a job is running in this process."""
        run = self._runs.get(job_id)
        return run is not None and run.running

    def drain(self, grace_s: float) -> Awaitable[int]:
        """Stop admitting at once; the result waits up to ``grace_s`` for running jobs.

        It gives how many are still running; the caller cancels those, and since every
        validated file and provider request id is already in the journal, they resume from
        their last checkpoint on the next start (their remote requests are kept for that).
        """
        self._draining = True
        running = [task for task in self._tasks() if not task.done()]
        return _wait_for(running, grace_s)

    async def resume(self, rebuild: Rebuild) -> list[asyncio.Task[DreamResult]]:
        """Continue every job left unfinished by the last process; returns their tasks.

        ``rebuild`` turns a stored surface reference back into a Surface, or None when the
        adapter cannot (then the job fails with a refund).
        """
        tasks = []
        for stored in await self._storage.jobs.unfinished():
            if stored.job_id in self._runs:
                continue  # running here already (a resume after a standby took a bot over)
            if not await self._storage.db.claim(stored.job_id):
                continue  # another live process runs it, or the server cannot say now
            try:
                task = await self._resume_one(stored, rebuild)
            except Exception:
                # One job that cannot be picked up must not keep the others from resuming.
                log.exception("job %s: could not be resumed now", stored.job_id)
                task = None
            if task is None:
                await self._storage.db.release(stored.job_id)
            else:
                tasks.append(task)
        return tasks

    async def run_queued(
        self, job_id: str, surface: Surface, *, cancel_asked: Callable[[], Awaitable[bool]]
    ) -> bool:
        """Run a job a worker took from the queue, to its end; False when another live
        process holds it (it is to be tried later).

        ``cancel_asked()`` says whether the person asked to cancel it. Asked before its run
        begins, it is settled cancelled instead. Cancelled meanwhile, the run stops as the
        person asked (refunded and told), or, when this worker is stopping and nobody
        asked, stays unfinished, to be resumed from its journal by the next worker.
        """
        if await self._storage.db.claim(job_id) is False:
            return False
        try:
            if await cancel_asked():
                await _to_the_end(self._cancel_claimed(job_id, surface))
                task = None
            else:
                task = await self._queued_task(job_id, surface)
        except BaseException as stopped:
            try:
                if isinstance(stopped, asyncio.CancelledError) and await cancel_asked():
                    # Asked as its run was being made: settled here, as its run would have.
                    await _to_the_end(self._cancel_claimed(job_id, surface))
            finally:
                # Let go, or this worker would call the job busy each time it is retried.
                await self._storage.db.release(job_id)
            raise
        if task is None:
            await self._storage.db.release(job_id)
            return True
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await self._stop_queued(job_id, task, surface, await cancel_asked())
            raise
        except StageFailedError:
            pass  # settled and told
        return True

    async def _queued_task(self, job_id: str, surface: Surface) -> asyncio.Task[DreamResult] | None:
        stored = await self._storage.jobs.unfinished_one(job_id)
        if stored is None:
            return None  # it ended already (its worker died after settling it)
        started = stored.workdir is not None  # a worker before this one acknowledged it
        return await self._resume_one(stored, lambda _: _surface(surface), resumed=started)

    async def _stop_queued(
        self, job_id: str, task: asyncio.Task[DreamResult], surface: Surface, by_user: bool
    ) -> None:
        """The worker's task was cancelled: stop the run as the person asked, or leave it
        unfinished for the next worker (this one is stopping)."""
        if not by_user:
            task.cancel()
        elif not self.cancel(job_id) and job_id not in self._runs and not task.done():
            # Asked before the run's first step: it never begins, and is settled here.
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            try:
                await _to_the_end(self._cancel_claimed(job_id, surface))
            finally:
                await self._storage.db.release(job_id)
        # A run that is ending (delivering, or settling a failure) ends as it was going to.
        with contextlib.suppress(BaseException):
            await task

    async def _resume_one(
        self, stored: StoredJob, rebuild: Rebuild, *, resumed: bool = True
    ) -> asyncio.Task[DreamResult] | None:
        """Continue one claimed job: its task, or None once it is settled here or ended."""
        if not await self._storage.jobs.is_unfinished(stored.job_id):
            return None  # it ended between the listing and the claim (its process let go)
        journal = Journal(
            stored.job_id, self._storage.jobs, files=stored.files, requests=stored.requests
        )
        surface = await rebuild(stored)
        if (ended := read_outcome(stored.workdir)) is not None:
            await self._settle_ended(stored, ended, surface)
            return None
        if surface is None or datetime.now(UTC) - stored.created_at > self._resume_window:
            await self._give_up(stored, journal, surface)
            return None
        language = (
            Language.parse(stored.language) if stored.language else await _detect(stored.story)
        )
        request = DreamRequest(
            stored.story,
            stored.user,
            stored.seed,
            job_id=stored.job_id,
            chat=stored.chat,
            language=language,
            look=stored.look,
        )
        run = JobRun(self._context, request, surface, journal, resumed=resumed)
        return asyncio.create_task(self._run(run, None), name=f"resume-{stored.job_id}")

    async def _run(self, run: JobRun, surface_ref: str | None) -> DreamResult:
        self._runs[run.job_id] = run
        try:
            return await run.run(surface_ref)
        finally:
            self._runs.pop(run.job_id, None)

    def _tasks(self) -> list[asyncio.Task[object]]:
        return [run.task for run in self._runs.values() if run.task is not None]

    async def _give_up(self, stored: StoredJob, journal: Journal, surface: Surface | None) -> None:
        notice = NOT_RESUMABLE
        reason = str(notice)
        stage = Stage.SCENES if Part(PartKind.SCRIPT).name in stored.files else Stage.SCRIPT
        log.warning("job %s: %s; refunding", stored.job_id, reason)
        # Kept at the last stop for this job to re-attach to; now nobody will.
        await abandon_pending(journal, self.providers)
        outcome = Outcome(JobState.FAILED, stage, notice)
        await self._settlement.settle(stored.job_id, stored.workdir, outcome)
        if surface is not None:
            await surface.fail(JobFailure(stored.job_id, stage, notice, refunded=True))

    async def _settle_ended(
        self, stored: StoredJob, ended: Outcome, surface: Surface | None
    ) -> None:
        """A job that ended before the last stop but whose end the database missed: settled
        as it ended, never run again (a delivered video is not sent twice)."""
        log.warning("job %s: ended %s before the restart; settling it", stored.job_id, ended.state)
        await self._settlement.settle(stored.job_id, stored.workdir, ended)
        if surface is not None and ended.state is not JobState.DELIVERED:
            # They may have heard the refund was on its way: now it is recorded.
            stage = ended.stage or Stage.SCRIPT
            notice = ended.notice or NOT_RESUMABLE
            cancelled = ended.state is JobState.CANCELLED
            await surface.fail(
                JobFailure(stored.job_id, stage, notice, cancelled=cancelled, refunded=True)
            )


async def _surface(surface: Surface) -> Surface:
    return surface


async def _to_the_end(work: Coroutine[object, object, _T]) -> _T:
    """Run ``work`` to its end even if the caller is cancelled meanwhile (a settlement
    half done is worse than a stop a moment late); the cancel is raised after it."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.gather(task, return_exceptions=True)
        raise


async def _detect(story: str) -> Language:
    """The story's language. Loading the model takes about a second, so a cold detector
    runs in a thread; a warm one answers in about a millisecond, less than a thread hop
    costs under load (the GIL hands over every 5 ms), so it runs here."""
    if detector_loaded():
        return detect_language(story)
    return await asyncio.to_thread(detect_language, story)


async def _wait_for(running: list[asyncio.Task[object]], grace_s: float) -> int:
    if running and grace_s > 0:
        log.info("stopping: waiting up to %g s for %d running jobs", grace_s, len(running))
        await asyncio.wait(running, timeout=grace_s)
    return sum(not task.done() for task in running)
