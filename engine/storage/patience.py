"""Waiting out a database that refuses writes for now, so that what must be recorded is.

A lock held by another process past the busy timeout, a read-only file system, a full disk:
SQLite says so with a result code, and each passes once the operator acts (PostgreSQL says
the same of a server restarting, unreachable, read-only or out of space with an SQLSTATE).
A job's writes (its settlement above all) wait for that, however long it takes; they never
turn into a job failure, a lost refund or a charge nobody recorded.
"""

from __future__ import annotations

import enum
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

T = TypeVar("T")

log = logging.getLogger(__name__)

# Primary result codes (https://www.sqlite.org/rescode.html) that describe the database's
# condition, not the statement: the same write succeeds once the condition passes.
_PASSING = {
    5,  # SQLITE_BUSY: another connection holds the write lock past the busy timeout
    6,  # SQLITE_LOCKED: a conflict inside this connection's own transaction
    8,  # SQLITE_READONLY: read-only file, directory or file system; PRAGMA query_only
    10,  # SQLITE_IOERR: the operating system refused a read or write
    13,  # SQLITE_FULL: the disk (or the quota) is full
    14,  # SQLITE_CANTOPEN: the journal or WAL file cannot be opened
}


# SQLSTATE classes and codes (https://www.postgresql.org/docs/15/errcodes-appendix.html)
# that describe the server's condition: the same transaction, run again, succeeds once it passes.
_PG_PASSING_CLASSES = {
    "08",  # connection exception: the connection broke or could not be made
    "40",  # transaction rollback: serialization failure, deadlock detected
    "53",  # insufficient resources: disk full, out of memory, too many connections
    "57",  # operator intervention: admin shutdown, cannot connect now (starting up)
}
_PG_PASSING = {"25006"}  # read_only_sql_transaction: a standby, or the server set read-only
# psycopg's errors that carry no SQLSTATE because no server answered (by class name, so
# this module needs no psycopg: it is installed only for PostgreSQL).
_PG_UNANSWERED = {"OperationalError", "PoolTimeout", "InterfaceError"}


class Write(enum.StrEnum):
    """Which kind of write waited (the metrics label)."""

    SETTLE = "settle"  # a job's charge and end
    JOURNAL = "journal"  # a job's files, provider requests and stages
    JOB = "job"  # a job's start and where it shows itself


def is_refused(error: BaseException) -> bool:
    """Whether the database refused because of its condition, which will pass."""
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _PASSING
    if not type(error).__module__.startswith("psycopg"):
        return False
    state = getattr(error, "sqlstate", None)
    if state:
        return state[:2] in _PG_PASSING_CLASSES or state in _PG_PASSING
    return any(kind.__name__ in _PG_UNANSWERED for kind in type(error).__mro__)


Refused = Callable[[Write], None]


class Patience:
    """Retries refused writes, backing off to one attempt every ``max_wait_s``, forever.

    Listeners (``on_refused``, then any added by ``listen``) hear of every refused attempt:
    telemetry, and tests that wait for it.
    """

    def __init__(self, on_refused: Refused | None = None, *, max_wait_s: float = 5.0) -> None:
        self._listeners: list[Refused] = [on_refused] if on_refused is not None else []
        self._max_wait_s = max_wait_s

    def listen(self, listener: Refused) -> None:
        """Also tell ``listener`` of every refused attempt."""
        self._listeners.append(listener)

    async def until_stored(self, what: Write, write: Callable[[], Awaitable[T]]) -> T:
        """``write()``'s result once the database accepts it."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(is_refused),
            wait=wait_exponential(multiplier=0.05, max=self._max_wait_s),
            before_sleep=lambda state: self._note(what, state),
            reraise=True,
        ):
            with attempt:
                return await write()
        raise AssertionError("unreachable: the retry loop only ends by returning or raising")

    def _note(self, what: Write, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if state.attempt_number in (1, 10) or state.attempt_number % 100 == 0:
            log.warning(
                "the database refused a %s write (%s); retrying until it is recorded",
                what, error,
            )  # fmt: skip
        for listener in self._listeners:
            listener(what)
