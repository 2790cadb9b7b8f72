"""How a job is recorded from start to end, and settled in one place.

Settling is the charge (commit on delivery, refund otherwise, never twice: the ledger's
conditional update), the stage times, the final state, the telemetry of the outcome and a
nudge to housekeeping, always together and in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from engine.housekeeping import Housekeeper
from engine.models import JobState, Stage, StageStatus
from engine.storage import Storage
from engine.telemetry import Telemetry


class Settlement:
    """The job rows of one engine: started, where they show, and how they ended."""

    def __init__(
        self, storage: Storage, telemetry: Telemetry, housekeeper: Housekeeper | None
    ) -> None:
        self._storage = storage
        self._telemetry = telemetry
        self._housekeeper = housekeeper

    async def start(self, job_id: str, workdir: Path, surface_ref: str | None) -> None:
        """Mark a job running, with its folder and (when known) where it shows itself."""
        await self._storage.jobs.start(job_id, workdir, surface_ref)

    async def remember_surface(self, job_id: str, surface_ref: str) -> None:
        """Store where a job shows itself, once the adapter knows."""
        await self._storage.jobs.set_surface(job_id, surface_ref)

    async def settle(
        self,
        job_id: str,
        state: JobState,
        *,
        stage: Stage | None = None,
        reason: str | None = None,
        timings: Mapping[Stage, float] | None = None,
    ) -> None:
        """End a job in ``state``: charged if delivered, refunded otherwise."""
        self._telemetry.job_ended(state)
        if state is JobState.DELIVERED:
            if (cost := await self._storage.ledger.commit(job_id)) is not None:
                self._telemetry.spent(cost)
        else:
            await self._storage.ledger.refund(job_id)
        for done_stage, seconds in (timings or {}).items():
            await self._storage.jobs.record_stage(job_id, done_stage, StageStatus.DONE, seconds)
        await self._storage.jobs.finish(job_id, state, stage=stage, failure=reason)
        if self._housekeeper is not None:
            self._housekeeper.wake()
