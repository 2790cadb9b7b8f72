"""Per-chat (or per-message) pacing of chat API calls, shared by every job that shares it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

PRIVATE_INTERVAL_S = 1.05  # about one message a second per chat, with a margin
GROUP_INTERVAL_S = 3.0  # at most 20 messages a minute in a group
HARD_SPACING_S = 1.05  # the final keeps this much distance, and waits for nothing else


class ChatPacer:
    """One call at a time per chat, spaced from the end of the previous one.

    Spacing counts from when a call came back, so a slow upload cannot let the next call
    land right behind it. A 429 pushes every later call back, the final's included.
    """

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._next = 0.0
        self._last = -HARD_SPACING_S
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def turn(self, *, final: bool = False) -> AsyncIterator[None]:
        """Hold the chat for one call: a progress edit waits for its slot; the final (or a
        failure, or the acknowledgement) waits only for the hard spacing and any 429."""
        async with self._lock:
            if final:
                due = max(self._last + HARD_SPACING_S, self._blocked_until)
            else:
                due = max(self._next, self._blocked_until)
            wait = due - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                now = self._clock()
                self._last = now
                self._next = max(self._next, now + self.interval_s)

    def back_off(self, seconds: float) -> None:
        """Telegram said to wait: no call before then, not even the final."""
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)


class Pacers:
    """One pacer per chat, created on first use."""

    def __init__(self) -> None:
        self._pacers: dict[int, ChatPacer] = {}

    def for_chat(self, chat_id: int, *, is_group: bool) -> ChatPacer:
        """The chat's pacer (groups are paced more slowly)."""
        if chat_id not in self._pacers:
            interval = GROUP_INTERVAL_S if is_group else PRIVATE_INTERVAL_S
            self._pacers[chat_id] = ChatPacer(interval)
        return self._pacers[chat_id]
