"""The provider step cancels what it abandons, at the real fal client's fake queue, once.

The preview runs through the real fal-client against the fake fal queue on loopback; the
other roles are fast fake providers, held by hooks until the moment the test needs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from engine import Books, Engine, EngineConfig, Providers, Role, Stage, StageStatus, retimed
from engine.config import DownloadPolicy
from engine.media.ffmpeg import FFmpeg
from engine.models import DreamResult
from engine.providers.fal import FalModel, FalPreview, FalQueue
from tests.fakes.fal_queue import FakeFalQueue, point_fal_client_at
from tests.fakes.providers import FakeMedia, FakeProviders, Fault, Hook
from tests.surfaces import RecordingSurface

PREVIEW = "fal-ai/fast-animatediff/turbo/text-to-video"
STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."


@pytest.fixture
async def fal(media: FakeMedia, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeFalQueue]:
    async with FakeFalQueue() as queue:
        point_fal_client_at(queue.url, monkeypatch)
        queue.serve(PREVIEW, kind="video", file=media.preview)
        queue.fail(PREVIEW, "never_completes")  # the preview stays IN_PROGRESS for ever
        yield queue


@contextlib.asynccontextmanager
async def engine_with_fal_preview(
    config: EngineConfig, ffmpeg: FFmpeg, books: Books, fake: FakeProviders
) -> AsyncIterator[Engine]:
    allowed = DownloadPolicy(allow_hosts=frozenset({"localhost"}))  # the fake's file host
    queue = FalQueue("key-id:key-secret", poll_s=0.05, downloads=allowed)
    try:
        preview = FalPreview(queue, FalModel(PREVIEW))
        providers = Providers(script=fake, preview=preview, images=fake, clips=fake, voice=fake)
        yield Engine(config, providers, ffmpeg, books=books)
    finally:
        await queue.close()


def script_held_until(condition: asyncio.Event) -> Hook:
    async def hook(role: str, scene: int | None) -> None:
        if role == "script":
            await asyncio.wait_for(condition.wait(), timeout=20)

    return hook


async def start(engine: Engine, surface: RecordingSurface) -> asyncio.Task[DreamResult]:
    request = await engine.admit(STORY, requester="test:1")
    return asyncio.create_task(engine.dream(request, surface))


async def until(predicate: Callable[[], object], timeout_s: float = 20) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout_s)


async def test_a_preview_past_its_deadline_is_cancelled_once(
    books, config, ffmpeg, media, fal
) -> None:
    config = replace(config, roles=retimed(config.roles, {Role.PREVIEW: 0.5}))
    given_up = asyncio.Event()
    fake = FakeProviders(media, hook=script_held_until(given_up))
    surface = RecordingSurface()
    async with engine_with_fal_preview(config, ffmpeg, books, fake) as engine:
        job = await start(engine, surface)
        # The job goes on only once the deadline has passed and the cancel has reached fal.
        await until(lambda: fal.cancels)
        given_up.set()
        result = await job

    assert fal.cancels == fal.submitted_ids(PREVIEW)
    assert len(fal.cancels) == 1
    assert result.progress is not None
    assert result.progress.of(Stage.PREVIEW).status is StageStatus.FAILED
    assert "preview" not in surface.kinds()


async def test_a_preview_superseded_by_the_final_is_cancelled_once(
    books, config, ffmpeg, media, fal
) -> None:
    config = replace(config, roles=retimed(config.roles, {Role.PREVIEW: 60}))
    submitted = asyncio.Event()
    fake = FakeProviders(media, hook=script_held_until(submitted))
    async with engine_with_fal_preview(config, ffmpeg, books, fake) as engine:
        job = await start(engine, RecordingSurface())
        await until(lambda: fal.submitted_ids(PREVIEW))
        submitted.set()  # the final is made while the preview is still running
        result = await job
        assert fal.cancels == fal.submitted_ids(PREVIEW)

    assert len(fal.cancels) == 1
    assert result.progress is not None
    assert result.progress.of(Stage.PREVIEW).status is StageStatus.SKIPPED


async def test_a_stopping_process_keeps_the_preview_request_for_the_resumed_job(
    books, config, ffmpeg, media, fal
) -> None:
    config = replace(config, roles=retimed(config.roles, {Role.PREVIEW: 60}))
    never = asyncio.Event()
    fake = FakeProviders(media, hook=script_held_until(never))
    async with engine_with_fal_preview(config, ffmpeg, books, fake) as engine:
        job = await start(engine, RecordingSurface())
        await until(lambda: fal.submitted_ids(PREVIEW))
        assert await engine.drain(0) == 1
        job.cancel()  # what `dreambot run` does with jobs left after the grace
        with pytest.raises(asyncio.CancelledError):
            await job

    assert fal.cancels == []
    rows = await books.storage.db.fetch(
        "SELECT request_id FROM provider_requests WHERE name = 'preview'"
    )
    assert rows == [(fal.submitted_ids(PREVIEW)[0],)]  # kept for the next start to re-attach


# Cancellation reaches the job whatever the step is doing; ended jobs leave nothing queued.


class SlowCancels(FakeProviders):
    """A provider whose cancel answers only when the test lets it."""

    answer: asyncio.Event
    asked: asyncio.Event

    async def cancel_request(self, request_id: str) -> None:
        self.asked.set()
        await self.answer.wait()
        await super().cancel_request(request_id)


async def job_row(books: Books, job_id: str) -> tuple[str, str]:
    rows = await books.storage.db.fetch("SELECT state, charge FROM jobs WHERE id = ?", (job_id,))
    return rows[0]


async def test_a_cancel_while_a_given_up_request_is_being_cancelled_still_cancels_the_job(
    books, config, ffmpeg, media
) -> None:
    config = replace(config, roles=retimed(config.roles, {Role.SCRIPT: 0.3}))
    fake = SlowCancels(media, faults={"script": {None: Fault.HANG}})
    fake.answer, fake.asked = asyncio.Event(), asyncio.Event()
    engine = Engine(config, Providers(fake, fake, fake, fake, fake), ffmpeg, books=books)
    surface = RecordingSurface()
    job = await start(engine, surface)
    await asyncio.wait_for(fake.asked.wait(), timeout=20)  # the script is past its deadline
    job_id = surface.first("ack").job_id  # type: ignore[attr-defined]
    assert engine.cancel(job_id)
    fake.answer.set()
    with pytest.raises(asyncio.CancelledError):
        await job

    assert await job_row(books, job_id) == ("cancelled", "refunded")
    assert "final" not in surface.kinds()


async def test_a_cancel_while_the_preview_is_being_shown_cancels_the_job(
    books, config, ffmpeg, media
) -> None:
    merged, shown = asyncio.Event(), asyncio.Event()

    def watch(progress: object) -> None:
        if progress.of(Stage.MERGE).status is StageStatus.DONE:  # type: ignore[attr-defined]
            merged.set()

    class SlowPreview(RecordingSurface):
        async def show_preview(self, preview: Path) -> None:
            await shown.wait()  # the upload of the preview takes until the test says
            await super().show_preview(preview)

    fake = FakeProviders(media)
    engine = Engine(config, Providers(fake, fake, fake, fake, fake), ffmpeg, books=books)
    surface = SlowPreview(watch=watch)
    job = await start(engine, surface)
    await asyncio.wait_for(merged.wait(), timeout=30)  # the final waits for the preview
    job_id = surface.first("ack").job_id  # type: ignore[attr-defined]
    assert engine.cancel(job_id)
    with pytest.raises(asyncio.CancelledError):
        await job

    assert await job_row(books, job_id) == ("cancelled", "refunded")
    assert "final" not in surface.kinds()


async def test_a_job_given_up_after_a_restart_cancels_what_it_left_queued(
    books, config, ffmpeg, media
) -> None:
    held: list[int | None] = []
    first = FakeProviders(media, hook=hold("clips", held))
    engine = Engine(config, Providers(first, first, first, first, first), ffmpeg, books=books)
    job = await start(engine, RecordingSurface())
    await until(lambda: len(held) == 3)  # each clip's request is recorded before its call
    await engine.drain(0)
    job.cancel()  # the process stops; the clips stay queued for the resumed job
    with pytest.raises(asyncio.CancelledError):
        await job
    assert first.cancelled == []
    left = await books.storage.db.fetch(
        "SELECT request_id FROM provider_requests WHERE name NOT IN (SELECT name FROM job_files)"
    )

    second = FakeProviders(media)
    providers = Providers(second, second, second, second, second)
    restarted = Engine(config, providers, ffmpeg, books=books)

    async def rebuild(stored: object) -> None:
        return None  # the chat message cannot be found any more

    assert await restarted.resume(rebuild) == []
    assert sorted(second.cancelled) == sorted(request_id for (request_id,) in left)
    assert {r for r in first.submitted if r.startswith("clips")} <= set(second.cancelled)


def hold(role: str, entered: list[int | None]) -> Hook:
    """A hook that keeps every call of ``role`` waiting for ever, noting each that came."""

    async def hook(called: str, scene: int | None) -> None:
        if called == role:
            entered.append(scene)
            await asyncio.Event().wait()

    return hook
