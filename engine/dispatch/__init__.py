"""Adapters and workers on one PostgreSQL (``dreambot run --role adapter|worker``): jobs
queued by procrastinate, their surfaces' calls relayed through the database.

Imported only for those roles: it needs the ``postgres`` extra (psycopg, procrastinate).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from engine.books import Books
from engine.dispatch.events import EventLog
from engine.dispatch.follow import Follower
from engine.dispatch.queue import Dispatch, JobBusyError
from engine.dispatch.relay import RelaySurface
from engine.pipeline import Engine
from engine.ports import Surface
from engine.storage.jobs import StoredJob

__all__ = ["Dispatch", "RemoteJobs", "open_dispatch", "work_queue"]

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
        self._follower = Follower(
            self._events, storage.jobs, url, engine.config.work_dir, poll_s=poll_s
        )

    async def listen(self) -> None:
        """Wake the jobs followed here as their events arrive, until cancelled."""
        await self._follower.listen()

    async def follow(self, job_id: str, surface: Surface) -> None:
        """Show the job's events on ``surface`` until its worker is done with it."""
        await self._follower.follow(job_id, surface)

    async def to_follow(self) -> list[StoredJob]:
        """The jobs an adapter starting follows again."""
        return await self._follower.to_follow()

    async def cancel(self, job_id: str) -> bool:
        """The person's Cancel: False when the job has ended (nothing to cancel).

        A job no worker holds is settled here, at once; its queue entry, if a worker takes
        it still, finds it ended. One a worker runs is stopped by that worker (an abort),
        which refunds it and says so.
        """
        if await _cancel_waiting(self._engine, self._events, job_id):
            await self._dispatch.take_off(job_id)
            return True
        return await self._dispatch.abort(job_id)


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

    async def run(job_id: str, by_user: Callable[[], bool]) -> None:
        surface = RelaySurface(job_id, events, delivery_wait_s=DELIVERY_WAIT_S)
        try:
            ran = await engine.run_queued(job_id, surface, by_user=by_user)
        except asyncio.CancelledError:
            if by_user():  # refunded and told: the adapter may stop following it
                await asyncio.shield(surface.end())
            raise
        if not ran:
            raise JobBusyError(job_id)
        await surface.end()

    async def abandoned(job_id: str) -> None:  # its cancel outlived its worker
        await _cancel_waiting(engine, events, job_id)

    await dispatch.work(
        run,
        abandoned=abandoned,
        concurrency=concurrency,
        heartbeat_s=heartbeat_s,
        stall_s=stall_s,
        grace_s=grace_s,
    )
