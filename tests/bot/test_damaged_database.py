"""A database file that cannot be used stops every command at once, in one line.

Each command runs as a real process: what failed before was the process itself (aiosqlite's
thread of a half-opened connection kept it alive after the traceback, so a container's
restart policy never fired).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.storage import Storage
from engine.storage.ledger import Ask, QuotaPolicy
from tests.runs import TELEGRAM_TOKEN, free_port

COMMANDS = {
    "run": ("run",),
    "stats": ("stats",),
    "quota show": ("quota", "show", "telegram:123"),
    "quota grant": ("quota", "grant", "telegram:123", "2"),
}


def real_database(path: Path, jobs: int = 40) -> Path:
    """A database as the bot leaves it: migrated, with users and jobs in it."""

    async def fill() -> None:
        storage = await Storage.open(path, QuotaPolicy(daily_quota=jobs, max_running=jobs))
        try:
            for number in range(jobs):
                story = f"Story {number}: a lighthouse keeper befriends a storm. " * 4
                await storage.ledger.admit(Ask(uuid.uuid4().hex, f"telegram:{number}", story))
        finally:
            await storage.close()

    asyncio.run(fill())
    return path


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def bad_header(path: Path) -> None:
    real_database(path)
    with path.open("r+b") as file:
        file.write(b"Not a database!\0")  # the 16-byte magic "SQLite format 3\0"


def half_truncated(path: Path) -> None:
    real_database(path)
    os.truncate(path, path.stat().st_size // 2)


def emptied(path: Path) -> None:
    real_database(path)
    os.truncate(path, 0)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage": garbage,
    "bad header": bad_header,
    "half truncated": half_truncated,
    "zero length": emptied,
}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_damaged_database_stops_every_command_in_one_line(
    tmp_path: Path, damage: str, command: str
) -> None:
    db = tmp_path / "dreambot.sqlite3"
    DAMAGE[damage](db)
    before = db.read_bytes()
    env = {
        **os.environ,
        "DREAMBOT_DB": str(db),
        "DREAMBOT_WORK_DIR": str(tmp_path / "work"),
        # Nobody listens there: the process must stop before it talks to Telegram.
        "TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_API_BASE": f"http://127.0.0.1:{free_port()}",
    }

    done = subprocess.run(
        [sys.executable, "-m", "bot", *COMMANDS[command]],
        capture_output=True,
        text=True,
        # A hang guard, not a speed target (bench/run.py times start-up): the imports alone
        # take 4-5 s on a loaded 2-core machine. Before: a traceback, then no exit at all.
        timeout=30,
        env=env,
        check=False,
    )

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"dreambot: {db} ")
    assert "Restore the latest backup" in lines[0]
    assert db.read_bytes() == before  # refused, not repaired or reset


@pytest.mark.parametrize("command", ["stats", "quota show"])
def test_a_report_never_makes_a_database(tmp_path: Path, command: str) -> None:
    db = tmp_path / "dreambot.sqlite3"
    done = subprocess.run(
        [sys.executable, "-m", "bot", *COMMANDS[command]],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "DREAMBOT_DB": str(db)},
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"dreambot: there is no database at {db} (DREAMBOT_DB), so nothing to report; "
        "dreambot run makes it"
    )
    assert list(tmp_path.iterdir()) == []
