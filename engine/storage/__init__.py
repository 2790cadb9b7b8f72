"""SQLite storage: one file, WAL mode, named migrations, quotas, jobs and a media cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.storage.chats import ChatSettings
from engine.storage.db import Database
from engine.storage.jobs import JobStore, StoredJob
from engine.storage.ledger import Ledger, QuotaPolicy

__all__ = [
    "ChatSettings",
    "Database",
    "JobStore",
    "Ledger",
    "QuotaPolicy",
    "Storage",
    "StoredJob",
]


@dataclass(frozen=True)
class Storage:
    """The database and what the engine keeps in it."""

    db: Database
    ledger: Ledger
    jobs: JobStore
    chats: ChatSettings

    @classmethod
    async def open(cls, path: Path | str, policy: QuotaPolicy) -> Storage:
        """Open and migrate the database file."""
        db = await Database.open(path)
        return cls(db, Ledger(db, policy), JobStore(db), ChatSettings(db))

    async def close(self) -> None:
        """Close the database."""
        await self.db.close()
