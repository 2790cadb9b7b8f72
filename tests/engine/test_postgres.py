"""PostgreSQL as the books: its migrations, its schema kept the same as SQLite's, its faults.

Runs against the server .ci/run starts (skipped locally without DREAMBOT_TEST_DATABASE_URL);
what both backends must do alike is in the contract tests (test_ledger, test_jobs).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from engine import DatabaseUnusableError, StageFailedError
from engine.models import JobState
from engine.storage import Storage, StoredJob, open_backend
from engine.storage.backend import Backend
from engine.storage.db import Database
from engine.storage.dialect import Lock
from engine.storage.ledger import Ask, QuotaPolicy
from engine.storage.migrations import POSTGRES_MIGRATIONS, applied_steps, migrate
from engine.storage.patience import Write
from tests.engine.test_jobs import STORY, engine_for
from tests.fakes.providers import FakeProviders
from tests.postgres import fresh_schema
from tests.surfaces import RecordingSurface

NAMES = [name for name, _ in POSTGRES_MIGRATIONS]


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema() as fresh:
        yield fresh


@pytest.fixture
async def db(url: str) -> AsyncIterator[Backend]:
    opened = await open_backend(url)
    yield opened
    await opened.close()


async def test_an_empty_schema_gets_every_step_once(db: Backend, url: str) -> None:
    async with db.transaction() as tx:
        assert await applied_steps(tx, db.dialect) == NAMES
        assert await migrate(tx, dialect=db.dialect) == []
    again = await open_backend(url)
    await again.close()


async def test_processes_starting_together_migrate_once(url: str) -> None:
    opened = await asyncio.gather(*(open_backend(url) for _ in range(4)))
    try:
        rows = await opened[0].fetch("SELECT name, count(*) FROM _migrations GROUP BY name")
        assert sorted(rows) == [(name, 1) for name in NAMES]
    finally:
        for db in opened:
            await db.close()


async def columns_of_sqlite(db: Database) -> set[tuple[str, str]]:
    rows = await db.fetch(
        "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
        "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
    )
    return {(str(table), str(column)) for table, column in rows}


async def test_the_schema_has_the_tables_and_columns_sqlite_has(db: Backend) -> None:
    sqlite = await Database.open(":memory:")
    try:
        expected = await columns_of_sqlite(sqlite)
    finally:
        await sqlite.close()
    rows = await db.fetch(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema()"
    )
    # seq is PostgreSQL's stand-in for SQLite's implicit rowid.
    assert {(str(t), str(c)) for t, c in rows if c != "seq"} == expected


async def test_an_unreachable_server_is_named_without_its_password() -> None:
    with pytest.raises(DatabaseUnusableError) as refused:
        await open_backend(
            "postgresql://dreambot:hunter2secret@127.0.0.1:1/books?connect_timeout=1"
        )
    message = str(refused.value)
    assert "hunter2secret" not in message
    assert "postgresql://dreambot@127.0.0.1:1/books" in message
    assert "DREAMBOT_DATABASE_URL" in message


async def test_pooled_connections_the_server_dropped_are_replaced_unseen(url: str) -> None:
    storage = await Storage.open(url, QuotaPolicy())
    try:
        await storage.ledger.admit(Ask(job_id="j1", user="telegram:1", story="s", cost=0.5))
        killer = await open_backend(url)
        try:
            # An administrator's restart, as each pooled connection sees it (SQLSTATE 57P01).
            await killer.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                "AND backend_type = 'client backend'"
            )
        finally:
            await killer.close()
        assert await storage.ledger.show("telegram:1") is not None  # a read, not refused
        assert await storage.settle("j1", JobState.DELIVERED) == 0.5
        assert await storage.db.fetch("SELECT state, charge FROM jobs") == [
            ("delivered", "committed")
        ]
    finally:
        await storage.close()


async def test_a_settlement_waits_out_a_read_only_server_and_is_recorded_once(url: str) -> None:
    """The server turned read-only (SQLSTATE 25006, as a standby or an operator's switch):
    the settlement is retried until the server takes writes again, and charges once."""
    admin = await psycopg.AsyncConnection.connect(url, autocommit=True)
    refused: list[Write] = []
    writable: list[asyncio.Task[None]] = []

    async def make_writable() -> None:
        await admin.execute("ALTER SYSTEM RESET default_transaction_read_only")
        await admin.execute("SELECT pg_reload_conf()")

    def heard(what: Write) -> None:
        refused.append(what)
        if not writable:
            writable.append(asyncio.create_task(make_writable()))

    storage = await Storage.open(url, QuotaPolicy(), on_refused=heard)
    try:
        await admin.execute("SET default_transaction_read_only = off")  # this session writes
        await storage.ledger.admit(Ask(job_id="j1", user="telegram:1", story="s", cost=0.5))
        await admin.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        await admin.execute("SELECT pg_reload_conf()")
        while (await storage.db.fetch("SHOW default_transaction_read_only")) != [("on",)]:
            await asyncio.sleep(0.01)  # the reload reaches each session at its next command

        assert await storage.settle("j1", JobState.DELIVERED) == 0.5
        assert Write.SETTLE in refused
        assert await storage.db.fetch("SELECT state, charge FROM jobs") == [
            ("delivered", "committed")
        ]
    finally:
        await make_writable()
        for task in writable:
            await task
        await admin.close()
        await storage.close()


async def test_statements_in_sqlite_form_mean_the_same_on_postgres(db: Backend) -> None:
    # `?` inside a literal is text, `%` is psycopg's placeholder sign unless doubled, and
    # `::` is a cast, not a named parameter.
    assert await db.fetch("SELECT ? || '?%', '7'::int % 4", ("a",)) == [("a?%", 3)]
    assert await db.fetch("SELECT :x || :x", {"x": "b"}) == [("bb",)]
    # Nor in a dollar-quoted body (PL/pgSQL) or after `--`.
    assert await db.fetch("SELECT $$a?b%$$ || ? -- c? :d 5%\n", ("e",)) == [("a?b%e",)]


async def test_a_process_starting_leaves_alone_the_jobs_a_live_process_runs(
    url: str, config, ffmpeg, media
) -> None:
    """Two processes on one server: the second's start resumes only what no live process
    holds, and takes a job over once its process is gone (its connection, and claims, too)."""
    first = await Storage.open(url, QuotaPolicy())
    second = await Storage.open(url, QuotaPolicy())
    try:
        request = await engine_for(config, ffmpeg, FakeProviders(media), first).admit(
            STORY, requester="telegram:1"
        )
        later = engine_for(config, ffmpeg, FakeProviders(media), second)
        rebuilt: list[str] = []

        async def rebuild(stored: StoredJob) -> RecordingSurface:
            rebuilt.append(stored.job_id)
            return RecordingSurface()

        assert await later.resume(rebuild) == []
        assert rebuilt == []

        await first.close()  # the first process is gone, mid-job
        [task] = await later.resume(rebuild)
        result = await task
        assert rebuilt == [request.job_id] and result.final.exists()
        assert await second.db.fetch("SELECT state, charge FROM jobs") == [
            ("delivered", "committed")
        ]
    finally:
        await second.close()
        await first.close()


async def test_claims_lost_with_their_connection_are_taken_again(url: str) -> None:
    """A server restart (or a network split) drops a process's claims with its connection;
    the process takes them again before anything else, so a process starting later still
    leaves its jobs alone."""
    first, second = await open_backend(url), await open_backend(url)
    try:
        assert await first.claim("j1") is True
        assert await second.claim("j1") is False
        await second.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND classid = ? AND granted",
            (Lock.JOB,),
        )
        assert await first.claim("j2") is True  # on a new connection, with j1 taken again
        assert await second.claim("j1") is False
        await first.release("j1")
        assert await second.claim("j1") is True
    finally:
        await first.close()
        await second.close()


async def test_a_malformed_address_is_refused_without_quoting_it() -> None:
    with pytest.raises(DatabaseUnusableError) as refused:
        await open_backend("postgresql://dreambot:s3cr%zzet@127.0.0.1:1/books")
    assert "s3cr" not in str(refused.value) and "percent-encoded" in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


async def test_a_process_resuming_again_leaves_alone_the_jobs_it_runs(
    url: str, config, ffmpeg, media
) -> None:
    """After a standby takes a bot over it resumes what is unheld; the jobs this process
    admitted itself (its other bot's) are held by its own session, which would take the
    lock again: they must not be run twice."""
    storage = await Storage.open(url, QuotaPolicy())
    try:
        engine = engine_for(config, ffmpeg, FakeProviders(media), storage)
        await engine.admit(STORY, requester="telegram:1")
        rebuilt: list[str] = []

        async def rebuild(stored: StoredJob) -> RecordingSurface:
            rebuilt.append(stored.job_id)
            return RecordingSurface()

        assert await engine.resume(rebuild) == [] and rebuilt == []
    finally:
        await storage.close()


class Unwritable(RecordingSurface):
    """A chat that refuses the acknowledgement (a deleted chat, a bot removed from it)."""

    async def acknowledge(self, ticket: object) -> None:
        raise RuntimeError("Forbidden: bot was kicked from the group chat")


async def test_a_job_that_cannot_start_or_show_itself_is_refunded_and_let_go(
    url: str, config, ffmpeg, media
) -> None:
    """A job whose chat refuses its first message, or that its adapter gives back before
    it starts, ends refunded, and no claim is left that would keep other processes off."""
    first = await Storage.open(url, QuotaPolicy(daily_quota=5))
    other = await Storage.open(url, QuotaPolicy())
    try:
        engine = engine_for(config, ffmpeg, FakeProviders(media), first)
        unwritable = await engine.admit(STORY, requester="telegram:1")
        surface = Unwritable()
        with pytest.raises(StageFailedError):
            await engine.dream(unwritable, surface)
        withdrawn = await engine.admit(STORY, requester="telegram:1")
        await engine.withdraw(withdrawn)

        assert await first.db.fetch("SELECT state, charge FROM jobs ORDER BY created_at") == [
            ("failed", "refunded"),
            ("failed", "refunded"),
        ]
        assert (await first.ledger.show("telegram:1")).used == 0
        assert await other.db.claim(unwritable.job_id) is True
        assert await other.db.claim(withdrawn.job_id) is True
    finally:
        await other.close()
        await first.close()
