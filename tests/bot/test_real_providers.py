"""Real fal and OpenAI clients, chosen from settings, against protocol fakes on loopback."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from bot.providers import Built, build_providers
from bot.settings import Settings
from engine import (
    Engine,
    EngineConfig,
    Role,
    Stage,
    StageFailedError,
    StoryRejectedError,
    UsageError,
    retimed,
)
from engine.books import Books
from engine.media.measure import count_video
from engine.media.probe import probe
from engine.models import Aspect, DreamResult, Look, VisualKind
from engine.progress import ProgressSnapshot
from engine.storage import Storage
from engine.storage.ledger import QuotaPolicy
from tests.conftest import TINY
from tests.fakes.fal_queue import FakeFalQueue, point_fal_client_at
from tests.fakes.hostile import png_claiming, truncated_clip
from tests.fakes.openai_server import OpenAIFake
from tests.fakes.providers import FakeMedia
from tests.fakes.web_host import WebHost
from tests.surfaces import RecordingSurface

STORY = (
    "A lighthouse keeper lived alone on a rocky island. One night a storm rolled in. "
    "He climbed the tower and lit the lamp. By morning the storm had become his friend."
)
FAL_KEY = "3f9a2c1e-7b4d-4e8a-9c6f-5d2b1a0e9f87:6c1d0b9a8e7f6a5b4c3d2e1f0a9b8c7d"
OPENAI_KEY = "sk-proj-Zx8vQ2mN4pL6kJ9hG3fD5sA7wE1rT0yU2iO4pA6sD8fG0hJ"
PREVIEW, IMAGE, CLIP = (
    "fal-ai/fast-animatediff/turbo/text-to-video",
    "fal-ai/flux/schnell",
    "fal-ai/wan/v2.2-a14b/image-to-video/turbo",
)


def script_for(request: dict[str, Any]) -> dict[str, Any]:
    """A script with as many scenes as the request's instructions ask for."""
    count = int(re.search(r"exactly (\d+) scenes", request["messages"][0]["content"])[1])
    return {
        "title": "The Keeper",
        "style": "storybook watercolour, the keeper in a red scarf",
        "scenes": [
            {"narration": f"Scene {n} of the keeper's night.", "visual_prompt": f"view {n}"}
            for n in range(count)
        ],
    }


@dataclass
class Services:
    fal: FakeFalQueue
    openai: OpenAIFake


@pytest.fixture
async def services(media: FakeMedia, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Services]:
    async with FakeFalQueue(oversized_bytes=3 * 2**20) as fal, OpenAIFake() as openai:
        point_fal_client_at(fal.url, monkeypatch)
        fal.serve(PREVIEW, kind="video", file=media.preview)
        fal.serve(IMAGE, kind="image", file=media.image, steps_in_queue=2)
        fal.serve(CLIP, kind="video", file=media.clip, steps_in_queue=3, steps_in_progress=2)
        openai.default_chat = script_for
        openai.speech_file = media.narration
        openai.flag_words = {"kill": "violence"}
        monkeypatch.setenv("FAL_KEY", FAL_KEY)
        monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", openai.base_url)
        monkeypatch.setenv("DREAMBOT_FAL_POLL_S", "0.01")
        monkeypatch.setenv("DREAMBOT_MAX_DOWNLOAD_MB", "1")
        # The fake's files are on "localhost"; 127.0.0.1 itself stays refused.
        monkeypatch.setenv("DREAMBOT_DOWNLOAD_ALLOW_HOSTS", "localhost")
        yield Services(fal, openai)


@pytest.fixture
async def storage(tmp_path) -> AsyncIterator[Storage]:
    opened = await Storage.open(tmp_path / "db.sqlite3", QuotaPolicy(daily_quota=10))
    yield opened
    await opened.close()


async def dream(
    config: EngineConfig,
    ffmpeg,
    storage: Storage,
    surface: RecordingSurface,
    story: str = STORY,
    look: Look | None = None,
) -> tuple[DreamResult, Built]:
    built = build_providers(Settings(), ffmpeg, config.render)
    engine = Engine(
        config, built.providers, ffmpeg, books=Books(storage), estimate_cost=built.estimate_cost
    )
    try:
        request = await engine.admit(story, requester="telegram:5", look=look)
        result = await asyncio.wait_for(engine.dream(request, surface), timeout=120)
    finally:
        await built.close()
    return result, built


