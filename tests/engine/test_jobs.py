"""Jobs with storage: charged on delivery, refunded on failure or cancel, resumed after a crash."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from engine import Engine, Providers, Role, StageFailedError, StoryRejectedError, retimed
from engine.books import Books
from engine.models import JobFailure, Stage
from engine.progress import ProgressSnapshot
from engine.storage import Storage, StoredJob
from engine.storage.ledger import QuotaPolicy
from tests.fakes.providers import FakeProviders, Fault
from tests.surfaces import RecordingSurface

STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."
USER = "telegram:42"


class PreviewWatch(RecordingSurface):
    """Says when the preview has been shown."""

    def __init__(self) -> None:
        super().__init__()
        self.shown = asyncio.Event()

    async def show_preview(self, preview: Path) -> None:
        await super().show_preview(preview)
        self.shown.set()


@pytest.fixture
async def storage(location):
    opened = await Storage.open(location, QuotaPolicy(daily_quota=5))
    yield opened
    await opened.close()


def engine_for(config, ffmpeg, fake, storage, use_cache=False) -> Engine:
    providers = Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake)
    return Engine(config, providers, ffmpeg, books=Books(storage), use_cache=use_cache)


async def job_state(storage: Storage, job_id: str) -> tuple[str, str]:
    rows = await storage.db.fetch("SELECT state, charge FROM jobs WHERE id = ?", (job_id,))
    return rows[0]


async def test_delivery_charges_and_failure_refunds(config, ffmpeg, media, storage) -> None:
    engine = engine_for(config, ffmpeg, FakeProviders(media), storage)
    delivered = await engine.admit(STORY, requester=USER)
    await engine.dream(delivered, RecordingSurface(), surface_ref="chat:1/message:7")

    assert await job_state(storage, delivered.job_id) == ("delivered", "committed")
    stored = await storage.db.fetch("SELECT surface FROM jobs WHERE id = ?", (delivered.job_id,))
    assert stored == [("chat:1/message:7",)]

    broken = engine_for(
        config, ffmpeg, FakeProviders(media, faults={"script": {None: Fault.ERROR}}), storage
    )
    failed = await broken.admit(STORY, requester=USER)
    with pytest.raises(StageFailedError):
        await broken.dream(failed, RecordingSurface())

    assert await job_state(storage, failed.job_id) == ("failed", "refunded")
    assert (await storage.ledger.show(USER)).used == 1


async def test_cancel_stops_refunds_once_and_tells_the_surface(
    config, ffmpeg, media, storage
) -> None:
    images_done = asyncio.Event()

    def watch(progress: ProgressSnapshot) -> None:
        if progress.of(Stage.IMAGES).done == 3:
            images_done.set()

    async def hold(role: str, scene: int | None) -> None:
        if role == "clips":
            await asyncio.Event().wait()  # clips never finish: only a cancel ends this job

    fake = FakeProviders(media, hook=hold)
    engine = engine_for(config, ffmpeg, fake, storage)
    request = await engine.admit(STORY, requester=USER)
    surface = RecordingSurface(watch=watch)
    job = asyncio.create_task(engine.dream(request, surface))
    await asyncio.wait_for(images_done.wait(), timeout=30)

    assert engine.cancel(request.job_id) is True
    with pytest.raises(asyncio.CancelledError):
        await job

    assert engine.cancel(request.job_id) is False
    assert await job_state(storage, request.job_id) == ("cancelled", "refunded")
    queued_clips = sorted(r for r in fake.submitted if r.startswith("clips"))
    assert len(queued_clips) == 3
    assert set(queued_clips) <= set(fake.cancelled)  # nobody pays for clips nobody will see
    assert set(fake.cancelled) <= set(fake.submitted)
    failure = surface.first("fail")
    assert isinstance(failure, JobFailure) and failure.cancelled
    assert (await storage.ledger.show(USER)).used == 0


async def test_a_restart_resumes_and_re_attaches_without_resubmitting(
    config, ffmpeg, media, storage, location
) -> None:
    # Held clips must not hit their deadline however slow the machine: the "crash" ends them.
    config = replace(
        config,
        roles=retimed(
            config.roles, {Role.SCRIPT: 120, Role.PREVIEW: 120, Role.IMAGES: 120, Role.CLIPS: 120}
        ),
    )
    clips_submitted = asyncio.Event()
    first = FakeProviders(media)
    surface = PreviewWatch()

    async def hold(role: str, scene: int | None) -> None:
        if role == "clips":
            # The preview is kept right after it is shown, ahead of this hook's query on
            # the database's lock, so the restarted job finds it kept.
            await surface.shown.wait()
            # Each call's id is stored before its hook runs, so the hook of the last one
            # stored sees all three in the database.
            recorded = await storage.db.fetch(
                "SELECT count(*) FROM provider_requests WHERE name LIKE 'clip_%'"
            )
            if recorded == [(3,)]:
                clips_submitted.set()
            await asyncio.Event().wait()  # the process "dies" while clips are queued

    first.hook = hold
    # The first process has books of its own (its own connection, and its own job claims).
    gone = await Storage.open(location, QuotaPolicy(daily_quota=5))
    engine = engine_for(config, ffmpeg, first, gone)
    request = await engine.admit(STORY, requester=USER)
    job = asyncio.create_task(engine.dream(request, surface, surface_ref="msg:1"))
    await asyncio.wait_for(clips_submitted.wait(), timeout=30)
    job.cancel()  # not engine.cancel(): this is the process going away, not the user
    with pytest.raises(asyncio.CancelledError):
        await job
    await gone.close()
    assert await job_state(storage, request.job_id) == ("running", "reserved")

    # A new process: the same remote provider (its queue remembers what was submitted).
    before = list(first.submitted)
    second = FakeProviders(media, submitted=list(before))
    restarted = engine_for(config, ffmpeg, second, storage)
    surfaces: dict[str, RecordingSurface] = {}

    async def rebuild(stored: StoredJob) -> RecordingSurface:
        assert stored.surface == "msg:1"
        surfaces[stored.job_id] = RecordingSurface()
        return surfaces[stored.job_id]

    tasks = await restarted.resume(rebuild)
    results = await asyncio.gather(*tasks)

    assert [r.job_id for r in results] == [request.job_id]
    kinds = surfaces[request.job_id].kinds()
    assert "final" in kinds and "ack" not in kinds and "preview" not in kinds
    clip_ids = sorted(r for r in before if r.startswith("clips"))
    assert len(clip_ids) == 3
    assert sorted(r for r in second.attached if r.startswith("clips")) == clip_ids  # by id...
    assert [r for r in second.submitted[len(before) :] if r.startswith("clips")] == []  # once
    assert second.calls_of("images") == []  # finished parts are not made twice
    assert second.calls_of("script") == []
    assert await job_state(storage, request.job_id) == ("delivered", "committed")


async def test_a_job_that_cannot_resume_fails_with_a_refund(
    config, ffmpeg, media, storage, location
) -> None:
    gone = await Storage.open(location, QuotaPolicy(daily_quota=5))  # the process before
    request = await engine_for(config, ffmpeg, FakeProviders(media), gone).admit(
        STORY, requester=USER
    )
    await gone.jobs.start(request.job_id, Path("/nonexistent"), "gone")
    await gone.close()
    engine = engine_for(config, ffmpeg, FakeProviders(media), storage)

    async def rebuild(stored: StoredJob) -> None:
        return None  # the adapter cannot find the message any more

    assert await engine.resume(rebuild) == []
    assert await job_state(storage, request.job_id) == ("failed", "refunded")


async def test_a_repeated_story_costs_no_provider_call(config, ffmpeg, media, storage, tmp_path):
    first = FakeProviders(media)
    engine = engine_for(config, ffmpeg, first, storage, use_cache=True)
    await engine.dream(await engine.admit(STORY, requester=USER), RecordingSurface())
    assert {call.role for call in first.calls} == {"script", "preview", "images", "clips", "voice"}

    second = FakeProviders(media)
    again = engine_for(config, ffmpeg, second, storage, use_cache=True)
    surface = RecordingSurface()
    result = await again.dream(await again.admit(STORY, requester=USER), surface)

    assert second.calls == []
    assert "final" in surface.kinds() and len(result.scenes) == 3

    third = FakeProviders(media)
    other_seed = engine_for(config, ffmpeg, third, storage, use_cache=True)
    await other_seed.dream(
        await other_seed.admit(STORY, requester=USER, seed=99), RecordingSurface()
    )
    assert third.calls_of("voice") == []  # narration does not depend on the seed
    assert len(third.calls_of("images")) == 3  # pictures do


async def test_draining_refuses_new_work_and_lets_running_jobs_finish(
    config, ffmpeg, media, storage
) -> None:
    clips_started, release = asyncio.Event(), asyncio.Event()

    async def hold(role: str, scene: int | None) -> None:
        if role == "clips":
            clips_started.set()
            await release.wait()

    engine = engine_for(config, ffmpeg, FakeProviders(media, hook=hold), storage)
    running = await engine.admit(STORY, requester=USER)
    job = asyncio.create_task(engine.dream(running, RecordingSurface()))
    await asyncio.wait_for(clips_started.wait(), timeout=30)

    draining = asyncio.ensure_future(engine.drain(grace_s=60))  # the door closes at the call
    with pytest.raises(StoryRejectedError, match="restarting"):
        await engine.admit(STORY, requester="telegram:7")
    assert (await storage.ledger.show("telegram:7")).used == 0
    assert not draining.done()

    release.set()
    assert await asyncio.wait_for(draining, timeout=30) == 0
    await job
    assert await job_state(storage, running.job_id) == ("delivered", "committed")


async def test_a_job_still_running_after_the_grace_is_left_to_resume(
    config, ffmpeg, media, storage
) -> None:
    clips_started = asyncio.Event()

    async def hang(role: str, scene: int | None) -> None:
        if role == "clips":
            clips_started.set()
            await asyncio.Event().wait()

    engine = engine_for(config, ffmpeg, FakeProviders(media, hook=hang), storage)
    request = await engine.admit(STORY, requester=USER)
    job = asyncio.create_task(engine.dream(request, RecordingSurface()))
    await asyncio.wait_for(clips_started.wait(), timeout=30)

    assert await engine.drain(grace_s=0.05) == 1
    job.cancel()  # what `dreambot run` does with the jobs left after the grace
    with pytest.raises(asyncio.CancelledError):
        await job
    assert await job_state(storage, request.job_id) == ("running", "reserved")
    stored = await storage.jobs.unfinished()
    assert [s.job_id for s in stored] == [request.job_id]
    assert "script" in stored[0].files  # the checkpoint it resumes from
