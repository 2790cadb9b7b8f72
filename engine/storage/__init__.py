"""Storage: named migrations, quotas, jobs and a media cache, on SQLite or PostgreSQL.

SQLite (one file, WAL mode) is the default; a ``postgresql://`` URL chooses PostgreSQL,
which several processes on several hosts can share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from engine.errors import DatabaseUnusableError
from engine.models import Charge, JobState, Stage
from engine.storage.backend import Backend
from engine.storage.chats import ChatSettings
from engine.storage.db import MEMORY, Database
from engine.storage.jobs import JobStore, StoredJob
from engine.storage.ledger import Ledger, QuotaPolicy
from engine.storage.patience import Patience, Refused, Write
from engine.storage.users import UserSettings

__all__ = [
    "Backend",
    "ChatSettings",
    "Database",
    "JobStore",
    "Ledger",
    "Patience",
    "QuotaPolicy",
    "Refused",
    "Storage",
    "StoredJob",
    "UserSettings",
    "Write",
    "describe",
    "is_server_url",
    "open_backend",
]

_SCHEMES = ("postgresql://", "postgres://")


def is_server_url(location: Path | str) -> bool:
    """Whether ``location`` names a PostgreSQL server rather than an SQLite file."""
    return isinstance(location, str) and location.startswith(_SCHEMES)


def describe(location: Path | str) -> str:
    """How to name ``location`` to a person: a file's full path, or a server's address
    without its password and options."""
    if not is_server_url(location):
        return MEMORY if str(location) == MEMORY else str(Path(location).absolute())
    try:
        parts = urlsplit(str(location))
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "postgresql://(an address that cannot be read)"
    user = f"{parts.username}@" if parts.username else ""
    return f"postgresql://{user}{parts.hostname or 'localhost'}{port}{parts.path}"


async def open_backend(location: Path | str, *, create: bool = True) -> Backend:
    """Open, check and migrate the database at ``location``: an SQLite file (or
    ``:memory:``), or a PostgreSQL URL, where ``create`` does not apply (the server has it)."""
    if not is_server_url(location):
        return await Database.open(location, create=create)
    try:
        # psycopg only when PostgreSQL is asked for: the default install has none.
        from engine.storage.postgres import PostgresDatabase
    except ImportError as exc:
        raise DatabaseUnusableError(
            describe(location),
            f"needs PostgreSQL's client library, which is not installed ({exc.name})",
            advice='Install it: pip install -c constraints.txt -e ".[postgres]"',
        ) from None
    return await PostgresDatabase.open(str(location), name=describe(location))


@dataclass(frozen=True)
class Storage:
    """The database and what the engine keeps in it."""

    db: Backend
    ledger: Ledger
    jobs: JobStore
    chats: ChatSettings
    users: UserSettings
    patience: Patience = field(default_factory=Patience)

    @classmethod
    async def open(
        cls,
        location: Path | str,
        policy: QuotaPolicy,
        *,
        create: bool = True,
        on_refused: Refused | None = None,
    ) -> Storage:
        """Open, check and migrate the database (``open_backend``); ``on_refused`` hears of
        every job write the database refused for now (and that is retried until it is
        recorded)."""
        db = await open_backend(location, create=create)
        patience = Patience(on_refused)
        return cls(
            db,
            Ledger(db, policy, patience),
            JobStore(db, patience),
            ChatSettings(db),
            UserSettings(db),
            patience,
        )

    async def settle(
        self,
        job_id: str,
        state: JobState,
        *,
        stage: Stage | None = None,
        failure: str | None = None,
        timings: Mapping[Stage, float] | None = None,
    ) -> float | None:
        """End a job in one transaction: charged if delivered, else refunded (never twice),
        with its stage times and final state. Waits for a database that refuses writes until
        it is recorded. The cost charged, or None when nothing was charged now."""
        charge = Charge.COMMITTED if state is JobState.DELIVERED else Charge.REFUNDED

        async def settle() -> float | None:
            async with self.db.transaction() as tx:
                cost = await self.ledger.settle_in(tx, job_id, charge)
                await self.jobs.finish_in(
                    tx, job_id, state, stage=stage, failure=failure, timings=dict(timings or {})
                )
            return cost if charge is Charge.COMMITTED else None

        return await self.patience.until_stored(Write.SETTLE, settle)

    async def close(self) -> None:
        """Close the database."""
        await self.db.close()
