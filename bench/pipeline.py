"""Benchmark one job through the pipeline with fake providers at the seeds' latencies.

    python bench/pipeline.py [--scale 1.0] [--scenes 6] [--scene-seconds 5] [--providers fake]

Fake providers answer after the latencies the seed documents report (script 4 s, preview
5 s, image 5 s, narration 5 s, clip 30 s; ``--scale`` shrinks them) and hand out real
1280x720 media, so normalising and merging run for real with ffmpeg on this machine.
Their clips are 81 frames at 16 fps (``--clip-fps``), what the default clip model, Wan 2.2,
makes. Every clip lands at the same instant, the worst case for the tail; the job is run
again with each scene's clip latency spread by up to ±30 % (seeded: ``ratio_spread``), as
a real queue's are, and then one scene after another, as the seeds' first designs did.
``final_size_mb`` is the first run's final video; ``--keep-final PATH`` keeps it there
(to compare renders with ffmpeg's ``ssim``).
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
import random
import shutil
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
    final_bytes: int | None = None
    keep_final: Path | None = None
    progress_updates: int = 0

    async def acknowledge(self, ticket: JobTicket) -> None:
        self.started = time.monotonic()

    async def show_preview(self, preview: Path) -> None:
        self.preview_at = time.monotonic() - self.started

    async def show_progress(self, progress: ProgressSnapshot) -> None:
        self.progress_updates += 1

    async def deliver_final(self, result: DreamResult) -> None:
        self.final_at = time.monotonic() - self.started
        self.final_bytes = result.final.stat().st_size
        if self.keep_final is not None:
            shutil.copyfile(result.final, self.keep_final)

    async def fail(self, failure: JobFailure) -> None:
        raise SystemExit(f"bench job failed at {failure.stage}: {failure.reason}")

    async def offer_actions(self, actions: Sequence[Action]) -> None:
        return None


def describe(render: RenderConfig) -> str:
    """The render's size, rate and encoder settings, as the figures name them."""
    tuned = f" {render.x264_params}" if render.x264_params else ""
    return f"{render.width}x{render.height}@{render.fps} x264 {render.preset}{tuned}"


def critical_path(latency: dict[str, float], clips: Sequence[float] = ()) -> float:
    """The job's length if everything that can overlap does, and assembly took no time.

    ``clips`` are the scenes' own clip latencies, when they differ; the slowest decides.
    """
    clip = max(clips, default=latency["clips"])
    scene = max(latency["images"] + clip, latency["voice"])
    return max(latency["preview"], latency["script"] + scene)


def spread(seconds: float, scenes: int, *, by: float = 0.3, seed: int = 16) -> dict[int, float]:
    """Each scene's latency drawn evenly within ±``by`` of ``seconds``, the same every run."""
    draw = random.Random(seed)
    return {n: seconds * (1 + draw.uniform(-by, by)) for n in range(scenes)}


async def run_once(
    config: EngineConfig,
    ffmpeg: FFmpeg,
    providers: Providers,
    story: str = STORY,
    keep_final: Path | None = None,
) -> TimingSurface:
    books = await Books.open(":memory:", QuotaPolicy.unlimited())
    try:
        engine = Engine(config, providers, ffmpeg, books=books)
        await engine.warm_up()  # as `dreambot run` does at start (timed in main)
        surface = TimingSurface(keep_final=keep_final)
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
        render = RenderConfig()
        render = replace(render, preset=args.preset or render.preset, crf=args.crf or render.crf)
        if args.x264_params is not None:
            render = replace(render, x264_params=args.x264_params)
        limits = Limits()
        ffmpeg = FFmpeg(locate_ffmpeg(), max_procs=limits.ffmpeg, timeout_s=300)
        media = await FakeMedia.make(
            ffmpeg,
            root / "media",
            width=render.width,
            height=render.height,
            clip_s=81 / args.clip_fps if args.clip_fps == 16 else 5.0,
            clip_fps=args.clip_fps,
            narration_s=args.scene_seconds,
        )
        config = EngineConfig(work_dir=root / "work", render=render, limits=limits)
        one_by_one = replace(config, limits=replace(limits, parallel_scenes=1))
        sequential_final = None
        spread_clips = spread(latency["clips"], args.scenes)
        spread_final = None
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
                "render": describe(render),
                "machine": machine(),
            }
        if args.providers == "fake":
            fake = FakeProviders(media, scenes=args.scenes, latency=latency)
            providers = Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake)
            parallel = await run_once(config, ffmpeg, providers, keep_final=args.keep_final)
            if not args.skip_spread:
                fake = FakeProviders(
                    media, scenes=args.scenes, latency=latency,
                    scene_latency={"clips": spread_clips},
                )  # fmt: skip
                providers = replace(providers, script=fake, preview=fake, images=fake)
                providers = replace(providers, clips=fake, voice=fake)
                spread_final = (await run_once(config, ffmpeg, providers)).final_at
            if not args.skip_sequential:
                fake = FakeProviders(media, scenes=args.scenes, latency=latency)
                providers = replace(providers, script=fake, preview=fake, images=fake)
                providers = replace(providers, clips=fake, voice=fake)
                sequential_final = (await run_once(one_by_one, ffmpeg, providers)).final_at
        else:
            async with real_clients(media, latency, args.scenes, ffmpeg, render) as (real, _):
                parallel = await run_once(config, ffmpeg, real, keep_final=args.keep_final)
                if not args.skip_sequential:
                    sequential_final = (await run_once(one_by_one, ffmpeg, real)).final_at
    assert parallel.final_at is not None and parallel.final_bytes is not None
    critical = critical_path(latency)
    critical_spread = critical_path(latency, list(spread_clips.values()))
    return {
        "time_to_preview_s": round(parallel.preview_at or -1, 3),
        "time_to_final_s": round(parallel.final_at, 3),
        "critical_path_s": round(critical, 3),
        "ratio": round(parallel.final_at / critical, 4),
        "tail_s": round(parallel.final_at - critical, 3),
        "ratio_spread": (
            round(spread_final / critical_spread, 4) if spread_final is not None else None
        ),
        "tail_spread_s": (
            round(spread_final - critical_spread, 3) if spread_final is not None else None
        ),
        "sequential_ratio": (
            round(sequential_final / critical, 4) if sequential_final is not None else None
        ),
        "final_size_mb": round(parallel.final_bytes / 1e6, 2),
        "clip_fps": args.clip_fps,
        # Once a process, before the first story (`dreambot run` does it at start).
        "language_detector_load_s": detector_load_s,
        "scenes": args.scenes,
        "scene_seconds": args.scene_seconds,
        "scale": args.scale,
        "providers": args.providers,
        "render": describe(render),
        "machine": machine(),
    }


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every latency")
    parser.add_argument("--scenes", type=int, default=6)
    parser.add_argument("--scene-seconds", type=float, default=5.0, help="narration per scene")
    parser.add_argument("--preset", default=None, help="x264 preset (default: the engine's)")
    parser.add_argument("--crf", type=int, default=None, help="x264 CRF (default: the engine's)")
    parser.add_argument(
        "--x264-params", default=None, help="x264 options (default: the engine's; '' for none)"
    )
    parser.add_argument("--skip-sequential", action="store_true")
    parser.add_argument("--skip-spread", action="store_true")
    parser.add_argument(
        "--clip-fps", type=int, default=16, help="the fake clips' frame rate (16: Wan 2.2's)"
    )
    parser.add_argument("--keep-final", type=Path, default=None, help="copy the final here")
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
