"""The SQLite file: WAL mode, and migrations from empty and from every earlier step."""

from __future__ import annotations

import pytest

from engine.storage.db import Database
from engine.storage.migrations import MIGRATIONS, applied_steps, migrate

NAMES = [name for name, _ in MIGRATIONS]


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
