"""Progress for a chat message: only the newest state is kept, sent when the pacer allows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from bot.pacing import ChatPacer
from engine import ProgressSnapshot


class ProgressFlusher:
    """One background sender per message; intermediate states are dropped, never queued."""

    def __init__(
        self, pacer: ChatPacer, send: Callable[[ProgressSnapshot], Awaitable[None]]
    ) -> None:
        self._pacer = pacer
        self._send = send
        self.latest: ProgressSnapshot | None = None  # waiting to be sent; None once taken
        # The newest state ever offered, kept after it is sent: what a message rebuilt in
        # between (the preview replacing the text) must show.
        self.newest: ProgressSnapshot | None = None
        self._task: asyncio.Task[None] | None = None

    def offer(self, snapshot: ProgressSnapshot) -> None:
        """Note the newest state; start the sender if it is not running."""
        self.latest = self.newest = snapshot
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop sending (the final or a failure takes over the message)."""
        self.latest = None
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while self.latest is not None:
            async with self._pacer.turn():
                snapshot, self.latest = self.latest, None  # the newest, taken after the wait
                if snapshot is None:
                    break
                await self._send(snapshot)