async def test_a_story_becomes_a_video_through_fal_and_openai(
    config, ffmpeg, services, storage
) -> None:
    queue_places: list[int] = []

    def watch(progress: ProgressSnapshot) -> None:
        if (place := progress.of(Stage.CLIPS).queue_position) is not None:
            queue_places.append(place)

    surface = RecordingSurface(watch=watch)
    result, built = await dream(config, ffmpeg, storage, surface)

    assert built.choice == dict.fromkeys(("script", "voice"), "openai") | dict.fromkeys(
        ("preview", "images", "clips"), "fal"
    )
    assert [scene.visual for scene in result.scenes] == [VisualKind.CLIP] * 3
    assert all(scene.spoken for scene in result.scenes)
    fal = services.fal
    assert [len(fal.submitted_ids(app)) for app in (PREVIEW, IMAGE, CLIP)] == [1, 3, 3]
    assert {s.authorization for s in fal.submissions} == {f"Key {FAL_KEY}"}
    clip_inputs = [s.arguments["image_url"] for s in fal.submissions if s.app == CLIP]
    assert all(url.startswith(fal.files_url + "/files/") for url in clip_inputs)  # by URL
    assert [len(services.openai.calls(e)) for e in ("moderation", "chat", "speech")] == [1, 1, 3]
    assert queue_places and min(queue_places) >= 1  # "clips 1/3 · queue #2" was shown
    cost = (await storage.db.fetch("SELECT cost_micros, charge FROM jobs"))[0]
    assert cost == (round(1e6 * (0.01 + 0.002 + 3 * (0.003 + 0.10 + 0.003))), "committed")


async def test_a_tall_job_asks_fal_for_tall_pictures_and_speaks_in_the_chosen_voice(
    config, ffmpeg, services, storage
) -> None:
    look = Look(aspect=Aspect.TALL, voice="coral", captions=False)
    result, _ = await dream(config, ffmpeg, storage, RecordingSurface(), look=look)

    asked = [s.arguments["image_size"] for s in services.fal.submissions if s.app == IMAGE]
    # The operator's 160x90, stood upright: the short side kept.
    assert asked == [{"width": 90, "height": 160}] * 3
    for scene in result.scenes:
        video = (await probe(ffmpeg, scene.path)).video
        assert video is not None and (video.width, video.height) == (90, 160)
    final = (await probe(ffmpeg, result.final)).video
    assert final is not None and (final.width, final.height) == (90, 160)
    assert {(call.json or {}).get("voice") for call in services.openai.calls("speech")} == {"coral"}
    # Captions off: no caption picture was drawn for any scene.
    assert not list(config.work_dir.rglob("cue_*.png"))
    stored = await storage.db.fetch("SELECT look FROM jobs")
    assert Look.from_json(stored[0][0]) == look


async def test_a_flagged_story_is_refused_and_charges_nothing(
    config, ffmpeg, services, storage
) -> None:
    with pytest.raises(StoryRejectedError) as refused:
        await dream(config, ffmpeg, storage, RecordingSurface(), "They kill the lighthouse keeper.")
    assert "violence" in refused.value.reason
    assert await storage.db.fetch("SELECT count(*) FROM jobs") == [(0,)]
    assert services.fal.submissions == []


async def test_a_refused_script_fails_at_script_with_a_refund(
    config, ffmpeg, services, storage
) -> None:
    services.openai.fail("chat", "refusal")
    surface = RecordingSurface()
    with pytest.raises(StageFailedError) as failed:
        await dream(config, ffmpeg, storage, surface)
    assert failed.value.stage is Stage.SCRIPT
    assert await storage.db.fetch("SELECT state, charge FROM jobs") == [("failed", "refunded")]


@pytest.mark.parametrize(
    ("app", "fault", "expected"),
    [
        (CLIP, "submit_500", VisualKind.CLIP),  # our retry submits again
        (CLIP, "submit_429", VisualKind.CLIP),  # fal-client's own retry
        (CLIP, "result_500", VisualKind.CLIP),  # retried by re-attaching, not resubmitting
        (CLIP, "corrupt_file", VisualKind.IMAGE),
        (CLIP, "wrong_content_type", VisualKind.IMAGE),
        (CLIP, "oversized", VisualKind.IMAGE),
        (CLIP, "never_completes", VisualKind.IMAGE),
        (CLIP, "result_oversized", VisualKind.IMAGE),  # a 6 MiB result JSON: not parsed
        (CLIP, "submit_dropped", VisualKind.IMAGE),  # queued once, never resent: Ken Burns
        (CLIP, "content_policy", VisualKind.IMAGE),
        (IMAGE, "content_policy", VisualKind.TITLE_CARD),
    ],
)
async def test_fal_fault_matrix(config, ffmpeg, services, storage, app, fault, expected) -> None:
    config = replace(config, roles=retimed(config.roles, {Role.CLIPS: 3}))
    services.fal.fail(app, fault)
    result, _ = await dream(config, ffmpeg, storage, RecordingSurface())

    kinds = [scene.visual for scene in result.scenes]
    assert kinds.count(expected) >= 1
    assert kinds.count(VisualKind.CLIP) >= 2 or expected is VisualKind.CLIP
    accepted = services.fal.submitted_ids(CLIP)
    assert len(accepted) == len(set(accepted)) <= 3 + (fault == "submit_500")
    if fault == "never_completes":
        assert len(services.fal.cancels) == 1  # given up on: cancelled, not paid for
    if fault == "submit_dropped":
        assert services.fal.submit_attempts[CLIP] == len(accepted) == 3  # one per scene


