"""What the stores need of a database, whichever backend it is (SQLite or PostgreSQL)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from engine.storage.dialect import Dialect

Row = tuple[Any, ...]
Params = Sequence[Any] | dict[str, Any]


class Transaction(Protocol):
    """Statements inside one open transaction."""

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one statement and return its rows."""
        ...

    async def run_many(self, sql: str, params: Iterable[Params]) -> None:
        """Run one statement for every parameter set, in order."""
        ...


class Backend(Protocol):
    """A database the engine keeps its books in."""

    dialect: Dialect

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one statement on its own (committed) and return its rows."""
        ...

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Transaction]:
        """A transaction, committed on success and rolled back on error."""
        ...

    async def claim(self, job_id: str) -> bool | None:
        """Hold ``job_id`` for this process until ``release`` or the process ends: True if
        taken now, False if a live process holds it already, this one included (then it is
        not to be resumed), None if the database cannot say now."""
        ...

    async def release(self, job_id: str) -> None:
        """Let go of a job this process held (it has ended)."""
        ...

    async def lost(self) -> list[str]:
        """What this process held (bots, jobs) and another process holds now; each told once."""
        ...

    async def hold(self, name: str) -> bool | None:
        """Serve the bot ``name`` (a token, a shard share) for this process's life: True if
        held now, False while another live process serves it, None if it cannot say."""
        ...

    async def close(self) -> None:
        """Let go of the database."""
        ...
