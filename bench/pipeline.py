"""Benchmark one job through the pipeline with fake providers at the seeds' latencies.

    python bench/pipeline.py [--scale 1.0] [--scenes 6] [--scene-seconds 5] [--providers fake]

Fake providers answer after the latencies the seed documents report (script 4 s, preview
5 s, image 5 s, narration 5 s, clip 30 s; ``--scale`` shrinks them) and hand out real
1280x720 media, so normalising and merging run for real with ffmpeg on this machine.
The same job is then run one scene after another, as the seeds' first designs did.
``--providers fal-fake`` runs the job through the real fal and OpenAI clients against the
test suite's fake fal queue and fake OpenAI server on loopback, with the same latencies,
so the clients' own overhead (fal's status polling included) is measured too.
``--providers local`` runs the README's story through the offline providers of
``dreambot dream`` at its render size (no latencies: ``--scale`` and ``--scenes`` do not
apply), timing the preview and the final from admission as the terminal shows them.
The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

# bench.figures, and the fakes in tests/ for --providers fal-fake
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.figures import machine, report
from engine import (
    Action,
    Books,
    DreamResult,
    Engine,
    EngineConfig,
    JobFailure,
    JobTicket,
    Providers,
    QuotaPolicy,
)
from engine.config import Limits, RenderConfig
from engine.language import warm_up as warm_up_detector
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.progress import ProgressSnapshot
from engine.providers.local import local_providers
from tests.fakes.providers import FakeMedia, FakeProviders

LATENCIES = {"script": 4.0, "preview": 5.0, "images": 5.0, "voice": 5.0, "clips": 30.0}
STORY = "A lighthouse keeper befriends a storm. " * 6
README_STORY = (
    "A lighthouse keeper lived alone on a rocky island. One night a great storm rolled in "
    "from the sea. The keeper climbed the tower and lit the lamp. By morning the storm had "
    "become his friend."
)


@dataclass
class TimingSurface:
    """Notes when the preview and the final reach the surface."""

    started: float = field(default_factory=time.monotonic)
    preview_at: float | None = None
    final_at: float | None = None
    progress_updates: int = 0

    async def acknowledge(self, ticket: JobTicket) -> None:
        self.started = time.monotonic()

    async def show_preview(self, preview: Path) -> None:
        self.preview_at = time.monotonic() - self.started

    async def show_progress(self, progress: ProgressSnapshot) -> None:
        self.progress_updates += 1

    async def deliver_final(self, result: DreamResult) -> None:
        self.final_at = time.monotonic() - self.started

    async def fail(self, failure: JobFailure) -> None:
        raise SystemExit(f"bench job failed at {failure.stage}: {failure.reason}")

    async def offer_actions(self, actions: Sequence[Action]) -> None:
        return None


def critical_path(latency: dict[str, float]) -> float:
    """The job's length if everything that can overlap does, and assembly took no time."""
    scene = max(latency["images"] + latency["clips"], latency["voice"])
    return max(latency["preview"], latency["script"] + scene)


async def run_once(
    config: EngineConfig, ffmpeg: FFmpeg, providers: Providers, story: str = STORY
) -> TimingSurface:
    books = await Books.open(":memory:", QuotaPolicy.unlimited())
    try:
        engine = Engine(config, providers, ffmpeg, books=books)
        await engine.warm_up()  # as `dreambot run` does at start (timed in main)
        surface = TimingSurface()
        await engine.dream(await engine.admit(story, requester="bench:1"), surface)
    finally:
        await books.close()
    return surface


@contextlib.asynccontextmanager
async def real_clients(
    media: FakeMedia, latency: dict[str, float], scenes: int, ffmpeg: FFmpeg, render: RenderConfig
) -> AsyncIterator[tuple[Providers, Callable[[], Awaitable[None]]]]:
    """Providers built from settings, talking to the fake services on loopback."""
    import fal_client.client

    from bot.providers import build_providers
    from bot.settings import Settings
    from tests.fakes.fal_queue import FakeFalQueue
    from tests.fakes.openai_server import OpenAIFake

    async with FakeFalQueue() as fal, OpenAIFake() as openai:
        fal_client.client.QUEUE_URL_FORMAT = fal.url + "/"
        settings = Settings()
        fal.serve(settings.fal_preview_model, kind="video", file=media.preview,
                  latency_s=latency["preview"])  # fmt: skip
        fal.serve(settings.fal_image_model, kind="image", file=media.image,
                  latency_s=latency["images"])  # fmt: skip
        fal.serve(settings.fal_clip_model, kind="video", file=media.clip,
                  latency_s=latency["clips"])  # fmt: skip
        openai.latency = {"chat": latency["script"], "speech": latency["voice"]}
        openai.speech_file = media.narration
        openai.default_chat = lambda request: {
            "title": "The keeper",
            "style": "storybook",
            "scenes": [
                {"narration": f"Scene {n}.", "visual_prompt": f"view {n}"} for n in range(scenes)
            ],
        }
        os.environ.update(
            FAL_KEY="bench-key",
            OPENAI_API_KEY="sk-bench",
            OPENAI_BASE_URL=openai.base_url,
            DREAMBOT_DOWNLOAD_ALLOW_HOSTS="localhost",  # the fake fal's file host
        )
        built = build_providers(Settings(), ffmpeg, render)
        try:
            yield built.providers, built.close
        finally:
            await built.close()


