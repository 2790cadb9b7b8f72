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
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from engine.errors import DatabaseUnusableError
from engine.storage.backend import Params, Row
from engine.storage.dialect import Dialect, Lock, Statement, to_pyformat
from engine.storage.migrations import migrate

POOL_SIZE = 10  # connections per process; each admission holds one for one short transaction
CONNECT_TIMEOUT_S = 10
# A peer that vanished without closing (a host gone, a network split) is noticed within
# about a minute, not the kernel's two hours.
KEEPALIVES: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10}
# A process that stalls inside a transaction (paused, swapping) would hold its locks, the
# budget's among them, for every other process: the server ends such a session.
STALLED_TRANSACTION = "SET idle_in_transaction_session_timeout = '60s'"
log = logging.getLogger(__name__)


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

    def __init__(self, pool: AsyncConnectionPool, url: str) -> None:
        self._pool = pool
        self._url = url
        # Job claims are session-level advisory locks, so they live on a connection of their
        # own for the process's life: when the process dies, its connection and claims go.
        self._claims: psycopg.AsyncConnection[Any] | None = None
        self._claims_lock = asyncio.Lock()
        # The jobs and bots this process holds, to take again on a new claims connection.
        self._held: set[tuple[Lock, str]] = set()
        self._lost: set[str] = set()  # held once, another process's since a reconnect

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
        try:
            conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            raise DatabaseUnusableError(
                name,
                "is not an address psycopg can read",
                advice="Check DREAMBOT_DATABASE_URL: postgresql://user:password@host:port"
                "/database, with any of :/?#[]@% in the password percent-encoded",
            ) from None  # psycopg's message quotes the address, password and all
        pool: AsyncConnectionPool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs={"autocommit": True, **KEEPALIVES},
            configure=_configure,
            # A connection the server dropped (a restart) is found before a statement fails.
            check=AsyncConnectionPool.check_connection,
            timeout=CONNECT_TIMEOUT_S,
            name="dreambot",
        )
        try:
            # One connection first: the pool would retry a refused login until its timeout.
            probe = await psycopg.AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT_S)
            await probe.close()
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            database = cls(pool, url)
            async with database.transaction() as tx:
                await tx.fetch("SELECT pg_advisory_xact_lock(?, 0)", (Lock.MIGRATION,))
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
        async with self._claims_lock:
            if self._claims is not None:
                await self._claims.close()
            self._held.clear()
        await self._pool.close()

    async def claim(self, job_id: str) -> bool | None:
        """Hold ``job_id`` by a session advisory lock (``pg_try_advisory_lock``): True if
        taken now, False if another live process holds it or this one already does (it
        runs here), None if the server cannot say (it cannot be reached)."""
        return await self._take(Lock.JOB, job_id)

    async def release(self, job_id: str) -> None:
        """Let go of ``job_id``'s lock (``pg_advisory_unlock``)."""
        async with self._claims_lock:
            if (Lock.JOB, job_id) not in self._held:
                return  # never taken here, or let go of already
            self._held.discard((Lock.JOB, job_id))
            try:
                await self._on_claims(_GIVE_BACK, Lock.JOB, job_id)
            except psycopg.Error as exc:
                log.warning("job %s: its claim could not be released: %s", job_id, exc)

    async def hold(self, name: str) -> bool | None:
        """Serve the bot ``name`` for this process's life, as ``claim`` holds a job."""
        return await self._take(Lock.BOT, name)

    async def _take(self, kind: Lock, key: str) -> bool | None:
        async with self._claims_lock:
            if (kind, key) in self._held:
                # Session locks stack: taken twice, one release would leave it held. A job
                # held already runs here (not to be resumed); a bot held already is served
                # here (its start is being retried).
                return kind is Lock.BOT
            try:
                rows = await self._on_claims(_TAKE, kind, key)
            except psycopg.Error as exc:
                log.warning("%s: cannot tell whether another process holds it: %s", key, exc)
                return None
            if rows[0][0]:
                self._held.add((kind, key))
            return bool(rows[0][0])

    async def _on_claims(self, sql: str, kind: Lock, key: str) -> list[Row]:
        """``sql`` about ``key`` on the claims connection; once more on a new one if the
        server had dropped it (found only by using it)."""
        try:
            return await _run(await self._claims_connection(), sql, (kind, key))
        except psycopg.OperationalError:
            if self._claims is None or not (self._claims.broken or self._claims.closed):
                raise
        return await _run(await self._claims_connection(), sql, (kind, key))

    async def _claims_connection(self) -> psycopg.AsyncConnection[Any]:
        """The claims connection; a new one takes again every lock the lost one held (the
        server forgot them with it, on a restart or a network split)."""
        if self._claims is not None and not (self._claims.closed or self._claims.broken):
            return self._claims
        self._claims = await psycopg.AsyncConnection.connect(
            self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, **KEEPALIVES
        )
        for kind, key in sorted(self._held):
            if not (await _run(self._claims, _TAKE, (kind, key)))[0][0]:
                # Another process took it meanwhile: it is that one's now.
                log.warning("%s: another process took it over meanwhile", key)
                self._held.discard((kind, key))
                self._lost.add(key)
        return self._claims

    async def lost(self) -> list[str]:
        """The bots and jobs this process held and another process holds now, because the
        server dropped this one's claims connection meanwhile (a restart, a split); each is
        told once. Checks the connection first, so a drop is found within one call."""
        async with self._claims_lock:
            if self._held:
                try:
                    await _run(await self._claims_connection(), "SELECT 1", ())
                except psycopg.OperationalError:
                    with contextlib.suppress(psycopg.Error):
                        await self._claims_connection()  # it was dropped: a new one
            found, self._lost = sorted(self._lost), set()
            return found

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

    @property
    def connection(self) -> psycopg.AsyncConnection[Any]:
        """The connection, for a library that writes in the same transaction (the queue)."""
        return self._connection

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one statement and return its rows."""
        return await _run(self._connection, sql, params)

    async def run_many(self, sql: str, params: Iterable[Params]) -> None:
        """Run one statement for every parameter set, in order (psycopg pipelines them)."""
        batch = [_params(one) for one in params]
        if batch:
            async with self._connection.cursor() as cursor:
                await cursor.executemany(_text(sql), batch)


_TAKE = "SELECT pg_try_advisory_lock(?, hashtext(?))"
_GIVE_BACK = "SELECT pg_advisory_unlock(?, hashtext(?))"


async def _configure(connection: psycopg.AsyncConnection[Any]) -> None:
    await connection.execute(STALLED_TRANSACTION)


async def _run(connection: psycopg.AsyncConnection[Any], sql: str, params: Params) -> list[Row]:
    # Parameters are always passed, even none: psycopg then reads `%%` as the `%` it means.
    cursor = await connection.execute(_text(sql), _params(params))
    return [tuple(row) for row in await cursor.fetchall()] if cursor.description else []
