"""Per-chat pacing of Telegram edits, shared by every job in the chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

PRIVATE_INTERVAL_S = 1.05  # about one message a second per chat, with a margin
GROUP_INTERVAL_S = 3.0  # at most 20 messages a minute in a group
HARD_SPACING_S = 1.05  # the final keeps this much distance, and waits for nothing else


class ChatPacer:
    """Hands out send slots at most one per ``interval_s``; a 429 pushes the next one back."""

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._next = 0.0
        self._last = -HARD_SPACING_S
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()

    async def slot(self) -> None:
        """Wait for the next free slot and take it."""
        async with self._lock:
            wait = self._next - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            self._taken()

    async def final_slot(self) -> None:
        """A slot for the final video or a failure: never behind queued progress frames,
        only the chat's hard one-second spacing and any wait Telegram asked for."""
        wait = max(self._last + HARD_SPACING_S, self._blocked_until) - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)
        self._taken()

    def _taken(self) -> None:
        now = self._clock()
        self._last = now
        self._next = max(self._next, now) + self.interval_s

    def back_off(self, seconds: float) -> None:
        """Telegram said to wait: no slot before then, not even the final's."""
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)
        self._next = max(self._next, self._blocked_until)


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