async def main(args: argparse.Namespace) -> dict[str, object]:
    loading = time.monotonic()
    await asyncio.to_thread(warm_up_detector)
    detector_load_s = round(time.monotonic() - loading, 2)
    latency = {role: seconds * args.scale for role, seconds in LATENCIES.items()}
    with tempfile.TemporaryDirectory(prefix="dreambot-bench-") as scratch:
        root = Path(scratch)
        render = RenderConfig(preset=args.preset) if args.preset else RenderConfig()
        limits = Limits()
        ffmpeg = FFmpeg(locate_ffmpeg(), max_procs=limits.ffmpeg, timeout_s=300)
        media = await FakeMedia.make(
            ffmpeg,
            root / "media",
            width=render.width,
            height=render.height,
            clip_s=5.0,
            narration_s=args.scene_seconds,
        )
        config = EngineConfig(work_dir=root / "work", render=render, limits=limits)
        one_by_one = replace(config, limits=replace(limits, parallel_scenes=1))
        sequential_final = None
        if args.providers == "local":
            # No latencies, so no critical path to compare with: only what the terminal shows.
            offline = await run_once(
                config, ffmpeg, local_providers(ffmpeg, render), story=README_STORY
            )
            return {
                "time_to_preview_s": round(offline.preview_at or -1, 3),
                "time_to_final_s": round(offline.final_at or -1, 3),
                "language_detector_load_s": detector_load_s,
                "providers": args.providers,
                "render": f"{render.width}x{render.height}@{render.fps} x264 {render.preset}",
                "machine": machine(),
            }
        if args.providers == "fake":
            fake = FakeProviders(media, scenes=args.scenes, latency=latency)
            providers = Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake)
            parallel = await run_once(config, ffmpeg, providers)
            if not args.skip_sequential:
                fake = FakeProviders(media, scenes=args.scenes, latency=latency)
                providers = replace(providers, script=fake, preview=fake, images=fake)
                providers = replace(providers, clips=fake, voice=fake)
                sequential_final = (await run_once(one_by_one, ffmpeg, providers)).final_at
        else:
            async with real_clients(media, latency, args.scenes, ffmpeg, render) as (real, _):
                parallel = await run_once(config, ffmpeg, real)
                if not args.skip_sequential:
                    sequential_final = (await run_once(one_by_one, ffmpeg, real)).final_at
    assert parallel.final_at is not None
    critical = critical_path(latency)
    return {
        "time_to_preview_s": round(parallel.preview_at or -1, 3),
        "time_to_final_s": round(parallel.final_at, 3),
        "critical_path_s": round(critical, 3),
        "ratio": round(parallel.final_at / critical, 4),
        "sequential_ratio": (
            round(sequential_final / critical, 4) if sequential_final is not None else None
        ),
        "tail_s": round(parallel.final_at - critical, 3),
        # Once a process, before the first story (`dreambot run` does it at start).
        "language_detector_load_s": detector_load_s,
        "scenes": args.scenes,
        "scene_seconds": args.scene_seconds,
        "scale": args.scale,
        "providers": args.providers,
        "render": f"{render.width}x{render.height}@{render.fps} x264 {render.preset}",
        "machine": machine(),
    }


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every latency")
    parser.add_argument("--scenes", type=int, default=6)
    parser.add_argument("--scene-seconds", type=float, default=5.0, help="narration per scene")
    parser.add_argument("--preset", default=None, help="x264 preset (default: the engine's)")
    parser.add_argument("--skip-sequential", action="store_true")
    parser.add_argument(
        "--providers",
        choices=["fake", "fal-fake", "local"],
        default="fake",
        help="in-process fakes, the real fal/OpenAI clients against fakes on loopback, or "
        "the offline providers on the README's story",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    report("pipeline.py", asyncio.run(main(arguments)))
