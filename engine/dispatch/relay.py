"""The Surface a worker runs a job on: every call becomes an event for the job's adapter.

A worker makes no chat calls (the adapter holds the bot's token, its pacing and its
messages); the preview and the final go with their events, through PostgreSQL, so no disk
is shared between hosts. A delivery counts only once the adapter says the chat took it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from engine.dispatch.codec import actions_data, failure_data, result_data, snapshot_data
from engine.dispatch.events import EventKind, EventLog, EventOutcome
from engine.errors import EngineError
from engine.models import Action, DreamResult, JobFailure, JobTicket, ProgressSnapshot

_OUTCOME_POLL_S = 0.2
# A chat edit is paced to about one a second per message anyway: more events would only
# be skipped by the adapter, each having cost a transaction and a NOTIFY.
PROGRESS_EVERY_S = 0.5


class DeliveryError(EngineError):
    """The adapter could not hand the final video to the chat, or never answered."""


class RelaySurface:
    """One job's surface, written to the job's events."""

    def __init__(self, job_id: str, events: EventLog, *, delivery_wait_s: float) -> None:
        self.job_id = job_id
        self._events = events
        self._delivery_wait_s = delivery_wait_s

    async def acknowledge(self, ticket: JobTicket) -> None:
        await self._events.append(self.job_id, EventKind.ACKNOWLEDGE, {"title": ticket.title})

    async def show_preview(self, preview: Path) -> None:
        media = await asyncio.to_thread(preview.read_bytes)
        await self._events.append(self.job_id, EventKind.PREVIEW, {"name": preview.name}, media)

    async def show_progress(self, progress: ProgressSnapshot) -> None:
        """One event, then a pause: the job's reporter hands over only the latest snapshot
        when it comes back, so changes meanwhile are folded into one event."""
        started = time.monotonic()
        await self._events.append(self.job_id, EventKind.PROGRESS, snapshot_data(progress))
        await asyncio.sleep(max(0.0, PROGRESS_EVERY_S - (time.monotonic() - started)))

    async def deliver_final(self, result: DreamResult) -> None:
        media = await asyncio.to_thread(result.final.read_bytes)
        seq = await self._events.append(self.job_id, EventKind.FINAL, result_data(result), media)
        outcome = await self._outcome_of(seq)
        if outcome is not EventOutcome.APPLIED:
            reason = "refused it" if outcome else f"did not answer in {self._delivery_wait_s:g} s"
            raise DeliveryError(f"the chat adapter {reason}")

    async def fail(self, failure: JobFailure) -> None:
        await self._events.append(self.job_id, EventKind.FAIL, failure_data(failure))

    async def offer_actions(self, actions: Sequence[Action]) -> None:
        await self._events.append(self.job_id, EventKind.ACTIONS, actions_data(list(actions)))

    async def end(self) -> None:
        """Tell the adapter nothing more will come for this job."""
        await self._events.append(self.job_id, EventKind.END, {})

    async def _outcome_of(self, seq: int) -> EventOutcome | None:
        # Long enough for an adapter restarting (it applies what it missed at start).
        deadline = time.monotonic() + self._delivery_wait_s
        while (outcome := await self._events.outcome(seq)) is None:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(_OUTCOME_POLL_S)
        return outcome