async def test_a_fal_content_refusal_degrades_the_scene_for_the_policy_reason(
    config, ffmpeg, services, storage, caplog
) -> None:
    services.fal.fail(CLIP, "content_policy")
    result, _ = await dream(config, ffmpeg, storage, RecordingSurface())

    assert sorted(scene.visual for scene in result.scenes).count(VisualKind.IMAGE) == 1
    assert len(services.fal.submitted_ids(CLIP)) == 3  # the refused clip was not asked again
    [fell_back] = [r.getMessage() for r in caplog.records if "fell back" in r.getMessage()]
    assert "clips fell back: fal refused the content (content_policy_violation)" in fell_back


@pytest.mark.parametrize(
    "route", ["/picture.png", "/to?url=http://127.0.0.1:{internal}/picture.png"]
)
async def test_a_fal_result_leading_inside_is_never_fetched_nor_passed_on(
    config, ffmpeg, services, storage, media, route
) -> None:
    async with WebHost(media.image) as internal, WebHost(media.image) as redirector:
        # The redirector is allowed by name ("localhost"); what it points at is not.
        host = "localhost" if route.startswith("/to") else "127.0.0.1"
        hostile = (redirector if host == "localhost" else internal).url(
            route.format(internal=internal.port), host=host
        )
        services.fal.serve(IMAGE, kind="image", file=media.image, output_url=hostile)
        with pytest.raises(StageFailedError) as failed:  # no scene has a picture
            await dream(config, ffmpeg, storage, RecordingSurface())

    assert failed.value.stage is Stage.IMAGES
    assert internal.hits == []  # nothing reached the internal service, not once
    assert len(redirector.hits) == 3 * (host == "localhost")  # one try per scene, no retry
    assert services.fal.submitted_ids(CLIP) == []  # and its URL went to no model
    assert await storage.db.fetch("SELECT state, charge FROM jobs") == [("failed", "refunded")]


async def test_a_truncated_fal_clip_falls_back_and_every_scene_lasts_its_narration(
    config, ffmpeg, ffmpeg_exe, services, storage, media, tmp_path
) -> None:
    # The header says 2 s; the file holds 8 frames (a third of a second).
    clip = truncated_clip(ffmpeg_exe, tmp_path / "clip.mp4", seconds=2.0, frames=8)
    services.fal.serve(CLIP, kind="video", file=clip)
    result, _ = await dream(config, ffmpeg, storage, RecordingSurface())

    narration_s = (await probe(ffmpeg, media.narration)).duration_s
    assert narration_s is not None
    assert [scene.visual for scene in result.scenes] == [VisualKind.IMAGE] * 3
    assert all(scene.duration_s >= narration_s for scene in result.scenes)
    final = await count_video(ffmpeg, result.final, decode=True)
    assert final.seconds >= sum(scene.duration_s for scene in result.scenes) - 0.01
    assert len(services.fal.submitted_ids(CLIP)) == 3  # each clip was made, then refused


async def test_a_fal_picture_of_too_many_pixels_is_refused_before_decoding(
    config, ffmpeg, services, storage, tmp_path
) -> None:
    # 100 Mpx: between Pillow's warning (89 Mpx) and its refusal (179 Mpx), so only our
    # own header check stands between it and an encode that holds every decoded pixel.
    huge = png_claiming(10_000, 10_000, tmp_path / "huge.png")
    services.fal.serve(IMAGE, kind="image", file=huge)
    with pytest.raises(StageFailedError) as failed:  # no scene has a picture
        await dream(config, ffmpeg, storage, RecordingSurface())

    assert failed.value.stage is Stage.IMAGES
    assert len(services.fal.submitted_ids(IMAGE)) == 3  # refused, not retried
    assert services.fal.submitted_ids(CLIP) == []


@pytest.mark.parametrize(("endpoint", "fault"), [("speech", "500"), ("chat", "429")])
async def test_openai_transient_faults_are_retried(
    config, ffmpeg, services, storage, endpoint, fault
) -> None:
    services.openai.fail(endpoint, fault)
    result, _ = await dream(config, ffmpeg, storage, RecordingSurface())
    assert all(scene.spoken for scene in result.scenes)
    assert len(services.openai.calls(endpoint)) == 2 + 2 * (endpoint == "speech")


