"""One aiosqlite connection in WAL mode, shared by the process, used under one lock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from engine.storage.migrations import migrate

Row = tuple[Any, ...]


class Database:
    """The process's single connection to the SQLite file.

    Coroutines sharing an aiosqlite connection share its transaction, so every use takes
    ``self.lock``: a statement from one task can never land inside another's transaction.
    """

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self.lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, migrate_until: str | None = None) -> Database:
        """Open (creating if needed) and migrate the database file."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(str(path), isolation_level=None, timeout=10)
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA busy_timeout=10000",
            "PRAGMA foreign_keys=ON",
        ):
            await connection.execute(pragma)
        database = cls(connection)
        async with database.transaction() as tx:
            await migrate(tx, until=migrate_until)
        return database

    async def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        async with self.lock:
            await self._connection.close()

    async def fetch(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        """Run one statement on its own and return its rows."""
        async with self.lock:
            return [tuple(row) for row in await self._connection.execute_fetchall(sql, params)]

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """An immediate (write-locked) transaction, committed on success, rolled back on error."""
        async with self.lock:
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._connection)
                await self._connection.execute("COMMIT")
            except BaseException:
                # A COMMIT refused (a full disk) leaves the transaction open; rolled back
                # here, the connection is fit for the next one.
                if self._connection.in_transaction:
                    await self._connection.execute("ROLLBACK")
                raise


class Transaction:
    """Statements inside one open transaction."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def fetch(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        """Run one statement and return its rows."""
        return [tuple(row) for row in await self._connection.execute_fetchall(sql, params)]

    async def run_many(self, sql: str, params: Iterable[Sequence[Any] | dict[str, Any]]) -> None:
        """Run one statement for every parameter set, in order, in a single round trip."""
        await self._connection.executemany(sql, params)
