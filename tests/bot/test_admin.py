"""Admin commands from the terminal, against a real database file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bot.users import parse_user
from engine import UsageError
from engine.storage import Storage
from engine.storage.ledger import Ask, QuotaPolicy


def dreambot(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DREAMBOT_DB": str(db), "DREAMBOT_DAILY_QUOTA": "2"},
        check=False,
    )


def use_dreams(db: Path, user: str, count: int) -> None:
    async def admit() -> None:
        storage = await Storage.open(db, QuotaPolicy(daily_quota=2, max_running=10))
        try:
            for _ in range(count):
                await storage.ledger.admit(Ask(uuid.uuid4().hex, user, "a story"))
        finally:
            await storage.close()

    asyncio.run(admit())


def test_show_grant_and_reset(tmp_path: Path) -> None:
    db = tmp_path / "dreambot.sqlite3"
    use_dreams(db, "telegram:123", 2)

    shown = dreambot(db, "quota", "show", "telegram:123")
    assert shown.returncode == 0
    assert "2 of 2 dreams used today, 0 left" in shown.stdout
    assert "00:00 UTC" in shown.stdout

    assert (
        "2 of 5 dreams used today, 3 left"
        in dreambot(db, "quota", "grant", "telegram:123", "3").stdout
    )
    assert (
        "2 of 4 dreams used today, 2 left" in dreambot(db, "quota", "reset", "telegram:123").stdout
    )


def test_ban_and_unban_and_stats(tmp_path: Path) -> None:
    db = tmp_path / "dreambot.sqlite3"
    assert dreambot(db, "ban", "discord:456").stdout.strip() == "discord:456 is banned"
    assert "(banned)" in dreambot(db, "quota", "show", "discord:456").stdout
    assert "no longer banned" in dreambot(db, "unban", "discord:456").stdout
    use_dreams(db, "discord:456", 1)

    stats = dreambot(db, "stats")
    assert stats.returncode == 0
    # Terminal dreams keep their own, temporary books: the report says whose jobs these are.
    assert stats.stdout.startswith(f"{db} (chat bots only):\n")
    assert "jobs: admitted 1" in stats.stdout
    assert "today: 1 admitted" in stats.stdout


def test_a_malformed_user_is_refused_in_one_line(tmp_path: Path) -> None:
    done = dreambot(tmp_path / "db.sqlite3", "ban", "@everyone")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("dreambot: USER must look like telegram:123")
    assert not (tmp_path / "db.sqlite3").exists()


@pytest.mark.parametrize("text", ["telegram:abc", "slack:1", "telegram:", "discord:1:2", ""])
def test_user_format(text: str) -> None:
    with pytest.raises(UsageError):
        parse_user(text)
    assert parse_user(" Telegram:-100123 ") == "telegram:-100123"
