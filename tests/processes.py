"""What child processes this test process has, read from /proc (Linux)."""

from __future__ import annotations

import asyncio
from pathlib import Path


def ffmpeg_children() -> list[int]:
    """PIDs of this process's running ffmpeg children."""
    children = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids = (task / "children").read_text().split()
        except FileNotFoundError:
            continue  # a worker thread (asyncio.to_thread, aiosqlite) ended meanwhile
        for pid in pids:
            try:
                if "ffmpeg" in Path(f"/proc/{pid}/comm").read_text():
                    children.append(int(pid))
            except FileNotFoundError:
                continue
    return children


async def first_ffmpeg_children(timeout_s: float = 30) -> list[int]:
    """Wait until ffmpeg children exist and return their PIDs (/proc has no event to await)."""

    async def poll() -> list[int]:
        while not (pids := ffmpeg_children()):
            await asyncio.sleep(0.01)
        return pids

    return await asyncio.wait_for(poll(), timeout_s)


def is_gone(pid: int) -> bool:
    """Whether a process has exited and been reaped."""
    return not Path(f"/proc/{pid}").exists()
