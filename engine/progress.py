"""Per-job stage progress with timings, observed by whoever renders it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

from engine.models import ProgressSnapshot, Stage, StageProgress, StageStatus, Wait

__all__ = ["ProgressSnapshot", "ProgressTracker", "StageProgress", "StageStatus"]


class ProgressTracker:
    """Records stage changes and wakes one watcher; intermediate states are never queued."""

    def __init__(self, title: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._title = title
        self._clock = clock
        self._stages = {stage: StageProgress(stage) for stage in Stage}
        self._started: dict[Stage, float] = {}
        self._changed = asyncio.Event()
        self._queues: dict[Stage, dict[str, int]] = {}
        self._waits: dict[Stage, dict[str, Wait]] = {}

    def start(self, stage: Stage, *, total: int | None = None) -> None:
        """Mark a stage running (the first call starts its clock)."""
        self._started.setdefault(stage, self._clock())
        if total is None:
            self._update(stage, status=StageStatus.RUNNING)
        else:
            self._update(stage, status=StageStatus.RUNNING, total=total)

    def queued(self, stage: Stage, request: str, position: int | None) -> None:
        """Note a request's place in its provider's queue (None once it is being worked on).

        The stage shows the best place among its queued requests: the next to start.
        """
        places = self._queues.setdefault(stage, {})
        if position is None:
            places.pop(request, None)
        else:
            places[request] = position
        best = min(places.values()) if places else None
        if best != self._stages[stage].queue_position:
            self._update(stage, queue_position=best)

    def waiting(self, stage: Stage, part: str, wait: Wait | None) -> None:
        """Note that a part waits here (None once it goes ahead).

        The stage shows the wait nearest its end: the part that will start first.
        """
        waits = self._waits.setdefault(stage, {})
        if wait is None:
            waits.pop(part, None)
        else:
            waits[part] = wait
        first = min(waits.values(), key=_nearest, default=None)
        if first != self._stages[stage].waiting:
            self._update(stage, waiting=first)

    def advance(self, stage: Stage, *, fallback: bool = False) -> None:
        """Count one unit of a stage as settled, noting whether it fell back."""
        current = self._stages[stage]
        self._update(
            stage,
            done=current.done + 1,
            fallbacks=current.fallbacks + (1 if fallback else 0),
        )
        if current.total is not None and current.done + 1 >= current.total:
            self.finish(stage)

    def finish(self, stage: Stage) -> None:
        """Mark a stage done and stop its clock."""
        self._queues.pop(stage, None)
        self._waits.pop(stage, None)
        self._update(
            stage,
            status=StageStatus.DONE,
            elapsed_s=self._elapsed(stage),
            queue_position=None,
            waiting=None,
        )

    def fail(self, stage: Stage) -> None:
        """Mark a stage failed and stop its clock."""
        self._update(stage, status=StageStatus.FAILED, elapsed_s=self._elapsed(stage))

    def skip(self, stage: Stage) -> None:
        """Mark a stage as not needed for this job."""
        self._update(stage, status=StageStatus.SKIPPED)

    def snapshot(self) -> ProgressSnapshot:
        """The current state of every stage."""
        return ProgressSnapshot(self._title, tuple(self._stages.values()))

    def timings(self) -> dict[Stage, float]:
        """Seconds taken by every stage that has finished or failed."""
        return {s.stage: s.elapsed_s for s in self._stages.values() if s.elapsed_s is not None}

    async def wait_changed(self) -> ProgressSnapshot:
        """Wait for the next change and return the newest state (earlier ones are skipped)."""
        await self._changed.wait()
        self._changed.clear()
        return self.snapshot()

    def _elapsed(self, stage: Stage) -> float:
        started = self._started.get(stage)
        return 0.0 if started is None else self._clock() - started

    def _update(self, stage: Stage, **changes: object) -> None:
        self._stages[stage] = replace(self._stages[stage], **changes)  # type: ignore[arg-type]
        self._changed.set()


def _nearest(wait: Wait) -> tuple[int, float]:
    return (wait.place or 0, wait.eta_s or 0.0)
