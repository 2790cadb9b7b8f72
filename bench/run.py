"""Benchmark `dreambot run` as an operator sees it: start, a job, metrics, housekeeping, stop.

    python bench/run.py [--folders 2000] [--scrapes 200]

`dreambot run` is started as a real process with both bots pointed at the test suite's
fake Telegram and Discord servers on loopback (offline providers, 320x180). Measured:
- import_s: `python -c "import bot.run"` alone (each platform's library is imported later,
  only with its token), for comparison with
- no_token_s: `dreambot run` with no token set, from spawning it to its exit with the
  message naming the variables to set (the fastest of three);
- ready_s: from spawning the process to both bots connected (first getUpdates, and
  IDENTIFY answered by READY on the Discord gateway);
- scrape_p50_ms / scrape_p99_ms: GET /metrics while a job runs;
- sigterm_to_exit_s: from SIGTERM to exit with nothing running;
- sweep_s: one housekeeping pass over --folders ended job folders (4 small files each),
  in-process, with the database that knows them;
- sweep_noop_ms: the same pass once nothing is left to remove (what every job end costs).
The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # for tests.fakes, whatever the working directory

import httpx

from bench.figures import machine, p99, report
from engine.housekeeping import Housekeeper, Retention
from engine.storage import Storage
from engine.storage.ledger import Ask, QuotaPolicy
from tests.fakes.discord_api import FakeDiscordAPI
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.runs import free_port, run_environment, start_run, telegram_final_sent

STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."


async def until(predicate: Callable[[], object], limit_s: float) -> None:
    async with asyncio.timeout(limit_s):
        while not predicate():
            await asyncio.sleep(0.005)


async def run_process(root: Path, scrapes: int) -> dict[str, object]:
    port = free_port()
    async with FakeTelegramAPI() as telegram, FakeDiscordAPI() as discord_api:
        environment = run_environment(
            root, telegram=telegram, discord_api=discord_api,
            DREAMBOT_METRICS_PORT=str(port), DREAMBOT_LOG_LEVEL="WARNING",
        )  # fmt: skip
        started = time.perf_counter()
        process = await start_run(root, environment)
        try:
            await until(lambda: telegram.calls_of("getUpdates"), 60)
            await discord_api.wait_connected(timeout=60)
            ready = time.perf_counter() - started

            telegram.push_update(telegram.message_update(1, 77, 77, STORY, username="reader"))
            latencies = []
            async with httpx.AsyncClient() as client:
                for _ in range(scrapes):
                    began = time.perf_counter()
                    response = await client.get(f"http://127.0.0.1:{port}/metrics")
                    response.raise_for_status()
                    latencies.append((time.perf_counter() - began) * 1000)
                await until(lambda: telegram_final_sent(telegram), 120)
            # The final is out; let the job settle, then stop an idle process.
            async with httpx.AsyncClient() as client:
                while (
                    'dreambot_jobs_total{outcome="delivered"} 1.0'
                    not in (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                ):
                    await asyncio.sleep(0.01)
            stopping = time.perf_counter()
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), timeout=60)
            stopped = time.perf_counter() - stopping
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    latencies.sort()
    return {
        "ready_s": round(ready, 2),
        "scrape_p50_ms": round(statistics.median(latencies), 2),
        "scrape_p99_ms": round(p99(latencies), 2),
        "sigterm_to_exit_s": round(stopped, 2),
        "exit_code": code,
    }


async def sweep(root: Path, folders: int) -> dict[str, object]:
    storage = await Storage.open(
        root / "sweep.sqlite3", QuotaPolicy(daily_quota=10**6, max_running=10**6)
    )
    work = root / "sweep-work"
    try:
        for _ in range(folders):
            job_id = uuid.uuid4().hex
            await storage.ledger.admit(Ask(job_id, "telegram:1", STORY))
            await storage.jobs.start(job_id, work / job_id, None)
            await storage.jobs.finish(job_id, "delivered")
            (work / job_id).mkdir(parents=True)
            for name in ("preview.mp4", "script.json", "scene_0.mp4", "final.mp4"):
                (work / job_id / name).write_bytes(b"\0" * 4096)
        keeper = Housekeeper(work, storage.jobs, Retention(keep=timedelta(0)))
        began = time.perf_counter()
        first = await keeper.sweep()
        elapsed = time.perf_counter() - began
        began = time.perf_counter()
        await keeper.sweep()
        noop = time.perf_counter() - began
    finally:
        await storage.close()
    return {
        "sweep_folders": folders,
        "sweep_removed": first.removed_jobs,
        "sweep_s": round(elapsed, 3),
        "sweep_noop_ms": round(noop * 1000, 2),
    }


async def import_time() -> float:
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", "import bot.run", cwd=ROOT)
    await process.wait()
    return round(time.perf_counter() - began, 2)


async def no_token_time(root: Path) -> float:
    environment = {
        key: value
        for key, value in run_environment(root).items()
        if key not in ("TELEGRAM_TOKEN", "DISCORD_TOKEN")
    }
    times = []
    for _ in range(3):
        began = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=root, env=environment,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, error = await process.communicate()
        times.append(time.perf_counter() - began)
        if process.returncode == 0 or b"TELEGRAM_TOKEN" not in error:
            raise RuntimeError(f"dreambot run without tokens did not refuse: {error!r}")
    return round(min(times), 2)


async def main(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="dreambot-run-") as scratch:
        root = Path(scratch)
        figures: dict[str, object] = {"import_s": await import_time()}
        figures["no_token_s"] = await no_token_time(root)
        figures |= await run_process(root, args.scrapes)
        figures |= await sweep(root, args.folders)
    figures["machine"] = machine()
    return figures


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folders", type=int, default=2000)
    parser.add_argument("--scrapes", type=int, default=200)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    report("run.py", asyncio.run(main(arguments)))
