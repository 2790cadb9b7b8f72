"""Benchmark scale-out: 1, 2 and 4 processes sharing one PostgreSQL, and admission on both backends.

    python bench/scale.py [--processes 1,2,4] [--jobs 8] [--scale 0.1] [--scenes 6]
                          [--users 1000] [--database-url URL] [--worker-jobs N]

For each process count P, P processes start on this machine, each with its own engine (the
product's default limits: as many ffmpeg encodes at once as there are cores) on fake
providers (bench/pipeline.py's latencies times ``--scale``, real 1280x720 media, so every
scene is encoded for real) and one set of books on the PostgreSQL server. Once all are
ready, each admits its share of ``--jobs`` stories (job n goes to process n mod P, as
Discord shards split guilds between processes) and runs them. Measured from the common
start to each job's final: jobs_per_min (jobs / makespan), p50 and p99 time-to-final.
Then admission: ``--users`` users admitting at once against a daily budget, on SQLite
and on PostgreSQL (bench/quota.py's measure, one round each).

Then the same with workers (``w{P}_…`` figures): this process is the adapter, admitting
every job (each queued in its admission's transaction) and following their events as a
chat adapter does; P worker processes take the jobs from procrastinate's queue,
``--worker-jobs`` at once each (default: the jobs divided by P, rounded up, as in the
split above). A final counts when the adapter has applied it, media and all.

PostgreSQL is the server at ``--database-url``, or a throwaway cluster on loopback with
the server's default durability (bench/quota.py). The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.figures import machine, p99, report
from bench.load import STORY, CrowdSurface, crowd_engine
from bench.pipeline import describe
from bench.quota import fresh_location, measure, postgres_server
from engine import Books, QuotaPolicy
from engine.config import RenderConfig
from engine.dispatch import RemoteJobs, open_dispatch, work_queue


async def serve(args: argparse.Namespace) -> None:
    """One process of P: get ready, say so, wait for the common start, run its share."""
    with tempfile.TemporaryDirectory(prefix="dreambot-scale-") as scratch:
        books = await Books.open(args.url, QuotaPolicy.unlimited())
        try:
            engine = await crowd_engine(Path(scratch), args, books)
            print("ready", flush=True)
            started = float(await asyncio.to_thread(sys.stdin.readline))
            mine = range(args.serve, args.jobs, args.of)
            tickets = [await engine.admit(STORY.format(n=n), requester=f"bench:{n}") for n in mine]
            surfaces = [CrowdSurface(started=started) for _ in tickets]
            await asyncio.gather(
                *(engine.dream(t, s) for t, s in zip(tickets, surfaces, strict=True))
            )
        finally:
            await books.close()
    print(json.dumps([s.final_at for s in surfaces]), flush=True)


async def work(args: argparse.Namespace) -> None:
    """One worker of P: get ready, say so, run queued jobs until stdin closes."""
    with tempfile.TemporaryDirectory(prefix="dreambot-worker-") as scratch:
        books = await Books.open(args.url, QuotaPolicy.unlimited())
        dispatch = await open_dispatch(args.url, books)
        try:
            engine = await crowd_engine(Path(scratch), args, books)
            print("ready", flush=True)
            queue = asyncio.create_task(
                work_queue(
                    dispatch,
                    engine,
                    concurrency=args.worker_jobs,
                    heartbeat_s=5.0,
                    stall_s=30.0,
                    grace_s=0.0,
                )
            )
            await asyncio.to_thread(sys.stdin.readline)  # closed by the adapter at the end
            queue.cancel()
            await asyncio.gather(queue, return_exceptions=True)
        finally:
            await dispatch.close()
            await books.close()


async def crowd_of_workers(processes: int, args: argparse.Namespace, url: str) -> list[float]:
    """The finals of ``--jobs`` jobs admitted here and run by ``processes`` workers."""
    per_worker = args.worker_jobs or -(-args.jobs // processes)
    command = [sys.executable, __file__, "--scale", str(args.scale), "--scenes", str(args.scenes)]
    command += ["--url", url, "--work", "--worker-jobs", str(per_worker)]
    pipes = {"stdin": asyncio.subprocess.PIPE, "stdout": asyncio.subprocess.PIPE}
    children = [await asyncio.create_subprocess_exec(*command, **pipes) for _ in range(processes)]
    with tempfile.TemporaryDirectory(prefix="dreambot-adapter-") as scratch:
        books = await Books.open(url, QuotaPolicy.unlimited())
        dispatch = await open_dispatch(url, books)
        try:
            engine = await crowd_engine(Path(scratch), args, books, dispatch.defer_in)
            remote = RemoteJobs(engine, dispatch, url, poll_s=1.0)
            listening = asyncio.create_task(remote.listen())
            for child in children:
                assert child.stdout is not None
                if (await child.stdout.readline()).strip() != b"ready":
                    raise RuntimeError("a worker did not get ready; its error is above")
            started = time.monotonic()
            tickets = [
                await engine.admit(STORY.format(n=n), requester=f"bench:{n}")
                for n in range(args.jobs)
            ]
            surfaces = [CrowdSurface(started=started) for _ in tickets]
            await asyncio.gather(
                *(remote.follow(t.job_id, s) for t, s in zip(tickets, surfaces, strict=True))
            )
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)
        finally:
            for child in children:
                assert child.stdin is not None
                child.stdin.close()
            for child in children:
                await child.wait()
            await dispatch.close()
            await books.close()
    return [s.final_at for s in surfaces if s.final_at is not None]


async def crowd(processes: int, args: argparse.Namespace, url: str) -> list[float]:
    """The finals of ``--jobs`` jobs split over ``processes`` processes, from the start."""
    command = [sys.executable, __file__, "--jobs", str(args.jobs), "--scale", str(args.scale)]
    command += ["--scenes", str(args.scenes), "--url", url, "--of", str(processes)]
    pipes = {"stdin": asyncio.subprocess.PIPE, "stdout": asyncio.subprocess.PIPE}
    children = [
        await asyncio.create_subprocess_exec(*command, "--serve", str(n), **pipes)
        for n in range(processes)
    ]
    for child in children:
        assert child.stdout is not None
        if (await child.stdout.readline()).strip() != b"ready":
            raise RuntimeError("a process did not get ready; its error is above")
    started = time.monotonic()
    for child in children:
        assert child.stdin is not None
        child.stdin.write(f"{started}\n".encode())
        await child.stdin.drain()
    finals: list[float] = []
    for child in children:
        assert child.stdout is not None
        finals += json.loads(await child.stdout.readline())
        if await child.wait() != 0:
            raise RuntimeError("a process failed; its error is above")
    return finals


def finals_figures(prefix: str, done: list[float]) -> dict[str, object]:
    """Throughput and time-to-final of one crowd, its finals timed from the common start."""
    makespan = max(done)
    return {
        f"{prefix}_jobs_per_min": round(len(done) / makespan * 60, 2),
        f"{prefix}_p50_final_s": round(statistics.median(done), 2),
        f"{prefix}_p99_final_s": round(p99(done), 2),
        f"{prefix}_last_final_s": round(makespan, 2),
    }


async def main(args: argparse.Namespace) -> dict[str, object]:
    figures: dict[str, object] = {}
    with postgres_server(args.database_url) as server, tempfile.TemporaryDirectory() as scratch:
        for processes in args.processes:
            location = fresh_location("postgres", Path(scratch), server)
            figures |= finals_figures(f"p{processes}", await crowd(processes, args, str(location)))
        for processes in args.processes:
            location = fresh_location("postgres", Path(scratch), server)
            done = await crowd_of_workers(processes, args, str(location))
            if len(done) != args.jobs:
                raise RuntimeError(f"{args.jobs - len(done)} jobs got no final")
            figures |= finals_figures(f"w{processes}", done)
        for backend in ("sqlite", "postgres"):
            admitted = await measure(backend, args.users, 1, server)
            figures[f"{backend}_p99_admit_ms"] = admitted[f"{backend}_p99_admit_ms"]
            figures[f"{backend}_admissions_per_s"] = admitted[f"{backend}_admissions_per_s"]
    return figures | {
        "jobs": args.jobs,
        "scenes": args.scenes,
        "scale": args.scale,
        "users": args.users,
        "render": describe(RenderConfig()),
        "machine": machine(),
    }


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--processes", type=lambda text: [int(n) for n in text.split(",")], default=[1, 2, 4]
    )
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--scale", type=float, default=0.1, help="multiply every latency")
    parser.add_argument("--scenes", type=int, default=6)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--database-url", help="a PostgreSQL server to use (default: start one)")
    # One process of a crowd (started by this script itself).
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--of", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--work", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--worker-jobs", type=int, default=0, help="jobs at once per worker (0: jobs / P)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    if arguments.work:
        asyncio.run(work(arguments))
    elif arguments.serve is not None:
        asyncio.run(serve(arguments))
    else:
        report("scale.py", asyncio.run(main(arguments)))
