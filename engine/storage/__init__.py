"""SQLite storage: one file, WAL mode, named migrations, quotas, jobs and a media cache."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.models import Charge, JobState, Stage
from engine.storage.chats import ChatSettings
from engine.storage.db import Database
from engine.storage.jobs import JobStore, StoredJob
from engine.storage.ledger import Ledger, QuotaPolicy
from engine.storage.patience import Patience, Refused, Write
from engine.storage.users import UserSettings

__all__ = [
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
]


@dataclass(frozen=True)
class Storage:
    """The database and what the engine keeps in it."""

    db: Database
    ledger: Ledger
    jobs: JobStore
    chats: ChatSettings
    users: UserSettings
    patience: Patience = field(default_factory=Patience)

    @classmethod
    async def open(
        cls,
        path: Path | str,
        policy: QuotaPolicy,
        *,
        create: bool = True,
        on_refused: Refused | None = None,
    ) -> Storage:
        """Open, check and migrate the database file (``Database.open``); ``on_refused``
        hears of every job write the database refused for now (and that is retried until it
        is recorded)."""
        db = await Database.open(path, create=create)
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
