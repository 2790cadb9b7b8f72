"""PostgreSQL through psycopg 3: a pool of connections shared by the process, migrated once.

Chosen when ``DREAMBOT_DATABASE_URL`` names a server, so several processes on several hosts
can keep one set of books. This module imports psycopg, which only the ``postgres`` extra
installs; ``engine.storage.open_backend`` imports it only for a URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from engine.errors import DatabaseUnusableError
from engine.storage.backend import Params, Row
from engine.storage.dialect import JOB_LOCK_CLASS, LOCK_CLASS, Dialect, Statement, to_pyformat
from engine.storage.migrations import migrate

POOL_SIZE = 10  # connections per process; each admission holds one for one short transaction
CONNECT_TIMEOUT_S = 10
log = logging.getLogger(__name__)

MIGRATION_LOCK = 0  # with LOCK_CLASS: one process migrates at a time


def _text(sql: str) -> str:
    return sql.postgres if isinstance(sql, Statement) else to_pyformat(sql)


def _value(value: Any) -> Any:
    # Enums go in as their values, as SQLite stores them (psycopg would choose by its type).
    return value.value if isinstance(value, enum.Enum) else value


def _params(params: Params) -> Params:
    if isinstance(params, dict):
        return {name: _value(value) for name, value in params.items()}
    return [_value(value) for value in params]


class PostgresDatabase:
    """A pool of autocommit connections; ``transaction()`` holds one for its whole length."""

    dialect = Dialect.POSTGRES

    def __init__(self, pool: AsyncConnectionPool, name: str, url: str) -> None:
        self._pool = pool
        self.name = name
        self._url = url
        # Job claims are session-level advisory locks, so they live on a connection of their
        # own for the process's life: when the process dies, its connection and claims go.
        self._claims: psycopg.AsyncConnection[Any] | None = None
        self._claims_lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        name: str,
        migrate_until: str | None = None,
        pool_size: int = POOL_SIZE,
    ) -> PostgresDatabase:
        """Connect, and migrate under an advisory lock (processes may start together).

        A server that cannot be reached or refuses the login is a ``DatabaseUnusableError``
        naming it as ``name`` (never with its password), and no pool is left open.
        """
        pool: AsyncConnectionPool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs={"autocommit": True},
            timeout=CONNECT_TIMEOUT_S,
            name="dreambot",
        )
        try:
            # One connection first: the pool would retry a refused login until its timeout.
            probe = await psycopg.AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT_S)
            await probe.close()
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            database = cls(pool, name, url)
            async with database.transaction() as tx:
                await tx.fetch("SELECT pg_advisory_xact_lock(?, ?)", (LOCK_CLASS, MIGRATION_LOCK))
                await migrate(tx, until=migrate_until, dialect=Dialect.POSTGRES)
        except BaseException as exc:
            await pool.close()
            if isinstance(exc, PoolTimeout | psycopg.OperationalError):
                raise DatabaseUnusableError(
                    name,
                    "cannot be reached or refused the login",
                    advice="Check that the server runs, and the address, user and password "
                    "in DREAMBOT_DATABASE_URL",
                ) from None  # psycopg's message may quote the address with its password
            raise
        return database

    async def close(self) -> None:
        """Close every connection of the pool, and let go of this process's jobs."""
        if self._claims is not None:
            await self._claims.close()
        await self._pool.close()

    async def claim(self, job_id: str) -> bool:
        """Hold ``job_id`` by a session advisory lock (``pg_try_advisory_lock``); False if
        another live process holds it. If the claims connection cannot be used, True: the
        caller has just admitted the job or found it unheld, and a job left unrun is worse
        than a rare double run."""
        held = await self._on_claims("SELECT pg_try_advisory_lock(?, hashtext(?))", job_id)
        return held is not False

    async def release(self, job_id: str) -> None:
        """Let go of ``job_id``'s lock (``pg_advisory_unlock``)."""
        await self._on_claims("SELECT pg_advisory_unlock(?, hashtext(?))", job_id)

    async def _on_claims(self, sql: str, job_id: str) -> bool | None:
        async with self._claims_lock:
            try:
                if self._claims is None or self._claims.closed:
                    self._claims = await psycopg.AsyncConnection.connect(
                        self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                    )
                rows = await _run(self._claims, sql, (JOB_LOCK_CLASS, job_id))
            except psycopg.OperationalError as exc:
                # The server restarted or went away: its locks went with the connection.
                log.warning("job %s: its claim could not be taken or released: %s", job_id, exc)
                return None
            return bool(rows[0][0])

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one statement on its own (autocommit) and return its rows."""
        async with self._pool.connection() as connection:
            return await _run(connection, sql, params)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        """One connection in a transaction, committed on success, rolled back on error."""
        async with self._pool.connection() as connection, connection.transaction():
            yield PostgresTransaction(connection)


class PostgresTransaction:
    """Statements inside one open transaction on one connection."""

    def __init__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self._connection = connection

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one statement and return its rows."""
        return await _run(self._connection, sql, params)

    async def run_many(self, sql: str, params: Iterable[Params]) -> None:
        """Run one statement for every parameter set, in order (psycopg pipelines them)."""
        batch = [_params(one) for one in params]
        if batch:
            async with self._connection.cursor() as cursor:
                await cursor.executemany(_text(sql), batch)


async def _run(connection: psycopg.AsyncConnection[Any], sql: str, params: Params) -> list[Row]:
    # Parameters are always passed, even none: psycopg then reads `%%` as the `%` it means.
    cursor = await connection.execute(_text(sql), _params(params))
    return [tuple(row) for row in await cursor.fetchall()] if cursor.description else []
