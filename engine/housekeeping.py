"""Media housekeeping: job folders go once their job has ended, and the disk stays in budget.

A job folder is removed ``retention`` after its job ended (delivered, failed or cancelled);
a folder the database does not know, left by an older run, ages from its newest file. When
the work folder still uses more than the budget, ended job folders go oldest first, then
cached provider outputs, oldest first. A running or resumable job's folder is never touched:
its files are the checkpoints a restart continues from.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.cache import MediaCache
from engine.storage.jobs import JobStore

log = logging.getLogger(__name__)

CACHE_FOLDER = "cache"


@dataclass(frozen=True)
class Retention:
    """How long ended jobs keep their files, and how much disk the work folder may use."""

    keep: timedelta = timedelta(hours=1)
    budget_bytes: int = 5000 * 2**20


@dataclass(frozen=True)
class Sweep:
    """What one pass did."""

    removed_jobs: int
    removed_cache_files: int
    bytes_before: int
    bytes_after: int


class Housekeeper:
    """Sweeps ``work_dir`` on request and on a timer; see the module docstring."""

    def __init__(
        self,
        work_dir: Path,
        jobs: JobStore,
        retention: Retention,
        *,
        cache: MediaCache | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.work_dir = work_dir
        self.jobs = jobs
        self.retention = retention
        self.cache = cache
        self._clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Ask for a sweep soon (the engine calls this when a job ends)."""
        self._wake.set()

    async def run(self, every_s: float = 300.0) -> None:
        """Sweep now, then whenever woken or every ``every_s``, until cancelled."""
        while True:
            self._wake.clear()
            try:
                await self.sweep()
            except Exception:
                # A full disk or a busy database must not stop the bots: the next pass
                # tries again.
                log.exception("housekeeping: sweep failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every_s):
                    await self._wake.wait()

    async def sweep(self) -> Sweep:
        """One pass: expire ended jobs' folders, then enforce the disk budget."""
        folders = await asyncio.to_thread(_job_folders, self.work_dir)
        ended = await self.jobs.finish_times(list(folders))
        now = self._clock()
        removable: list[tuple[datetime, Path]] = []
        for name, folder in folders.items():
            if name not in ended:
                removable.append((await asyncio.to_thread(_newest_mtime, folder), folder))
            elif (finished := ended[name]) is not None:
                removable.append((finished, folder))
            # else: running or resumable, never touched
        removable.sort()
        keep, budget = self.retention.keep, self.retention.budget_bytes
        expired = [folder for finished, folder in removable if now - finished >= keep]
        kept = [folder for finished, folder in removable if now - finished < keep]
        _, freed = await asyncio.to_thread(_remove_folders, expired)
        # One walk of the tree a pass; later removals subtract what they free.
        usage = await asyncio.to_thread(disk_usage, self.work_dir)
        before = usage + freed
        removed_jobs, removed_cache = len(expired), 0
        if usage > budget:
            trimmed, freed = await asyncio.to_thread(_remove_folders, kept, usage - budget)
            usage -= freed
            removed_jobs += trimmed
        if usage > budget:
            evicted, freed = await asyncio.to_thread(
                _trim_cache, self.work_dir / CACHE_FOLDER, usage - budget
            )
            usage -= freed
            if self.cache is not None:
                await self.cache.evict(evicted)
            removed_cache = len(evicted)
        if usage > budget:
            log.warning(
                "housekeeping: %d MB in use, over the %d MB budget; only running jobs are left",
                usage // 2**20, budget // 2**20,
            )  # fmt: skip
        if removed_jobs or removed_cache:
            log.info(
                "housekeeping: removed %d job folders and %d cached files; %d MB in use",
                removed_jobs, removed_cache, usage // 2**20,
            )  # fmt: skip
        return Sweep(removed_jobs, removed_cache, before, usage)


def disk_usage(root: Path) -> int:
    """Bytes on disk under ``root``, each hard-linked file (cache entries) counted once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for path in _files(root):
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        if (info.st_dev, info.st_ino) in seen:
            continue
        seen.add((info.st_dev, info.st_ino))
        total += info.st_blocks * 512
    return total


def _job_folders(work_dir: Path) -> dict[str, Path]:
    if not work_dir.is_dir():
        return {}
    return {
        entry.name: entry
        for entry in work_dir.iterdir()
        if entry.is_dir() and not entry.is_symlink() and entry.name != CACHE_FOLDER
    }


def _files(root: Path) -> Iterable[Path]:
    for folder, _, names in os.walk(root):
        for name in names:
            yield Path(folder) / name


def _newest_mtime(folder: Path) -> datetime:
    newest = folder.stat().st_mtime
    for path in _files(folder):
        with contextlib.suppress(FileNotFoundError):
            newest = max(newest, path.stat().st_mtime)
    return datetime.fromtimestamp(newest, UTC)


def _remove_folders(folders: Iterable[Path], excess: int | None = None) -> tuple[int, int]:
    """Remove folders in order: all of them, or only until ``excess`` bytes are freed.

    Returns how many went and the bytes that gave back.
    """
    removed = freed = 0
    for folder in folders:
        if excess is not None and freed >= excess:
            break
        freed += _freed_by(_files(folder))
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed, freed


def _trim_cache(folder: Path, excess: int) -> tuple[list[Path], int]:
    """Remove cached files (oldest first) until ``excess`` bytes are freed: which, and how much."""
    entries = []
    for path in _files(folder):
        with contextlib.suppress(FileNotFoundError):
            entries.append((path.stat().st_mtime, path))
    removed, freed = [], 0
    for _, path in sorted(entries):
        if freed >= excess:
            break
        freed += _freed_by([path])
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed, freed


def _freed_by(paths: Iterable[Path]) -> int:
    """Bytes that removing these files gives back: a file still linked elsewhere frees none."""
    freed = 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            info = path.stat()
            if info.st_nlink == 1:
                freed += info.st_blocks * 512
    return freed
