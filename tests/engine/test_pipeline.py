"""The pipeline end to end with fake providers and real ffmpeg on tiny media."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from engine import (
    Books,
    Engine,
    EngineConfig,
    Providers,
    Role,
    Stage,
    StageFailedError,
    StageStatus,
    retimed,
)
from engine.errors import TransientError
from engine.media.ffmpeg import FFmpeg
from engine.media.probe import probe
from engine.models import DreamResult, JobFailure, VisualKind
from engine.progress import ProgressSnapshot
from tests.fakes.providers import FakeMedia, FakeProviders, Fault
from tests.processes import ffmpeg_children, first_ffmpeg_children, is_gone
from tests.surfaces import RecordingSurface

STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."


def build(books: Books, config: EngineConfig, ffmpeg: FFmpeg, fake: FakeProviders) -> Engine:
    providers = Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake)
    return Engine(config, providers, ffmpeg, books=books)


async def run_job(engine: Engine, surface: RecordingSurface) -> DreamResult:
    return await engine.dream(await engine.admit(STORY, requester="test:1"), surface)


def progress_of(surface: RecordingSurface, stage: Stage) -> list[StageStatus]:
    return [p.of(stage).status for k, p in surface.events if isinstance(p, ProgressSnapshot)]


async def test_preview_reaches_the_surface_before_the_final(books, config, ffmpeg, media) -> None:
    surface = RecordingSurface()
    result = await run_job(build(books, config, ffmpeg, FakeProviders(media)), surface)

    kinds = surface.kinds()
    assert kinds[0] == "ack"
    assert kinds.index("preview") < kinds.index("final")
    assert "progress" not in kinds[kinds.index("final") :]
    assert result.preview is not None
    assert (await probe(ffmpeg, result.preview)).video is not None


async def test_a_preview_later_than_the_final_is_dropped(books, config, ffmpeg, media) -> None:
    fake = FakeProviders(media, faults={"preview": {None: Fault.HANG}})
    surface = RecordingSurface()
    result = await run_job(build(books, config, ffmpeg, fake), surface)

    assert "preview" not in surface.kinds()
    assert surface.kinds().count("final") == 1
    assert result.preview is None


@pytest.mark.parametrize("fault", [Fault.CORRUPT, Fault.CRASH])
async def test_a_failed_preview_never_fails_the_job(books, config, ffmpeg, media, fault) -> None:
    fake = FakeProviders(media, faults={"preview": {None: fault}})
    surface = RecordingSurface()
    await run_job(build(books, config, ffmpeg, fake), surface)

    assert "preview" not in surface.kinds()
    assert "final" in surface.kinds()
    assert StageStatus.FAILED in progress_of(surface, Stage.PREVIEW)


async def test_scene_chains_run_at_the_same_time(books, config, ffmpeg, media) -> None:
    scenes = 4
    barriers = {"images": asyncio.Barrier(scenes), "clips": asyncio.Barrier(scenes)}

    async def hold(role: str, scene: int | None) -> None:
        # Every image call must be in flight at once before any may finish: a pipeline
        # that runs scenes one after another never gets past the barrier.
        if role in barriers:
            await asyncio.wait_for(barriers[role].wait(), timeout=20)

    fake = FakeProviders(media, scenes=scenes, hook=hold)
    result = await run_job(build(books, config, ffmpeg, fake), RecordingSurface())

    assert [scene.visual for scene in result.scenes] == [VisualKind.CLIP] * scenes
    images, voices = fake.calls_of("images"), fake.calls_of("voice")
    assert max(call.started for call in images) < min(call.ended for call in images)
    # narration runs alongside the pictures, not after them
    assert min(call.started for call in voices) < max(call.ended for call in images)


async def test_each_scene_is_assembled_as_soon_as_its_parts_exist(
    books, config, ffmpeg, media
) -> None:
    first_scene_done = asyncio.Event()

    def watch(progress: ProgressSnapshot) -> None:
        if progress.of(Stage.SCENES).done >= 1:
            first_scene_done.set()

    async def hold(role: str, scene: int | None) -> None:
        # Scenes 1 and 2 cannot get their clips until scene 0 has been assembled.
        if role == "clips" and scene != 0:
            await asyncio.wait_for(first_scene_done.wait(), timeout=20)

    fake = FakeProviders(media, hook=hold)
    result = await run_job(build(books, config, ffmpeg, fake), RecordingSurface(watch=watch))

    assert [scene.visual for scene in result.scenes] == [VisualKind.CLIP] * 3


async def test_final_matches_the_narration_scene_by_scene(books, config, ffmpeg, media) -> None:
    result = await run_job(build(books, config, ffmpeg, FakeProviders(media)), RecordingSurface())

    narration = (await probe(ffmpeg, media.narration)).duration_s
    assert narration is not None
    assert len(result.scenes) == 3
    for scene in result.scenes:
        assert abs(scene.duration_s - narration) <= 0.1
        info = await probe(ffmpeg, scene.path)
        assert info.duration_s is not None and abs(info.duration_s - narration) <= 0.1
    final = await probe(ffmpeg, result.final)
    assert final.video is not None and final.video.codec == "h264"
    assert (final.video.width, final.video.height) == (160, 90)
    assert final.audio is not None and final.audio.codec == "aac"
    assert final.duration_s is not None
    assert abs(final.duration_s - 3 * narration) <= 0.1 * 3


@pytest.mark.parametrize("fault", [Fault.ERROR, Fault.CORRUPT, Fault.HANG, Fault.CRASH])
async def test_a_failed_clip_falls_back_to_the_image(books, config, ffmpeg, media, fault) -> None:
    config = replace(config, roles=retimed(config.roles, {Role.CLIPS: 0.5}))
    fake = FakeProviders(media, faults={"clips": {1: fault}})
    surface = RecordingSurface()
    result = await run_job(build(books, config, ffmpeg, fake), surface)

    kinds = [scene.visual for scene in result.scenes]
    assert kinds == [VisualKind.CLIP, VisualKind.IMAGE, VisualKind.CLIP]
    assert "final" in surface.kinds()


@pytest.mark.parametrize("fault", [Fault.ERROR, Fault.CORRUPT, Fault.REFUSED])
async def test_a_failed_image_falls_back_to_a_title_card(
    books, config, ffmpeg, media, fault
) -> None:
    fake = FakeProviders(media, faults={"images": {2: fault}})
    result = await run_job(build(books, config, ffmpeg, fake), RecordingSurface())

    assert result.scenes[2].visual is VisualKind.TITLE_CARD
    assert 2 not in [call.scene for call in fake.calls_of("clips")]


async def test_a_failed_narration_falls_back_to_silence(books, config, ffmpeg, media) -> None:
    fake = FakeProviders(media, faults={"voice": {0: Fault.ERROR}})
    result = await run_job(build(books, config, ffmpeg, fake), RecordingSurface())

    assert [scene.spoken for scene in result.scenes] == [False, True, True]
    info = await probe(ffmpeg, result.scenes[0].path)
    assert info.audio is not None


async def test_one_good_scene_is_enough_to_deliver(books, config, ffmpeg, media) -> None:
    fake = FakeProviders(media, faults={"images": {0: Fault.ERROR, 1: Fault.ERROR}})
    surface = RecordingSurface()
    result = await run_job(build(books, config, ffmpeg, fake), surface)

    assert [s.visual for s in result.scenes] == [
        VisualKind.TITLE_CARD,
        VisualKind.TITLE_CARD,
        VisualKind.CLIP,
    ]
    assert "final" in surface.kinds()


async def test_no_picture_for_any_scene_fails_at_images(books, config, ffmpeg, media) -> None:
    fake = FakeProviders(media, faults={"images": {None: Fault.ERROR}})
    surface = RecordingSurface()
    with pytest.raises(StageFailedError) as failed:
        await run_job(build(books, config, ffmpeg, fake), surface)

    assert failed.value.stage is Stage.IMAGES
    failure = surface.first("fail")
    assert isinstance(failure, JobFailure) and failure.stage is Stage.IMAGES
    assert "final" not in surface.kinds()


async def test_no_voice_for_any_scene_fails_at_narration(books, config, ffmpeg, media) -> None:
    fake = FakeProviders(media, faults={"voice": {None: Fault.BUSY}})
    with pytest.raises(StageFailedError) as failed:
        await run_job(build(books, config, ffmpeg, fake), RecordingSurface())
    assert failed.value.stage is Stage.NARRATION


async def test_scenes_that_cannot_be_assembled_fail_at_scenes(books, config, ffmpeg, media) -> None:
    broken = replace(config, render=replace(config.render, preset="no-such-preset"))
    surface = RecordingSurface()
    with pytest.raises(StageFailedError) as failed:
        await run_job(build(books, broken, ffmpeg, FakeProviders(media)), surface)

    assert failed.value.stage is Stage.SCENES
    assert surface.kinds()[-2:] == ["fail", "actions"]


async def test_a_failed_script_fails_at_script(books, config, ffmpeg, media) -> None:
    fake = FakeProviders(media, faults={"script": {None: Fault.ERROR}})
    surface = RecordingSurface()
    with pytest.raises(StageFailedError) as failed:
        await run_job(build(books, config, ffmpeg, fake), surface)

    assert failed.value.stage is Stage.SCRIPT
    assert fake.calls_of("images") == []
    failure = surface.first("fail")
    assert isinstance(failure, JobFailure)
    assert "fake" not in str(failure.reason)  # provider text never reaches the user


async def test_cancelling_a_job_kills_its_ffmpeg(books, config, ffmpeg, tmp_path) -> None:
    slow = await FakeMedia.make(ffmpeg, tmp_path / "slow", narration_s=120)
    big = replace(config, render=replace(config.render, width=1280, height=720, preset="slow"))
    job = asyncio.create_task(
        run_job(build(books, big, ffmpeg, FakeProviders(slow)), RecordingSurface())
    )

    running = await first_ffmpeg_children()
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job

    assert ffmpeg_children() == []
    assert all(is_gone(pid) for pid in running)


async def test_transient_errors_are_retried_then_succeed(books, config, ffmpeg, media) -> None:
    busy_once: set[int | None] = set()

    async def busy_first_time(role: str, scene: int | None) -> None:
        if role == "images" and scene not in busy_once:
            busy_once.add(scene)
            raise TransientError("busy", retry_after=0.01)

    fake = FakeProviders(media, hook=busy_first_time)
    result = await run_job(build(books, config, ffmpeg, fake), RecordingSurface())

    assert [scene.visual for scene in result.scenes] == [VisualKind.CLIP] * 3
    assert busy_once == {0, 1, 2}


async def test_permanent_errors_are_not_retried(books, config, ffmpeg, media) -> None:
    fake = FakeProviders(media, faults={"images": {1: Fault.ERROR}})
    await run_job(build(books, config, ffmpeg, fake), RecordingSurface())

    assert [call.scene for call in fake.calls_of("images")].count(1) == 1


async def test_retries_are_bounded(books, config, ffmpeg, media) -> None:
    fake = FakeProviders(media, faults={"clips": {0: Fault.BUSY}})
    result = await run_job(build(books, config, ffmpeg, fake), RecordingSurface())

    assert result.scenes[0].visual is VisualKind.IMAGE
    assert [call.scene for call in fake.calls_of("clips")].count(0) == config.retry.attempts


async def test_each_stage_is_logged_once_with_structured_fields(
    books, config, ffmpeg, media, caplog
) -> None:
    caplog.set_level("INFO", logger="engine.job")
    result = await run_job(build(books, config, ffmpeg, FakeProviders(media)), RecordingSurface())

    lines = [r for r in caplog.records if hasattr(r, "stage")]
    # Delivery is logged only when it fails: the lines are written as the video leaves.
    assert sorted(r.stage for r in lines) == sorted(
        s.value for s in Stage if s is not Stage.DELIVERY
    )
    for record in lines:
        assert record.job_id == result.job_id
        assert record.status == "done" and record.duration_s >= 0
        assert record.provider == ("ffmpeg" if record.stage in {"scenes", "merge"} else "fake/1")
