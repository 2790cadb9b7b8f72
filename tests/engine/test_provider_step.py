"""The provider step cancels what it abandons, at the real fal client's fake queue, once.

The preview runs through the real fal-client against the fake fal queue on loopback; the
other roles are fast fake providers, held by hooks until the moment the test needs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest

from engine import Books, Engine, EngineConfig, Providers, Role, Stage, StageStatus, retimed
from engine.media.ffmpeg import FFmpeg
from engine.models import DreamResult
from engine.providers.fal import FalModel, FalPreview, FalQueue
from tests.fakes.fal_queue import FakeFalQueue, point_fal_client_at
from tests.fakes.providers import FakeMedia, FakeProviders, Hook
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
    queue = FalQueue("key-id:key-secret", poll_s=0.05)
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
