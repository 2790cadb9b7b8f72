"""One aiosqlite connection in WAL mode, shared by the process, used under one lock."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import aiosqlite

from engine.errors import DatabaseMissingError, DatabaseUnusableError
from engine.storage.backend import Params, Row
from engine.storage.dialect import Dialect
from engine.storage.migrations import migrate

MEMORY = ":memory:"
RESTORE = (
    'Restore the latest backup (docs/operations.md, "Backing up the database"), or move the '
    "file away to start an empty database (no quotas, bans or jobs)"
)
_CHECK_ACCESS = (
    "Check that the disk is not full and that this user may read and write the file and its folder"
)
_DAMAGED = {sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT}
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


class Database:
    """The process's single connection to the SQLite file.

    Coroutines sharing an aiosqlite connection share its transaction, so every use takes
    ``self.lock``: a statement from one task can never land inside another's transaction.
    """

    dialect = Dialect.SQLITE

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self.lock = asyncio.Lock()

    @classmethod
    async def open(
        cls, path: Path | str, *, create: bool = True, migrate_until: str | None = None
    ) -> Database:
        """Open, check and migrate the database file; a missing file is a new database.

        With ``create=False`` a missing file is a ``DatabaseMissingError`` instead. A file
        that cannot be used (damaged, emptied, unreadable, locked) is a
        ``DatabaseUnusableError`` naming it, and no connection is left open: aiosqlite's
        thread would keep the process alive after the error.
        """
        if str(path) == MEMORY:
            name, target, uri = MEMORY, MEMORY, False
        else:
            name = str(Path(path).absolute())  # the operator may not know the working folder
            try:
                target, uri = _target(Path(name), create=create)
            except OSError as exc:
                raise DatabaseUnusableError(
                    name, f"cannot be opened ({exc.strerror or exc})", advice=_CHECK_ACCESS
                ) from exc
        try:
            connection = await aiosqlite.connect(target, isolation_level=None, timeout=10, uri=uri)
        except sqlite3.Error as exc:  # aiosqlite stops its thread when the connect fails
            raise _unusable(name, exc) from exc
        try:
            await connection.execute("PRAGMA busy_timeout=10000")
            # Read-only, and before WAL mode is set, so a damaged file is left as it was.
            await _quick_check(connection, name)
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=NORMAL",
                "PRAGMA foreign_keys=ON",
            ):
                await connection.execute(pragma)
            database = cls(connection)
            async with database.transaction() as tx:
                await migrate(tx, until=migrate_until)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await connection.close()
            if isinstance(exc, sqlite3.Error):
                raise _unusable(name, exc) from exc
            raise
        return database

    async def claim(self, job_id: str) -> bool | None:
        """Always True: one process keeps its books in an SQLite file, so every job is its."""
        return True

    async def release(self, job_id: str) -> None:
        """Nothing to let go of (``claim``)."""

    async def lost(self) -> list[str]:
        """Nothing is ever lost to another process (``claim``)."""
        return []

    async def hold(self, name: str) -> bool | None:
        """Always True: one process serves the bots that keep their books in the file."""
        return True

    async def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        async with self.lock:
            await self._connection.close()

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
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


def _target(path: Path, *, create: bool) -> tuple[str, bool]:
    """What to hand SQLite for ``path`` (a name or a URI), once the file itself looks usable."""
    name = str(path)
    if path.is_dir():
        raise DatabaseUnusableError(
            name, "is a folder, not a database file", advice="Name a file (a new name makes one)"
        )
    if not path.exists():
        if not create:
            raise DatabaseMissingError(name, "does not exist", advice="Nothing was created")
        path.parent.mkdir(parents=True, exist_ok=True)
        return name, False
    if path.stat().st_size == 0:
        # SQLite writes the first page when WAL mode is set, before any migration, so a
        # file dreambot ever opened is never empty again: this one was emptied or cut off.
        raise DatabaseUnusableError(
            name, "is empty (0 bytes), which a dreambot database never is", advice=RESTORE
        )
    # mode=rw: SQLite must not make a new, empty file if this one goes away meanwhile.
    return path.resolve().as_uri() + "?mode=rw", True


async def _quick_check(connection: aiosqlite.Connection, name: str) -> None:
    """Refuse a file whose pages do not hold together (the header alone can look fine)."""
    found = [row[0] for row in await connection.execute_fetchall("PRAGMA quick_check")]
    if found != ["ok"]:
        raise DatabaseUnusableError(name, f"is not a usable database ({found[0]})", advice=RESTORE)


def _unusable(name: str, exc: sqlite3.Error) -> DatabaseUnusableError:
    """SQLite's refusal of the file as one line that says what to do about it."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code in _DAMAGED:
        return DatabaseUnusableError(name, f"is not a usable database ({exc})", advice=RESTORE)
    if code in _BUSY:
        return DatabaseUnusableError(
            name,
            f"is locked by another process ({exc})",
            advice="Stop the other program using it and start again",
        )
    return DatabaseUnusableError(name, f"cannot be opened ({exc})", advice=_CHECK_ACCESS)


class Transaction:
    """Statements inside one open transaction."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one statement and return its rows."""
        return [tuple(row) for row in await self._connection.execute_fetchall(sql, params)]

    async def run_many(self, sql: str, params: Iterable[Params]) -> None:
        """Run one statement for every parameter set, in order, in a single round trip."""
        await self._connection.executemany(sql, params)
