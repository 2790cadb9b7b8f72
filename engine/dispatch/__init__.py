"""Adapters and workers on one PostgreSQL (``dreambot run --role adapter|worker``): jobs
queued by procrastinate, their surfaces' calls relayed through the database.

Imported only for those roles: it needs the ``postgres`` extra (psycopg, procrastinate).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from engine.books import Books
from engine.dispatch.events import EventLog
from engine.dispatch.follow import Follower
from engine.dispatch.queue import Dispatch, JobBusyError
from engine.dispatch.relay import RelaySurface
from engine.pipeline import Engine

__all__ = ["Dispatch", "Follower", "follower_for", "open_dispatch", "work_queue"]

# How long a worker waits for the adapter to say the chat took the final: long enough for
# an adapter restart, after which the job fails (refunded) rather than hang.
DELIVERY_WAIT_S = 600.0


async def open_dispatch(url: str, books: Books) -> Dispatch:
    """The queue on the books' server, its tables made the first time."""
    dispatch = Dispatch(url)
    await dispatch.open(books.storage.db)
    return dispatch


def follower_for(url: str, books: Books, work_dir: Path, *, poll_s: float) -> Follower:
    """What an adapter applies its jobs' events with."""
    storage = books.storage
    return Follower(EventLog(storage.db), storage.jobs, url, work_dir, poll_s=poll_s)


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

    await dispatch.work(
        run, concurrency=concurrency, heartbeat_s=heartbeat_s, stall_s=stall_s, grace_s=grace_s
    )
