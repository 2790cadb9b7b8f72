"""The cancels people asked for, kept in the books until their jobs have ended.

procrastinate's abort reaches a worker only while the job runs there and the worker
listens; a cancel pressed while the job waits in a retry, while its worker stops, or just
before that worker dies would be lost. Recorded here, it is seen by whichever process
next holds the job, and by every worker's sweep of jobs nobody will run again.
"""

from __future__ import annotations

from engine.storage.backend import Backend
from engine.storage.sql import sql

# Made with job_events (Dispatch.open): only a database with workers needs it.
CANCELS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS job_cancels (job_id TEXT PRIMARY KEY, asked_at TIMESTAMPTZ "
    "NOT NULL DEFAULT now())",
)
# Asked, unfinished, and not waiting in or running from the queue: nobody will take them.
_STRANDED = sql(
    "SELECT c.job_id FROM job_cancels AS c JOIN jobs AS j ON j.id = c.job_id "
    "WHERE j.state IN {unfinished} AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS p "
    "WHERE p.lock = c.job_id AND p.status IN ('todo', 'doing')) ORDER BY c.asked_at"
)


class Cancels:
    """The job_cancels table of one PostgreSQL database."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def ask(self, job_id: str) -> None:
        """Record that the job's owner asked to cancel it (once; asking again is the same)."""
        await self.db.fetch(
            "INSERT INTO job_cancels (job_id) VALUES (?) ON CONFLICT (job_id) DO NOTHING",
            (job_id,),
        )

    async def asked(self, job_id: str) -> bool:
        return bool(await self.db.fetch("SELECT 1 FROM job_cancels WHERE job_id = ?", (job_id,)))

    async def stranded(self) -> list[str]:
        """Jobs whose cancel was asked that no process will run again, to be settled."""
        return [str(job_id) for (job_id,) in await self.db.fetch(_STRANDED)]

    async def forget(self, job_id: str) -> None:
        await self.db.fetch("DELETE FROM job_cancels WHERE job_id = ?", (job_id,))
