"""Adapters and workers on one PostgreSQL (``dreambot run --role adapter|worker``): jobs
queued by procrastinate, their surfaces' calls relayed through the database.

Imported only for those roles: it needs the ``postgres`` extra (psycopg, procrastinate).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from engine.books import Books
from engine.dispatch.cancels import Cancels
from engine.dispatch.events import EventLog
from engine.dispatch.follow import Follower
from engine.dispatch.queue import Dispatch, JobBusyError
from engine.dispatch.relay import RelaySurface
from engine.pipeline import Engine
from engine.ports import Surface
from engine.storage.jobs import StoredJob

__all__ = ["Dispatch", "RemoteJobs", "open_dispatch", "work_queue"]

log = logging.getLogger(__name__)

# How long a worker waits for the adapter to say the chat took the final: long enough for
# an adapter restart, after which the job fails (refunded) rather than hang.
DELIVERY_WAIT_S = 600.0


async def open_dispatch(url: str, books: Books) -> Dispatch:
    """The queue on the books' server, its tables made the first time."""
    dispatch = Dispatch(url)
    await dispatch.open(books.storage.db)
    return dispatch


class RemoteJobs:
    """An adapter's hold on the jobs workers run for it: shown here, cancelled from here."""

    def __init__(self, engine: Engine, dispatch: Dispatch, url: str, *, poll_s: float) -> None:
        storage = engine.books.storage
        self._engine = engine
        self._dispatch = dispatch
        self._events = EventLog(storage.db)
        self._cancels = Cancels(storage.db)
        self._jobs = storage.jobs
        self._follower = Follower(
            self._events, storage.jobs, url, engine.config.work_dir, poll_s=poll_s
        )

    async def listen(self) -> None:
        """Wake the jobs followed here as their events arrive, until cancelled."""
        await self._follower.listen()

    async def follow(self, job_id: str, surface: Surface) -> None:
        """Show the job's events on ``surface`` until its worker is done with it."""
        await self._follower.follow(job_id, surface)
        with contextlib.suppress(Exception):  # a row left over is never read again
            await self._cancels.forget(job_id)

    async def to_follow(self) -> list[StoredJob]:
        """The jobs an adapter starting follows again."""
        return await self._follower.to_follow()

    async def cancel(self, job_id: str) -> bool:
        """The person's Cancel: False when the job has ended (nothing to cancel).

        The cancel is recorded first, so that whichever process next holds the job sees it.
        A job no process holds is then settled here, at once; its queue entry, if a worker
        takes it still, finds it ended. One a worker runs is stopped by that worker (an
        abort), which refunds it and says so; one a process holds without running it (a
        worker stopping) is settled by the next to take it, or by a worker's sweep.
        """
        if not await self._jobs.is_unfinished(job_id):
            return False
        await self._cancels.ask(job_id)
        if await _cancel_waiting(self._engine, self._events, job_id):
            await self._dispatch.take_off(job_id)
        else:
            await self._dispatch.abort(job_id)
        return True


async def _cancel_waiting(engine: Engine, events: EventLog, job_id: str) -> bool:
    """Settle a cancelled job no worker runs, and tell its adapter as a worker would."""
    surface = RelaySurface(job_id, events, delivery_wait_s=DELIVERY_WAIT_S)
    if not await engine.cancel_waiting(job_id, surface):
        return False
    await surface.end()
    return True


async def work_queue(
    dispatch: Dispatch,
    engine: Engine,
    *,
    concurrency: int,
    heartbeat_s: float,
    stall_s: float,
    grace_s: float,
) -> None:
    """Run queued jobs on ``engine`` until cancelled."""
    events = EventLog(engine.books.storage.db)
    cancels = Cancels(engine.books.storage.db)

    async def run(job_id: str, aborted_by_user: Callable[[], bool]) -> None:
        surface = RelaySurface(job_id, events, delivery_wait_s=DELIVERY_WAIT_S)

        async def cancel_asked() -> bool:
            if aborted_by_user():
                return True
            try:
                return await cancels.asked(job_id)
            except Exception as exc:  # the server away: the sweep settles it later
                log.warning("job %s: cannot tell whether its cancel was asked: %s", job_id, exc)
                return False

        try:
            ran = await engine.run_queued(job_id, surface, cancel_asked=cancel_asked)
        except asyncio.CancelledError:
            if await cancel_asked():  # refunded and told: the adapter may stop following it
                await asyncio.shield(surface.end())
            raise
        if not ran:
            raise JobBusyError(job_id)
        await asyncio.shield(surface.end())

    async def settle_stranded() -> None:
        # Cancelled jobs no process will run again: their worker died before it heard, or
        # stopped before it could settle them.
        for job_id in await cancels.stranded():
            try:
                await _cancel_waiting(engine, events, job_id)
            except Exception as exc:
                log.warning("job %s: its cancel cannot be settled now: %s", job_id, exc)

    await dispatch.work(
        run,
        each_sweep=settle_stranded,
        concurrency=concurrency,
        heartbeat_s=heartbeat_s,
        stall_s=stall_s,
        grace_s=grace_s,
    )
