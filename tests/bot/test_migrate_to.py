"""`dreambot db migrate-to`: an SQLite file's books moved to PostgreSQL, as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import AdmissionRefusedError, Refusal
from engine.models import JobState, Language, Preferences, Stage, StageStatus
from engine.storage import Storage
from engine.storage.ledger import Ask, QuotaPolicy
from tests.postgres import fresh_schema

POLICY = QuotaPolicy(daily_quota=2, max_running=5)


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema() as fresh:
        # The test cluster trusts loopback logins: any password is accepted, and must not leak.
        yield fresh.replace("postgresql://postgres@", "postgresql://postgres:must-not-leak@", 1)


def migrate_to(db: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "db", "migrate-to"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DREAMBOT_DB": str(db), "DREAMBOT_DATABASE_URL": url},
        check=False,
    )


async def books_of_a_running_bot(db: Path) -> None:
    storage = await Storage.open(db, POLICY)
    try:
        await storage.ledger.set_banned("telegram:666", True)
        await storage.ledger.grant("telegram:7", 3)
        await storage.users.put("telegram:7", Preferences(language=Language.parse("uk")))
        await storage.chats.put("discord:guild:1", "gallery", "42", set_by="discord:9")
        await storage.ledger.admit(Ask("delivered", "telegram:7", "Ніч і маяк.", cost=0.75))
        await storage.jobs.record_stage("delivered", Stage.SCRIPT, StageStatus.DONE, 1.5)
        await storage.settle("delivered", JobState.DELIVERED, timings={Stage.MERGE: 0.25})
        await storage.ledger.admit(Ask("failed", "telegram:7", "A second story.", cost=0.5))
        await storage.settle("failed", JobState.FAILED, stage=Stage.CLIPS, failure="fal down")
    finally:
        await storage.close()


async def test_bans_grants_settings_and_finished_jobs_move_over(tmp_path, url) -> None:
    db = tmp_path / "dreambot.sqlite3"
    await books_of_a_running_bot(db)

    moved = migrate_to(db, url)

    assert moved.returncode == 0, moved.stderr
    assert "must-not-leak" not in moved.stdout + moved.stderr
    assert "2 jobs" in moved.stdout and "1 users" in moved.stdout
    books = await Storage.open(url, POLICY)
    try:
        with pytest.raises(AdmissionRefusedError) as refused:
            await books.ledger.admit(Ask("again", "telegram:666", "a story"))
        assert refused.value.refusal is Refusal.BANNED
        view = await books.ledger.show("telegram:7")
        assert (view.used, view.limit) == (1, 5)  # the delivered job counts, the refund not
        assert await books.ledger.spent_today() == 0.75
        assert (await books.users.get("telegram:7")).language == Language.parse("uk")
        assert await books.chats.get("discord:guild:1", "gallery") == "42"
        [past] = await books.jobs.history("telegram:7", limit=10)
        assert (past.job_id, past.story) == ("delivered", "Ніч і маяк.")
        assert dict(await books.jobs.recent_stage_times()) == {Stage.SCRIPT: 1.5, Stage.MERGE: 0.25}
    finally:
        await books.close()

    again = migrate_to(db, url)
    assert again.returncode == 2
    assert "nothing was moved: the target already has users" in again.stderr


async def test_books_with_a_job_still_running_are_not_moved(tmp_path, url) -> None:
    db = tmp_path / "dreambot.sqlite3"
    storage = await Storage.open(db, POLICY)
    try:
        await storage.ledger.admit(Ask("running", "telegram:7", "a story"))
    finally:
        await storage.close()

    moved = migrate_to(db, url)

    assert moved.returncode == 2
    assert "1 jobs are still admitted or running here" in moved.stderr
    books = await Storage.open(url, POLICY)
    try:
        assert await books.db.fetch("SELECT count(*) FROM jobs") == [(0,)]
    finally:
        await books.close()
