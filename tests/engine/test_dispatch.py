"""Cancelling a job that workers run, from its adapter, on a real PostgreSQL and the real
procrastinate: wherever the job is (waiting in the queue, running, or left by a worker
that died after the cancel was asked), it ends cancelled, refunded once and told once.

Each side opens its own books, as separate processes do (claims are per connection).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest

from engine import Books, Engine
from engine.dispatch import Dispatch, RemoteJobs, open_dispatch, work_queue
from engine.models import Action, JobFailure
from engine.ports import Providers
from engine.storage import Storage
from engine.storage.ledger import QuotaPolicy
from tests.engine.test_jobs import STORY
from tests.fakes.providers import FakeProviders
from tests.postgres import fresh_schema
from tests.surfaces import RecordingSurface

USER = "telegram:1"


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema() as fresh:
        yield fresh


@contextlib.asynccontextmanager
async def side(url: str) -> AsyncIterator[tuple[Books, Dispatch]]:
    """One process's books and queue."""
    books = Books(await Storage.open(url, QuotaPolicy(daily_quota=5)))
    dispatch = await open_dispatch(url, books)
    try:
        yield books, dispatch
    finally:
        await dispatch.close()
        await books.storage.close()


@contextlib.asynccontextmanager
async def worker_running(url: str, config, ffmpeg, fake: FakeProviders) -> AsyncIterator[None]:
    """A worker process's queue loop, on books of its own, stopped after."""
    async with side(url) as (books, dispatch):
        worker = engine_on(config, ffmpeg, fake, books, None)
        working = asyncio.create_task(
            work_queue(dispatch, worker, concurrency=1, heartbeat_s=0.2, stall_s=5, grace_s=0)
        )
        try:
            yield
        finally:
            working.cancel()
            await asyncio.gather(working, return_exceptions=True)


def engine_on(config, ffmpeg, fake: FakeProviders, books: Books, dispatch: Dispatch | None):
    providers = Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake)
    enqueue = dispatch.defer_in if dispatch is not None else None
    return Engine(config, providers, ffmpeg, books=books, enqueue=enqueue)


@contextlib.asynccontextmanager
async def adapter_with_a_job(
    url: str, config, ffmpeg, media
) -> AsyncIterator[tuple[Books, RemoteJobs, str]]:
    """An adapter's books and remote jobs, and one story it admitted (queued)."""
    async with side(url) as (books, dispatch):
        adapter = engine_on(config, ffmpeg, FakeProviders(media), books, dispatch)
        request = await adapter.admit(STORY, requester=USER)
        yield books, RemoteJobs(adapter, dispatch, url, poll_s=0.1), request.job_id


async def ended(books: Books, job_id: str) -> tuple[object, ...]:
    [row] = await books.storage.db.fetch("SELECT state, charge FROM jobs WHERE id = ?", (job_id,))
    return tuple(row)


async def queue_states(books: Books) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await books.storage.db.fetch(
        "SELECT status, abort_requested FROM procrastinate_jobs"
    )]  # fmt: skip


def told_cancelled(surface: RecordingSurface) -> None:
    failure = surface.first("fail")
    assert isinstance(failure, JobFailure)
    assert failure.cancelled and failure.refunded  # "nothing was charged", and it is so
    assert surface.kinds().count("fail") == 1
    assert surface.events[-1] == ("actions", (Action.REGENERATE,))
    assert "final" not in surface.kinds()


async def test_a_job_waiting_for_a_worker_is_cancelled_by_its_adapter(
    url: str, config, ffmpeg, media
) -> None:
    async with adapter_with_a_job(url, config, ffmpeg, media) as (books, remote, job_id):
        assert (await books.storage.ledger.show(USER)).used == 1

        assert await remote.cancel(job_id)
        surface = RecordingSurface()
        await asyncio.wait_for(remote.follow(job_id, surface), 30)

        told_cancelled(surface)
        assert await ended(books, job_id) == ("cancelled", "refunded")
        assert (await books.storage.ledger.show(USER)).used == 0
        # Off the queue: no worker takes it up later.
        assert await queue_states(books) == [("cancelled", False)]
        assert not await remote.cancel(job_id)  # ended: nothing to cancel


async def test_a_job_a_worker_runs_is_stopped_by_that_worker(
    url: str, config, ffmpeg, media
) -> None:
    reached = asyncio.Event()

    async def hold_clips(role: str, scene: int | None) -> None:
        if role == "clips":
            reached.set()
            await asyncio.Event().wait()  # until cancelled

    async with adapter_with_a_job(url, config, ffmpeg, media) as (books, remote, job_id):
        async with worker_running(url, config, ffmpeg, FakeProviders(media, hook=hold_clips)):
            surface = RecordingSurface()
            following = asyncio.create_task(remote.follow(job_id, surface))
            await asyncio.wait_for(reached.wait(), 30)

            assert await remote.cancel(job_id)  # asked of the worker that holds it
            await asyncio.wait_for(following, 30)

        told_cancelled(surface)
        assert "ack" in surface.kinds()  # the worker's run, not the adapter, told it
        assert await ended(books, job_id) == ("cancelled", "refunded")
        assert (await books.storage.ledger.show(USER)).used == 0


async def test_a_cancel_its_dead_worker_never_carried_out_is_settled_by_another(
    url: str, config, ffmpeg, media
) -> None:
    async with adapter_with_a_job(url, config, ffmpeg, media) as (books, remote, job_id):
        # A worker takes the job and holds its claim, then dies before it hears the cancel.
        async with side(url) as (doomed_books, doomed_dispatch):
            manager = doomed_dispatch.app.job_manager
            dead = await manager.register_worker()
            assert await manager.fetch_job(queues=None, worker_id=dead) is not None
            assert await doomed_books.storage.db.claim(job_id) is True
            assert await remote.cancel(job_id)  # an abort: its worker holds it
        await books.storage.db.fetch(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'"
        )
        assert await queue_states(books) == [("doing", True)]

        async with worker_running(url, config, ffmpeg, FakeProviders(media)):
            surface = RecordingSurface()
            await asyncio.wait_for(remote.follow(job_id, surface), 30)

        told_cancelled(surface)
        assert await ended(books, job_id) == ("cancelled", "refunded")
        assert (await books.storage.ledger.show(USER)).used == 0
        assert await queue_states(books) == [("failed", True)]  # never run again


async def test_a_cancel_while_another_process_holds_the_job_is_kept_for_whoever_runs_it(
    url: str, config, ffmpeg, media
) -> None:
    """A worker stopping still holds the job it queued again: the cancel is recorded, the
    person hears it is cancelling, and the next worker to take the job settles it unrun."""
    async with adapter_with_a_job(url, config, ffmpeg, media) as (books, remote, job_id):
        async with side(url) as (stopping_books, _):
            assert await stopping_books.storage.db.claim(job_id) is True
            assert await remote.cancel(job_id)  # not "it has already finished"
            assert await ended(books, job_id) == ("admitted", "reserved")
        fake = FakeProviders(media)
        async with worker_running(url, config, ffmpeg, fake):
            surface = RecordingSurface()
            await asyncio.wait_for(remote.follow(job_id, surface), 30)

        told_cancelled(surface)
        assert "ack" not in surface.kinds() and fake.calls == []  # never run
        assert await ended(books, job_id) == ("cancelled", "refunded")
        assert (await books.storage.ledger.show(USER)).used == 0
