"""The background jobs an adapter started: tracked, drained, cancelled at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from engine import StageFailedError

log = logging.getLogger(__name__)


class JobTasks:
    """Holds a reference to every running job task, so none is lost or left running."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, object], job_id: str) -> None:
        """Run a job in the background."""
        self.track(asyncio.create_task(coroutine, name=f"{self._name}-{job_id}"), job_id)

    def track(self, task: asyncio.Task[Any], job_id: str) -> None:
        """Adopt a job task started elsewhere (a resumed one)."""
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, job_id))

    async def drain(self) -> None:
        """Wait until every job has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop every job (they resume on the next start)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _finished(self, task: asyncio.Task[Any], job_id: str) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, StageFailedError):
            log.info("job %s ended at %s (the chat was told)", job_id, error.stage.value)
        elif error is not None:
            log.error("job %s crashed", job_id, exc_info=error)