async def test_keys_never_reach_logs_errors_or_messages(
    config, ffmpeg, services, storage, caplog
) -> None:
    caplog.set_level("DEBUG")  # every logger, the client libraries' included
    services.fal.fail(CLIP, "submit_500")
    services.fal.fail(IMAGE, "content_policy")
    services.openai.fail("speech", "500")
    surface = RecordingSurface()
    await dream(config, ffmpeg, storage, surface)
    services.openai.fail("chat", "refusal")
    with pytest.raises(StageFailedError) as failed:
        await dream(config, ffmpeg, storage, surface)

    seen = [caplog.text, repr(surface.events), str(failed.value), repr(Settings())]
    assert len(caplog.records) > 20  # the run was logged in detail...
    for text in seen:
        for secret in (FAL_KEY, OPENAI_KEY, FAL_KEY.split(":")[1], OPENAI_KEY[8:]):
            assert secret not in text  # ...and no key appears anywhere


async def test_a_restart_in_the_middle_of_a_fal_clip_re_attaches(
    config, ffmpeg, services, storage, media
) -> None:
    config = replace(
        config, roles=retimed(config.roles, {Role.CLIPS: 120, Role.IMAGES: 120, Role.VOICE: 120})
    )
    fal = services.fal
    fal.serve(CLIP, kind="video", file=media.clip, steps_in_progress=10**9)  # never, for now
    first = build_providers(Settings(), ffmpeg, config.render)
    engine = Engine(config, first.providers, ffmpeg, books=Books(storage))
    request = await engine.admit(STORY, requester="telegram:5")
    job = asyncio.create_task(engine.dream(request, RecordingSurface(), surface_ref="msg:9"))

    async def clips_polled() -> None:
        # An id is stored before its first status poll, so polled means recorded.
        while sum(fal.status_calls[rid] > 0 for rid in fal.submitted_ids(CLIP)) < 3:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(clips_polled(), timeout=60)
    job.cancel()  # the process goes away mid-clip
    with pytest.raises(asyncio.CancelledError):
        await job
    await first.close()
    fal.serve(CLIP, kind="video", file=media.clip)  # the clips finish while we are down

    second = build_providers(Settings(), ffmpeg, config.render)
    restarted = Engine(config, second.providers, ffmpeg, books=Books(storage))
    surface = RecordingSurface()

    async def rebuild(stored: object) -> RecordingSurface:
        return surface

    try:
        results = await asyncio.wait_for(
            asyncio.gather(*await restarted.resume(rebuild)), timeout=120
        )
    finally:
        await second.close()

    assert [scene.visual for scene in results[0].scenes] == [VisualKind.CLIP] * 3
    assert len(fal.submitted_ids(CLIP)) == 3  # re-attached, never resubmitted
    assert len(fal.submitted_ids(IMAGE)) == 3 and len(fal.submitted_ids(PREVIEW)) == 1
    assert fal.cancels == []
    assert "final" in surface.kinds()
    assert await storage.db.fetch("SELECT state, charge FROM jobs") == [("delivered", "committed")]


async def test_a_users_cancel_cancels_the_fal_requests(config, ffmpeg, services, storage, media):
    config = replace(config, roles=retimed(config.roles, {Role.CLIPS: 120}))
    fal = services.fal
    fal.serve(CLIP, kind="video", file=media.clip, steps_in_progress=10**9)
    built = build_providers(Settings(), ffmpeg, config.render)
    engine = Engine(config, built.providers, ffmpeg, books=Books(storage))
    request = await engine.admit(STORY, requester="telegram:5")
    job = asyncio.create_task(engine.dream(request, RecordingSurface()))

    async def clips_polled() -> None:
        while sum(fal.status_calls[rid] > 0 for rid in fal.submitted_ids(CLIP)) < 3:
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(clips_polled(), timeout=60)
        assert engine.cancel(request.job_id)
        with pytest.raises(asyncio.CancelledError):
            await job
    finally:
        await built.close()
    assert sorted(fal.cancels) == sorted(fal.submitted_ids(CLIP))
    assert await storage.db.fetch("SELECT state, charge FROM jobs") == [("cancelled", "refunded")]


def test_each_stage_can_choose_its_provider(ffmpeg, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("DREAMBOT_SCRIPT_PROVIDER", "local")
    built = build_providers(Settings(), ffmpeg, TINY)
    assert built.choice == {
        "script": "local",
        "voice": "openai",
        "preview": "local",
        "images": "local",
        "clips": "local",
    }
    assert built.providers.moderation is not None
    asyncio.run(built.close())

    monkeypatch.setenv("DREAMBOT_CLIP_PROVIDER", "fal")
    with pytest.raises(UsageError, match="FAL_KEY"):
        build_providers(Settings(), ffmpeg, TINY)
