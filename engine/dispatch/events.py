"""The events a worker writes for a job's surface and the adapter applies, in order, once.

A job's events live in PostgreSQL, the one thing every host shares: the adapter wakes on
``NOTIFY`` and also looks every poll, so a missed notification only delays an edit. Each
event is marked with how it went once applied (the worker waits for the final's).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from engine.storage.backend import Backend

CHANNEL = "dreambot_job_events"
# Made by the first adapter or worker (`Dispatch.open`), like procrastinate's tables: a
# database that never has workers never has them.
EVENTS_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS job_events (
        seq BIGSERIAL PRIMARY KEY,
        job_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        media BYTEA,
        outcome TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS job_events_open ON job_events (job_id, seq) WHERE outcome IS NULL",
)


class EventKind(enum.StrEnum):
    """Which Surface call an event stands for, and END: the worker is done with the job."""

    ACKNOWLEDGE = "acknowledge"
    PREVIEW = "preview"
    PROGRESS = "progress"
    FINAL = "final"
    FAIL = "fail"
    ACTIONS = "actions"
    END = "end"


class EventOutcome(enum.StrEnum):
    APPLIED = "applied"
    FAILED = "failed"  # the chat refused it (a delivery the person did not get)
    SKIPPED = "skipped"  # a progress snapshot a newer one replaced


@dataclass(frozen=True)
class Event:
    seq: int
    job_id: str
    kind: EventKind
    body: dict[str, Any]
    media: bytes | None


_APPEND = "INSERT INTO job_events (job_id, kind, body, media) VALUES (?, ?, ?, ?) RETURNING seq"
_OPEN = (
    "SELECT seq, job_id, kind, body, media FROM job_events "
    "WHERE job_id = ? AND outcome IS NULL ORDER BY seq"
)


class EventLog:
    """The job_events table of one PostgreSQL database."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def append(
        self, job_id: str, kind: EventKind, body: dict[str, Any], media: bytes | None = None
    ) -> int:
        """Write one event and wake the adapters (at commit); its sequence number."""
        async with self.db.transaction() as tx:
            [(seq,)] = await tx.fetch(_APPEND, (job_id, kind, json.dumps(body), media))
            await tx.fetch("SELECT pg_notify(?, ?)", (CHANNEL, job_id))
        return int(seq)

    async def open_events(self, job_id: str) -> list[Event]:
        """The job's events not applied yet, oldest first."""
        rows = await self.db.fetch(_OPEN, (job_id,))
        return [
            Event(int(seq), str(job), EventKind(kind), json.loads(body), _bytes(media))
            for seq, job, kind, body, media in rows
        ]

    async def mark(self, seqs: list[int], outcome: EventOutcome) -> None:
        if seqs:
            marks = ", ".join("?" for _ in seqs)
            await self.db.fetch(
                f"UPDATE job_events SET outcome = ?, media = NULL WHERE seq IN ({marks})",  # noqa: S608 - placeholders only
                (outcome, *seqs),
            )

    async def outcome(self, seq: int) -> EventOutcome | None:
        rows = await self.db.fetch("SELECT outcome FROM job_events WHERE seq = ?", (seq,))
        return EventOutcome(rows[0][0]) if rows and rows[0][0] is not None else None

    async def followed_jobs(self) -> list[str]:
        """Jobs with events still to apply (an adapter restarted, or was away)."""
        rows = await self.db.fetch(
            "SELECT DISTINCT job_id FROM job_events WHERE outcome IS NULL ORDER BY job_id"
        )
        return [str(job_id) for (job_id,) in rows]

    async def forget(self, job_id: str) -> None:
        """Drop a job's events once its adapter has applied its end."""
        await self.db.fetch("DELETE FROM job_events WHERE job_id = ?", (job_id,))


def _bytes(media: object) -> bytes | None:
    return None if media is None else bytes(media)  # type: ignore[call-overload]
