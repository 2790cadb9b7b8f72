"""Benchmark a crowd: N jobs at once on one machine, on fake providers.

    python bench/load.py [--jobs 10] [--scale 0.1] [--scenes 6]

N different stories are admitted one after another (arrival order is admission order),
then all run at once through one engine with its real books (SQLite) and the product's
default limits. The fake providers answer after bench/pipeline.py's latencies times
``--scale`` and hand out real 1280x720 media (16 fps clips, as Wan 2.2 makes), so every
scene is encoded for real and the machine's CPU is what the jobs share. Measured:
- jobs_per_min: jobs / makespan;
- p50_final_s, p99_final_s, makespan_s: from the common start to each job's final;
- p50_over_makespan: how early the median person gets their video (0.5 = evenly served);
- order_inversions: pairs of jobs (all are the same size) that finished in the opposite
  order to their arrival; finish_order lists arrival indices in finishing order;
- loop_lag_p99_ms: how late a 10 ms sleep on the event loop wakes, the 99th percentile.
The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.figures import machine, p99, report
from bench.pipeline import LATENCIES, TimingSurface, describe
from engine import Books, Engine, EngineConfig, JobTicket, Providers, QuotaPolicy
from engine.config import Limits, RenderConfig
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.storage.ledger import Then
from tests.fakes.providers import FakeMedia, FakeProviders

STORY = "Keeper {n} befriends a storm over the sea. The storm visits every night. They sing."
LAG_TICK_S = 0.01


class CrowdSurface(TimingSurface):
    """Times a job's preview and final from the crowd's common start, not its own."""

    async def acknowledge(self, ticket: JobTicket) -> None:
        return None


def inversions(finish_order: Sequence[int]) -> int:
    """Pairs that finished in the opposite order to their arrival."""
    return sum(
        1
        for i, earlier in enumerate(finish_order)
        for later in finish_order[i + 1 :]
        if later < earlier
    )


async def sample_lag(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        asked = time.perf_counter()
        await asyncio.sleep(LAG_TICK_S)
        lags.append(time.perf_counter() - asked - LAG_TICK_S)


async def crowd_engine(
    root: Path, args: argparse.Namespace, books: Books, enqueue: Then | None = None
) -> Engine:
    """An engine with the product's default limits on fake providers (``--scale``,
    ``--scenes``) that hand out real 1280x720 media made under ``root``, warmed up;
    ``enqueue`` makes it an adapter's, which queues the jobs it admits for workers."""
    latency = {role: seconds * args.scale for role, seconds in LATENCIES.items()}
    render, limits = RenderConfig(), Limits()
    ffmpeg = FFmpeg(locate_ffmpeg(), max_procs=limits.ffmpeg, timeout_s=600)
    media = await FakeMedia.make(
        ffmpeg, root / "media", width=render.width, height=render.height,
        clip_s=81 / 16, clip_fps=16, narration_s=5.0,
    )  # fmt: skip
    fake = FakeProviders(media, scenes=args.scenes, latency=latency)
    providers = Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake)
    config = EngineConfig(work_dir=root / "work", render=render, limits=limits)
    engine = Engine(config, providers, ffmpeg, books=books, enqueue=enqueue)
    await engine.warm_up()
    return engine


async def main(args: argparse.Namespace) -> dict[str, object]:
    render = RenderConfig()
    with tempfile.TemporaryDirectory(prefix="dreambot-load-") as scratch:
        root = Path(scratch)
        books = await Books.open(root / "books.sqlite3", QuotaPolicy.unlimited())
        try:
            engine = await crowd_engine(root, args, books)
            tickets = [
                await engine.admit(STORY.format(n=n), requester=f"bench:{n}")
                for n in range(args.jobs)
            ]
            lags: list[float] = []
            stop = asyncio.Event()
            sampler = asyncio.create_task(sample_lag(lags, stop))
            started = time.monotonic()
            surfaces = [CrowdSurface(started=started) for _ in tickets]
            await asyncio.gather(
                *(engine.dream(t, s) for t, s in zip(tickets, surfaces, strict=True))
            )
            stop.set()
            await sampler
        finally:
            await books.close()
    finals = [s.final_at for s in surfaces]
    assert all(f is not None for f in finals)
    done = [float(f) for f in finals if f is not None]
    finish_order = sorted(range(len(done)), key=done.__getitem__)
    makespan = max(done)
    p50 = statistics.median(done)
    return {
        "jobs_per_min": round(len(done) / makespan * 60, 2),
        "p50_final_s": round(p50, 2),
        "p99_final_s": round(p99(done), 2),
        "makespan_s": round(makespan, 2),
        "p50_over_makespan": round(p50 / makespan, 3),
        "order_inversions": inversions(finish_order),
        "finish_order": finish_order,
        "first_final_s": round(min(done), 2),
        "loop_lag_p99_ms": round(p99(lags) * 1000, 1),
        "jobs": args.jobs,
        "scenes": args.scenes,
        "scale": args.scale,
        "render": describe(render),
        "machine": machine(),
    }


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--scale", type=float, default=0.1, help="multiply every latency")
    parser.add_argument("--scenes", type=int, default=6)
    return parser.parse_args(argv)


if __name__ == "__main__":
    report("load.py", asyncio.run(main(parse_args(sys.argv[1:]))))
