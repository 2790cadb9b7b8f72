"""``dreambot run --role worker``: runs the jobs adapters queue, on this host's cores.

A worker has no chat bot: what a job shows goes to its adapter through PostgreSQL. Stopped
(SIGTERM), it lets its running jobs finish for DREAMBOT_SHUTDOWN_GRACE_S; what is left is
queued again and resumed from its journal by the next worker to take it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from bot.run import build_engine
from bot.settings import ProcessRole, Settings
from bot.warm import get_ready
from engine import Books, UsageError

log = logging.getLogger(__name__)


async def work(settings: Settings, books: Books) -> int:
    """Run queued jobs until SIGTERM/SIGINT; 2 when the providers cannot be made."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            built = await build_engine(settings, books, stack, ProcessRole.WORKER)
        except (UsageError, OSError) as exc:
            print(f"dreambot: {exc}", file=sys.stderr)
            return 2
        from engine.dispatch import work_queue

        assert built.dispatch is not None  # noqa: S101 - a worker's engine always has one
        await get_ready(built.engine)
        queue = asyncio.create_task(
            work_queue(
                built.dispatch,
                built.engine,
                concurrency=settings.worker_jobs,
                heartbeat_s=settings.worker_heartbeat_s,
                stall_s=settings.worker_stall_s,
                grace_s=settings.shutdown_grace_s,
            ),
            name="worker",
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        housekeeping = (
            asyncio.create_task(built.engine.housekeeper.run())
            if built.engine.housekeeper is not None
            else None
        )
        log.info("working: %d jobs at once; stages: %s", settings.worker_jobs, built.choice)
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({queue, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for task in (queue, stopped, housekeeping):
            if task is not None:
                task.cancel()
        results = await asyncio.gather(queue, return_exceptions=True)
        if housekeeping is not None:
            await asyncio.gather(housekeeping, return_exceptions=True)
        if isinstance(results[0], Exception):
            log.error("the worker stopped", exc_info=results[0])
            return 1
    log.info("stopped")
    return 0
