"""Media housekeeping on a real folder and a real database: retention, disk budget, safety."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine import DreamResult, Engine, Providers
from engine.books import Books
from engine.cache import MediaCache
from engine.housekeeping import Housekeeper, Retention, disk_usage
from engine.storage import Storage
from engine.storage.ledger import Ask, QuotaPolicy
from tests.fakes.providers import FakeProviders
from tests.surfaces import RecordingSurface

MB = 2**20
STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."


@pytest.fixture
async def storage(tmp_path):
    opened = await Storage.open(
        tmp_path / "db.sqlite3", QuotaPolicy(daily_quota=100, max_running=100)
    )
    yield opened
    await opened.close()


def fill(folder: Path, name: str, size: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(os.urandom(size))  # random: no file system can store it sparsely
    return path


async def job(storage: Storage, work: Path, state: str | None, size: int = MB) -> Path:
    """A job with a folder of ``size`` bytes; ended now in ``state``, or still running."""
    job_id = uuid.uuid4().hex
    await storage.ledger.admit(Ask(job_id, "telegram:1", STORY))
    await storage.jobs.start(job_id, work / job_id, None)
    fill(work / job_id, "scene.mp4", size)
    if state is not None:
        await storage.jobs.finish(job_id, state)
    return work / job_id


async def test_ended_jobs_lose_their_files_after_retention_and_running_ones_never(
    tmp_path, storage
) -> None:
    work = tmp_path / "work"
    delivered = await job(storage, work, "delivered")
    failed = await job(storage, work, "failed")
    running = await job(storage, work, None)
    stray = fill(work / "left-by-an-older-run", "x.mp4", 1000).parent
    hour_ago = (datetime.now(UTC) - timedelta(hours=3)).timestamp()
    os.utime(stray / "x.mp4", (hour_ago, hour_ago))
    os.utime(stray, (hour_ago, hour_ago))
    later = datetime.now(UTC) + timedelta(minutes=30)
    keeper = Housekeeper(
        work, storage.jobs, Retention(keep=timedelta(hours=1)), clock=lambda: later
    )

    first = await keeper.sweep()

    assert (delivered.exists(), failed.exists(), running.exists()) == (True, True, True)
    assert not stray.exists()
    assert first.removed_jobs == 1

    keeper = Housekeeper(
        work, storage.jobs, Retention(keep=timedelta(hours=1)),
        clock=lambda: later + timedelta(hours=1),
    )  # fmt: skip
    second = await keeper.sweep()

    assert (delivered.exists(), failed.exists(), running.exists()) == (False, False, True)
    assert second.removed_jobs == 2
    assert second.bytes_after < second.bytes_before


async def test_over_budget_oldest_ended_jobs_go_first_then_cached_files(tmp_path, storage) -> None:
    work = tmp_path / "work"
    cache = MediaCache(work / "cache", storage.db)
    running = await job(storage, work, None, size=2 * MB)
    oldest = await job(storage, work, "delivered")
    middle = await job(storage, work, "cancelled")
    newest = await job(storage, work, "delivered")
    # Cached outputs, oldest first; the newest also linked from a job (counted once).
    for index in range(3):
        source = fill(tmp_path / "made", f"{index}.png", MB)
        await cache.put(f"{index:02d}" + "a" * 62, source)
        source.unlink()  # the cache holds the only copy
        stamp = datetime.now(UTC).timestamp() - 100 + index
        os.utime(work / "cache" / f"{index:02d}" / f"{index:02d}{'a' * 62}.png", (stamp, stamp))
    os.link(work / "cache" / "02" / f"02{'a' * 62}.png", newest / "image.png")
    assert disk_usage(work) < 9 * MB  # the linked file counts once

    keeper = Housekeeper(
        work,
        storage.jobs,
        Retention(keep=timedelta(days=1), budget_bytes=6 * MB + MB // 2),
        cache=cache,
    )
    sweep = await keeper.sweep()

    assert not oldest.exists() and not middle.exists()
    assert newest.exists() and running.exists()
    assert sweep.removed_jobs == 2
    assert sweep.bytes_after <= 6 * MB + MB // 2

    tight = Housekeeper(
        work,
        storage.jobs,
        Retention(keep=timedelta(days=1), budget_bytes=3 * MB + MB // 2),
        cache=cache,
    )
    await tight.sweep()

    assert running.exists(), "a running job's checkpoints are never removed"
    assert not newest.exists()
    left = sorted(p.name[:2] for p in (work / "cache").rglob("*.png"))
    assert left == ["02"], "cached files go oldest first, only as many as needed"
    rows = await storage.db.fetch("SELECT key FROM media_cache ORDER BY key")
    assert [key[:2] for (key,) in rows] == left


async def test_the_engine_wakes_housekeeping_when_a_job_is_delivered(
    config, ffmpeg, media, storage
) -> None:
    fake = FakeProviders(media)
    engine = Engine(
        config, Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake), ffmpeg,
        books=Books(storage), retention=Retention(keep=timedelta(0)),
    )  # fmt: skip
    keeper = engine.housekeeper
    assert keeper is not None
    sweeping = asyncio.create_task(keeper.run(every_s=3600))
    try:
        request = await engine.admit(STORY, requester="telegram:1")
        surface = CheckingSurface()
        await engine.dream(request, surface)
        folder = config.work_dir / request.job_id

        async def gone() -> None:
            while folder.exists():
                await asyncio.sleep(0.02)

        await asyncio.wait_for(gone(), timeout=10)
    finally:
        sweeping.cancel()
    assert surface.final_existed == [True], "the video was delivered before its folder went"


class CheckingSurface(RecordingSurface):
    """Notes whether the final file was there when it was handed over."""

    final_existed: list[bool]

    async def deliver_final(self, result: DreamResult) -> None:
        self.final_existed = [*getattr(self, "final_existed", []), result.final.exists()]
        await super().deliver_final(result)


async def test_a_failing_sweep_is_logged_and_housekeeping_goes_on(tmp_path, caplog) -> None:
    storage = await Storage.open(tmp_path / "closed.sqlite3", QuotaPolicy())
    await storage.close()  # every query now fails
    fill(tmp_path / "work" / "some-job", "x.mp4", 10)
    keeper = Housekeeper(tmp_path / "work", storage.jobs, Retention())
    sweeping = asyncio.create_task(keeper.run(every_s=3600))

    async def failures(count: int) -> None:
        while sum("sweep failed" in r.getMessage() for r in caplog.records) < count:
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(failures(1), timeout=10)
        keeper.wake()
        await asyncio.wait_for(failures(2), timeout=10)  # woken again: it is still running
        assert not sweeping.done()
    finally:
        sweeping.cancel()
