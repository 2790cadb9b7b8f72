"""How a job is recorded from start to end, and settled in one place.

Settling is the outcome written in the job's folder (engine/outcome.py), then the charge
(commit on delivery, refund otherwise, never twice: the ledger's conditional update), the
stage times and the final state in one transaction that waits out a database refusing
writes, then the telemetry of the outcome and a nudge to housekeeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from engine.housekeeping import Housekeeper
from engine.models import JobState, Stage
from engine.outcome import Outcome, reserve_outcome, write_outcome
from engine.storage import Storage
from engine.telemetry import Telemetry
from engine.waiting import Typical

# Job folders are made in one thread, so that jobs admitted together start in the order
# they came: a pool's threads finish in any order, and the first job to start takes a free
# provider slot ahead of older ones (issue 16: a crowd's finals in arrival order).
_FOLDERS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dreambot-folders")


class Settlement:
    """The job rows of one engine: started, where they show, and how they ended."""

    def __init__(
        self,
        storage: Storage,
        telemetry: Telemetry,
        housekeeper: Housekeeper | None,
        typical: Typical | None = None,
    ) -> None:
        self._storage = storage
        self._telemetry = telemetry
        self._housekeeper = housekeeper
        self._typical = typical or Typical()

    async def start(self, job_id: str, workdir: Path, surface_ref: str | None) -> None:
        """Mark a job running, with its folder and (when known) where it shows itself.

        The folder gets the job's outcome file now, while there is room, so that its end
        can be written in place even on a disk that fills up meanwhile.
        """
        # In a thread: file system calls must not stall the loop other chats are answered on.
        await asyncio.get_running_loop().run_in_executor(_FOLDERS, reserve_outcome, workdir)
        await self._storage.jobs.start(job_id, workdir, surface_ref)

    async def remember_surface(self, job_id: str, surface_ref: str) -> None:
        """Store where a job shows itself, once the adapter knows."""
        await self._storage.jobs.set_surface(job_id, surface_ref)

    @staticmethod
    async def record(workdir: Path, outcome: Outcome) -> bool:
        """Write down how the job ended, before anything else is told of it (a delivery is
        recorded the moment the video is sent, ahead of its charge); False if it could not
        be written."""
        return await asyncio.to_thread(write_outcome, workdir, outcome)  # synced: a thread

    async def settle(
        self,
        job_id: str,
        workdir: Path | None,
        outcome: Outcome,
        *,
        timings: Mapping[Stage, float] | None = None,
        keep_claim: bool = False,
    ) -> None:
        """End a job as ``outcome`` says: charged if delivered, refunded otherwise; returns
        once the database has recorded it, however long the database refuses writes.

        The job's claim is let go, unless ``keep_claim`` (the caller lets go of it)."""
        if workdir is not None:
            await self.record(workdir, outcome)
        cost = await self._storage.settle(
            job_id,
            outcome.state,
            stage=outcome.stage,
            failure=str(outcome.notice) if outcome.notice else None,
            timings=timings,
        )
        if not keep_claim:
            await self._storage.db.release(job_id)
        self._telemetry.job_ended(outcome.state)
        if timings:
            self._typical.note(timings)  # the next wait's estimate knows this job
        if outcome.state is JobState.DELIVERED and cost is not None:
            self._telemetry.spent(cost)
        if self._housekeeper is not None:
            self._housekeeper.wake()
