"""Waiting in line, and saying so: a limited number of places taken oldest job first, each
waiter told its place as the line moves; and what a wait is likely to last.

``asyncio.Semaphore`` serves waiters in arrival order, but keeps them to itself, so a job
could not say "waiting for a free encoder, #3"; and under load arrival order is the wrong
one. Every job's six scenes arrive at the encoders at about the same time, so serving
encodes as they come interleaves all running jobs and every one of them finishes late
(docs/decisions.md, "Oldest job first"). Waiters are served by their job's ``TURN``
instead, then by arrival: the oldest job's work goes first and jobs end in the order they
came, at the same throughput. The typical lengths come from the stage times the books keep
(read at start) and from every job that settles after.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import contextvars
import itertools
import math
import statistics
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from engine.models import Stage, Wait

Told = Callable[[int | None], None]  # a place in line (1 is next), or None once served

RECENT = 50  # stage times kept per stage for the typical length

_ARRIVALS = itertools.count()


def next_turn() -> int:
    """A turn later than every turn handed out so far in this process."""
    return next(_ARRIVALS)


# The turn of the job the running task works for (set by the job for all its tasks): the
# lower, the sooner its waits are served. Work outside any job takes a turn as it waits.
TURN: contextvars.ContextVar[int | None] = contextvars.ContextVar("turn", default=None)
# Ahead of every job: a preview is the promise of first pixels within seconds, and its
# work is a small part of any scene's.
URGENT = -1


@dataclass(eq=False)
class _Waiter:
    key: tuple[int, int]  # (the job's turn, the wait's own arrival)
    served: asyncio.Future[None]
    told: Told | None
    place: int | None = None  # the place it was last told


class Line:
    """``slots`` places, served oldest turn first (``TURN``), then in arrival order;
    waiters hear their place, which grows when an older job's work joins ahead."""

    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._free = self.slots
        self._waiting: list[_Waiter] = []  # in serving order

    @property
    def waiting(self) -> int:
        """How many wait now."""
        return len(self._waiting)

    @contextlib.asynccontextmanager
    async def place(self, told: Told | None = None) -> AsyncIterator[None]:
        """Hold a place for the enclosed work, waiting in line for one if none is free."""
        if self._free and not self._waiting:
            self._free -= 1
        else:
            await self._wait(told)
        try:
            yield
        finally:
            self._release()

    async def _wait(self, told: Told | None) -> None:
        arrival = next_turn()
        turn = TURN.get()
        key = (arrival if turn is None else turn, arrival)
        waiter = _Waiter(key, asyncio.get_running_loop().create_future(), told)
        bisect.insort(self._waiting, waiter, key=lambda w: w.key)
        self._tell()
        try:
            await waiter.served
        except asyncio.CancelledError:
            if waiter.served.done() and not waiter.served.cancelled():
                self._release()  # served as it was cancelled: the place goes to the next
            elif waiter in self._waiting:  # a release may have passed over it already
                self._waiting.remove(waiter)
                self._tell()
            raise
        finally:
            if told is not None:
                told(None)

    def _release(self) -> None:
        while self._waiting:
            waiter = self._waiting.pop(0)
            if not waiter.served.done():
                waiter.served.set_result(None)
                self._tell()
                return
        self._free += 1

    def _tell(self) -> None:
        for place, waiter in enumerate(self._waiting, start=1):
            if waiter.told is not None and waiter.place != place:
                waiter.place = place
                waiter.told(place)


# Where the encodes of the running task are to be reported as waits (set per scene and for
# the merge by the job); ffmpeg knows nothing of jobs or stages.
ENCODER_WAIT: contextvars.ContextVar[Callable[[Wait | None], None] | None] = contextvars.ContextVar(
    "encoder_wait", default=None
)


@dataclass
class Typical:
    """How long each stage usually takes: the median of its recent times."""

    _times: dict[Stage, deque[float]] = field(default_factory=dict)

    def note(self, timings: Mapping[Stage, float]) -> None:
        """Add one job's stage times."""
        for stage, seconds in timings.items():
            self._times.setdefault(stage, deque(maxlen=RECENT)).append(seconds)

    def seed(self, recent: Iterable[tuple[Stage, float]]) -> None:
        """Start from the books' recent stage times, oldest first."""
        for stage, seconds in recent:
            self.note({stage: seconds})

    def of(self, stage: Stage) -> float | None:
        """The stage's typical length, once any job has been timed."""
        times = self._times.get(stage)
        return statistics.median(times) if times else None

    def wait(self, stage: Stage, place: int, slots: int) -> float | None:
        """How long the waiter at ``place`` is likely to wait: one typical length for each
        round of ``slots`` served ahead of it."""
        typical = self.of(stage)
        return None if typical is None else math.ceil(place / slots) * typical
