"""Attack: the database refuses writes while jobs end, then the process restarts.

    python bench/settle_faults.py [--jobs 6] [--fault-s 6]

Half the jobs fail at their script, half are delivered; the moment the first job ends,
``PRAGMA query_only`` makes the engine's own SQLite connection refuse every write for
``--fault-s`` seconds. The jobs that have not settled ``--fault-s`` + 10 s later are
stopped (as a restart stops them), the database is opened again and the unfinished jobs
resumed. Each job's messages are checked against its row as a second connection read it
at that moment: a "nothing was charged" said of a row that was not refunded is a lie.
The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import (
    ROLE_DEFAULTS,
    Books,
    Engine,
    EngineConfig,
    Limits,
    Providers,
    RenderConfig,
    retimed,
)
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.models import DreamResult, JobFailure
from engine.storage import QuotaPolicy, Storage, StoredJob
from tests.fakes.providers import FakeMedia, FakeProviders, Fault
from tests.surfaces import RecordingSurface

STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."


class Told(RecordingSurface):
    """Each message with the row a second connection read at that moment."""

    def __init__(self, db_file: Path, fault: asyncio.Event) -> None:
        super().__init__()
        self.db_file, self.fault = db_file, fault
        self.told: list[tuple[str, bool, str]] = []  # (kind, says nothing charged, charge)

    def _charge(self, job_id: str) -> str:
        with sqlite3.connect(self.db_file) as db:
            return str(db.execute("SELECT charge FROM jobs WHERE id = ?", (job_id,)).fetchone()[0])

    async def deliver_final(self, result: DreamResult) -> None:
        await super().deliver_final(result)
        self.told.append(("final", False, self._charge(result.job_id)))
        self.fault.set()

    async def fail(self, failure: JobFailure) -> None:
        await super().fail(failure)
        # Before issue 13 every failure said "Nothing was charged".
        says = bool(getattr(failure, "refunded", True))
        self.told.append(("fail", says, self._charge(failure.job_id)))
        self.fault.set()


async def attack(jobs: int, fault_s: float, root: Path) -> dict[str, object]:
    ffmpeg = FFmpeg(locate_ffmpeg(), max_procs=2, timeout_s=60)
    media = await FakeMedia.make(ffmpeg, root / "media", width=160, height=90)
    config = EngineConfig(
        work_dir=root / "work",
        render=RenderConfig(width=160, height=90, fps=12, preset="ultrafast"),
        limits=Limits(ffmpeg=2),
        roles=retimed(ROLE_DEFAULTS, 30),
    )
    db_file = root / "db.sqlite3"
    storage = await Storage.open(db_file, QuotaPolicy())
    good, bad = FakeProviders(media), FakeProviders(media, faults={"script": {None: Fault.ERROR}})
    engines = [
        Engine(config, Providers(p, p, p, p, p), ffmpeg, books=Books(storage)) for p in (good, bad)
    ]
    fault = asyncio.Event()
    surfaces: dict[str, Told] = {}
    tasks = []
    for n in range(jobs):
        engine = engines[n % 2]
        request = await engine.admit(STORY, requester=f"telegram:{n}")
        surfaces[request.job_id] = Told(db_file, fault)
        dream = engine.dream(request, surfaces[request.job_id], surface_ref=request.job_id)
        tasks.append(asyncio.ensure_future(dream))

    async def refuse_for_a_while() -> None:
        await fault.wait()
        await storage.db.fetch("PRAGMA query_only = 1")
        await asyncio.sleep(fault_s)
        await storage.db.fetch("PRAGMA query_only = 0")

    started = time.monotonic()
    refusing = asyncio.ensure_future(refuse_for_a_while())
    done, pending = await asyncio.wait(tasks, timeout=fault_s + 10)
    await refusing
    settled_s = time.monotonic() - started
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await storage.close()

    # The restart.
    storage = await Storage.open(db_file, QuotaPolicy())
    restarted = Engine(
        config, Providers(good, good, good, good, good), ffmpeg, books=Books(storage)
    )

    async def rebuild(stored: StoredJob) -> Told:
        return surfaces[stored.job_id]

    resumed = await restarted.resume(rebuild)
    await asyncio.gather(*resumed, return_exceptions=True)
    with sqlite3.connect(db_file) as db:
        rows = dict(db.execute("SELECT id, state || '/' || charge FROM jobs").fetchall())
    await storage.close()

    lies = sum(
        says and charge != "refunded" for s in surfaces.values() for _, says, charge in s.told
    )
    finals = {job: sum(kind == "final" for kind, _, _ in s.told) for job, s in surfaces.items()}
    told_failed_then_charged = sum(
        any(kind == "fail" for kind, _, _ in surfaces[job].told) and rows[job].endswith("committed")
        for job in surfaces
    )
    return {
        "jobs": jobs,
        "fault_s": fault_s,
        "delivered_during_run": len(done) - sum(task.exception() is not None for task in done),
        "ended_during_run": len(done),
        "first_run_s": round(settled_s, 2),
        "resumed_after_restart": len(resumed),
        "rows_after_restart": sorted(rows.values()),
        "nothing_charged_lies": lies,
        "told_failed_then_charged": told_failed_then_charged,
        "finals_sent_twice": sum(count > 1 for count in finals.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--fault-s", type=float, default=6.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(attack(args.jobs, args.fault_s, Path(folder)))
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
