"""The SQLite file: WAL mode, and migrations from empty and from every earlier step."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from engine import DatabaseMissingError, DatabaseUnusableError
from engine.storage.db import Database
from engine.storage.migrations import MIGRATIONS, applied_steps, migrate

NAMES = [name for name, _ in MIGRATIONS]
STORY = "A lighthouse keeper befriends a storm. " * 8


async def schema(db: Database) -> list[tuple[object, ...]]:
    return await db.fetch(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
    )


async def test_an_empty_file_gets_every_step_in_order_and_wal(tmp_path) -> None:
    db = await Database.open(tmp_path / "db.sqlite3")
    try:
        async with db.transaction() as tx:
            assert await applied_steps(tx) == NAMES
        assert (await db.fetch("PRAGMA journal_mode"))[0][0] == "wal"
    finally:
        await db.close()


@pytest.mark.parametrize("stop", NAMES[:-1])
async def test_every_earlier_step_upgrades_to_the_same_schema(tmp_path, stop) -> None:
    fresh = await Database.open(tmp_path / "fresh.sqlite3")
    expected = await schema(fresh)
    await fresh.close()

    old = await Database.open(tmp_path / "old.sqlite3", migrate_until=stop)
    async with old.transaction() as tx:
        assert (await applied_steps(tx))[-1] == stop
    await old.close()

    upgraded = await Database.open(tmp_path / "old.sqlite3")
    try:
        assert await schema(upgraded) == expected
        async with upgraded.transaction() as tx:
            assert await applied_steps(tx) == NAMES
            assert await migrate(tx) == []
    finally:
        await upgraded.close()


async def test_costs_kept_as_floats_become_exact_micros_and_the_spend_is_summed_again(
    tmp_path,
) -> None:
    old = await Database.open(tmp_path / "old.sqlite3", migrate_until="005_job_language")
    async with old.transaction() as tx:
        for n, charge in enumerate(["reserved", "committed", "refunded", "committed"]):
            await tx.fetch(
                "INSERT INTO jobs (id, user_key, day, story, cost, state, charge, created_at) "
                "VALUES (?, 'u', '2026-12-01', 's', 0.1, 'delivered', ?, 'now')",
                (f"j{n}", charge),
            )
    await old.close()

    upgraded = await Database.open(tmp_path / "old.sqlite3")
    try:
        assert await upgraded.fetch("SELECT DISTINCT cost_micros FROM jobs") == [(100_000,)]
        assert await upgraded.fetch("SELECT day, spent_micros FROM daily_spend") == [
            ("2026-12-01", 300_000)
        ]
    finally:
        await upgraded.close()


async def test_a_failed_transaction_leaves_nothing_behind(tmp_path) -> None:
    db = await Database.open(tmp_path / "db.sqlite3")
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.fetch(
                    "INSERT INTO users (user_key, banned, updated_at) VALUES ('t:1', 1, 'now')"
                )
                raise RuntimeError("boom")
        assert await db.fetch("SELECT count(*) FROM users") == [(0,)]
    finally:
        await db.close()


def threads_left(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since ``before`` that do not end: aiosqlite's would keep a process up."""
    started = [thread for thread in threading.enumerate() if thread not in before]
    for thread in started:
        thread.join(timeout=5)
    return [thread for thread in started if thread.is_alive()]


async def filled(path: Path, jobs: int = 3000) -> Path:
    """A migrated file with enough jobs that its pages reach far past the schema's."""
    await _open_and_close(path)
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.executemany(
            "INSERT INTO jobs (id, user_key, day, story, state, charge, created_at) "
            "VALUES (?, ?, '2025-01-01', ?, 'delivered', 'committed', '2025-01-01T00:00')",
            (
                (f"{n:012x}", f"telegram:{n}", "A keeper befriends a storm. " * 8)
                for n in range(jobs)
            ),
        )
    return path


async def _open_and_close(path: Path) -> None:
    await (await Database.open(path)).close()


async def test_a_new_file_is_never_empty_once_opened(tmp_path) -> None:
    # What the zero-length refusal rests on: WAL mode writes the first page at once.
    await _open_and_close(tmp_path / "new.sqlite3")
    assert (tmp_path / "new.sqlite3").stat().st_size > 0
    assert not (tmp_path / "new.sqlite3-wal").exists()


async def test_damage_inside_the_file_is_refused_and_nothing_stays_open(tmp_path) -> None:
    db = await filled(tmp_path / "db.sqlite3")
    size = db.stat().st_size
    with db.open("r+b") as file:
        # The header and schema stay whole, so only the integrity check can tell.
        file.seek(size // 2 // 4096 * 4096)
        file.write(os.urandom(4 * 4096))
    threads = set(threading.enumerate())

    with pytest.raises(DatabaseUnusableError) as refused:
        await Database.open(db)

    assert str(refused.value).startswith(f"{db} is not a usable database (")
    assert "Restore the latest backup" in str(refused.value)
    assert threads_left(threads) == []


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda path: path.write_bytes(b""), "is empty (0 bytes)"),
        (lambda path: path.write_bytes(b"SQLite format 3\0" + os.urandom(8192)), "is not a usable"),
        (lambda path: path.mkdir(), "is a folder"),
    ],
)
async def test_an_unusable_file_is_refused_as_it_is(tmp_path, make, problem) -> None:
    db = tmp_path / "db.sqlite3"
    make(db)
    threads = set(threading.enumerate())

    with pytest.raises(DatabaseUnusableError) as refused:
        await Database.open(db)

    assert str(refused.value).startswith(f"{db} {problem}")
    assert threads_left(threads) == []
    assert sorted(tmp_path.iterdir()) == [db]


async def test_a_missing_file_is_not_made_when_asked_not_to(tmp_path) -> None:
    with pytest.raises(DatabaseMissingError):
        await Database.open(tmp_path / "db.sqlite3", create=False)
    assert list(tmp_path.iterdir()) == []


async def test_an_existing_file_opens_without_create(tmp_path) -> None:
    await _open_and_close(tmp_path / "db.sqlite3")
    db = await Database.open(tmp_path / "db.sqlite3", create=False)
    await db.close()
