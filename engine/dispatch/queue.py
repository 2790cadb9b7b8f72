"""Jobs handed from adapters to workers through procrastinate, on the books' PostgreSQL.

An adapter defers a job in the transaction that admits it, so a job is either admitted
and queued or neither. A worker runs what it takes from the queue; a worker that dies
stops sending heartbeats, and the others put its jobs back in the queue once its
heartbeat is older than the stall timeout (procrastinate's own recovery: the job's
provider requests are in the journal, so the next worker re-attaches to them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import cast

import procrastinate
from procrastinate.job_context import AbortReason, JobContext
from procrastinate.jobs import Status

from engine.dispatch.cancels import CANCELS_SCHEMA
from engine.dispatch.events import EVENTS_SCHEMA
from engine.storage.backend import Backend, Transaction
from engine.storage.dialect import Lock
from engine.storage.postgres import PostgresTransaction

log = logging.getLogger(__name__)

TASK = "dreambot.dream"
QUEUE = "dreams"
_LONGEST_WAIT_S = 60


class _UntilItEnds(procrastinate.BaseRetryStrategy):
    """A job is taken again, by this worker or another, until it ends. Its end (delivered,
    failed, cancelled) is settled inside the task, so what comes here is a worker stopping,
    a job another live process holds, or the server away: never given up on, since the job
    would stay reserved with nobody to run it; each try a little later, up to a minute."""

    def get_retry_decision(
        self, *, exception: BaseException, job: procrastinate.jobs.Job
    ) -> procrastinate.RetryDecision:
        wait_s = min(2 ** min(job.attempts, 6), _LONGEST_WAIT_S)
        return procrastinate.RetryDecision(retry_in={"seconds": wait_s})


class JobBusyError(Exception):
    """Another live process holds the job (its worker lives on, slowly): tried later."""


Work = Callable[[str, Callable[[], bool]], Awaitable[None]]
Sweep = Callable[[], Awaitable[None]]


class Dispatch:
    """The queue of jobs between adapters and workers."""

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self.app = procrastinate.App(
            # procrastinate's pool checks its connections itself (a server restart).
            connector=procrastinate.PsycopgConnector(conninfo=url, min_size=1, max_size=pool_size)
        )

    async def open(self, db: Backend) -> None:
        """Connect, and put procrastinate's tables and ours in place the first time."""
        await self.app.open_async()
        async with db.transaction() as tx:
            await tx.fetch("SELECT pg_advisory_xact_lock(?, hashtext(?))", (Lock.MIGRATION, TASK))
            for statement in EVENTS_SCHEMA + CANCELS_SCHEMA:
                await tx.fetch(statement)
            if await tx.fetch("SELECT to_regclass('procrastinate_jobs')") != [(None,)]:
                return
            # procrastinate's schema is procrastinate's: applied whole here, once; an upgrade
            # of procrastinate applies its migration files (docs/operations.md).
            connection = cast(PostgresTransaction, tx).connection
            await connection.execute(self.app.schema_manager.get_schema())
            log.info("procrastinate's tables made")

    async def close(self) -> None:
        await self.app.close_async()

    async def defer_in(self, tx: Transaction, job_id: str) -> None:
        """Queue ``job_id`` inside ``tx`` (the admission's transaction)."""
        connection = cast(PostgresTransaction, tx).connection
        deferrer = self.app.configure_task(
            TASK, queue=QUEUE, lock=job_id, queueing_lock=job_id, connection=connection
        )
        await deferrer.defer_async(job_id=job_id)

    async def abort(self, job_id: str) -> bool:
        """Ask the worker running ``job_id`` to stop it; False when no worker has it."""
        manager = self.app.job_manager
        for job in await manager.list_jobs_async(
            queue=QUEUE, lock=job_id, status=Status.DOING.value
        ):
            if job.id is not None and await manager.cancel_job_by_id_async(job.id, abort=True):
                return True
        return False

    async def take_off(self, job_id: str) -> None:
        """Take ``job_id`` off the queue if it waits there (a worker taking it would find
        it ended, so this only spares one the trip)."""
        manager = self.app.job_manager
        for job in await manager.list_jobs_async(
            queue=QUEUE, lock=job_id, status=Status.TODO.value
        ):
            if job.id is not None:
                await manager.cancel_job_by_id_async(job.id)

    async def work(
        self,
        run: Work,
        *,
        each_sweep: Sweep,
        concurrency: int,
        heartbeat_s: float,
        stall_s: float,
        grace_s: float,
    ) -> None:
        """Run jobs from the queue until cancelled; ``run(job_id, by_user)``, where
        ``by_user()`` says whether a cancel of the run is the person's (not a stop).

        Jobs whose worker stopped sending heartbeats ``stall_s`` ago are put back in the
        queue by every worker, each ``heartbeat_s``, which then runs ``each_sweep()``.
        """

        async def dream(context: JobContext, job_id: str) -> None:
            # Cancelled by procrastinate: at the person's request (an abort), or because
            # this worker stops (then the job is queued again, see _UntilItEnds).
            await run(job_id, lambda: context.abort_reason() is AbortReason.USER_REQUEST)

        self.app.task(name=TASK, queue=QUEUE, pass_context=True, retry=_UntilItEnds())(dream)
        sweeper = asyncio.create_task(
            self._sweep(heartbeat_s, stall_s, each_sweep), name="stalled-jobs"
        )
        try:
            await self.app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                install_signal_handlers=False,
                update_heartbeat_interval=heartbeat_s,
                stalled_worker_timeout=stall_s,
                shutdown_graceful_timeout=grace_s,
                listen_notify=True,
                delete_jobs="successful",
            )
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    async def _sweep(self, every_s: float, stall_s: float, each_sweep: Sweep) -> None:
        manager = self.app.job_manager
        while True:
            await asyncio.sleep(every_s)
            try:
                stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=stall_s)
            except Exception as exc:  # the server away for now: looked at again next time
                log.warning("cannot look for stalled jobs now: %s", exc)
                stalled = []
            for job in stalled:
                job_id = job.task_kwargs.get("job_id")
                try:
                    # A job whose abort was asked is failed by procrastinate, not queued
                    # again; each_sweep settles it.
                    await manager.retry_job(job)
                    log.warning("job %s: its worker stopped; queued again", job_id)
                except Exception as exc:
                    log.warning("job %s: cannot be queued again now: %s", job_id, exc)
            try:
                await each_sweep()
            except Exception as exc:
                log.warning("cannot settle the cancelled jobs now: %s", exc)
