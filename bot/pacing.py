"""Per-chat (or per-message) pacing of chat API calls, shared by every job that shares it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

PRIVATE_INTERVAL_S = 1.05  # about one message a second per chat, with a margin
GROUP_INTERVAL_S = 3.0  # at most 20 messages a minute in a group
HARD_SPACING_S = 1.05  # the final keeps this much distance, and waits for nothing else
# "Not more than 20 messages per minute to the same group" (core.telegram.org/bots/faq):
# new messages only; spacing alone cannot keep to it, as the final's spacing is shorter.
GROUP_MESSAGES_PER_MINUTE = 20
MINUTE_S = 60.0


class ChatPacer:
    """One call at a time per chat, spaced from the end of the previous one.

    Spacing counts from when a call came back, so a slow upload cannot let the next call
    land right behind it. A 429 pushes every later call back, the final's included. A call
    someone waits for (``final``: the acknowledgement, the final, a failure) goes before any
    progress edit still waiting: in a group of ten jobs, one job's final does not wait
    behind the others' progress.
    """

    def __init__(
        self,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        messages_per_minute: int | None = None,
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._per_minute = messages_per_minute
        self._sent: deque[float] = deque()  # when recent new messages came back
        self._next = 0.0
        self._last = -HARD_SPACING_S
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()  # held for the call itself
        self._urgent = 0  # final calls waiting for the chat
        self._calm = asyncio.Event()  # set while no final call waits
        self._calm.set()

    @contextlib.asynccontextmanager
    async def turn(self, *, final: bool = False, new_message: bool = False) -> AsyncIterator[None]:
        """Hold the chat for one call: a progress edit waits for its slot; the final (or a
        failure, or the acknowledgement) waits only for the hard spacing and any 429.

        A ``new_message`` (not an edit) also waits while the chat's minute is full.
        """
        if final:
            await self._enter_urgent(new_message)
        else:
            await self._enter_in_slot(new_message)
        try:
            yield
        finally:
            now = self._clock()
            self._last = now
            self._next = max(self._next, now + self.interval_s)
            if new_message and self._per_minute is not None:
                self._sent.append(now)
            self._lock.release()

    async def _enter_urgent(self, new_message: bool) -> None:
        self._urgent += 1
        self._calm.clear()
        try:
            await self._lock.acquire()
        finally:
            self._urgent -= 1
            if not self._urgent:
                self._calm.set()
        # Waits holding the chat: only the hard spacing or a 429 stands before it.
        wait = self._due(self._last + HARD_SPACING_S, new_message) - self._clock()
        if wait > 0:
            try:
                await asyncio.sleep(wait)
            except BaseException:
                self._lock.release()
                raise

    async def _enter_in_slot(self, new_message: bool) -> None:
        # Waits without holding the chat, so that a final call coming meanwhile goes first.
        while True:
            await self._calm.wait()
            await self._lock.acquire()
            wait = self._due(self._next, new_message) - self._clock()
            if wait <= 0 and not self._urgent:
                return
            self._lock.release()
            if wait > 0:
                await asyncio.sleep(wait)

    def _due(self, earliest: float, new_message: bool) -> float:
        due = max(earliest, self._blocked_until)
        return max(due, self._minute_frees_at()) if new_message else due

    def _minute_frees_at(self) -> float:
        """When one more new message fits in the last minute (now, if it does).

        Counted from when each call came back, which is never earlier than Telegram saw it.
        """
        if self._per_minute is None:
            return 0.0
        now = self._clock()
        while self._sent and now - self._sent[0] >= MINUTE_S:
            self._sent.popleft()
        if len(self._sent) < self._per_minute:
            return 0.0
        return self._sent[-self._per_minute] + MINUTE_S

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
            if is_group:
                pacer = ChatPacer(GROUP_INTERVAL_S, messages_per_minute=GROUP_MESSAGES_PER_MINUTE)
            else:
                pacer = ChatPacer(PRIVATE_INTERVAL_S)
            self._pacers[chat_id] = pacer
        return self._pacers[chat_id]
