"""Provider calls under their role's concurrency limit and a deadline, errors made safe."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TypeVar

from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from engine.config import RetryPolicy, RoleLimits
from engine.errors import (
    ContentRejectedError,
    EngineError,
    MediaError,
    ProviderError,
    StoryRejectedError,
    TransientError,
)
from engine.models import Role, Wait, WaitReason
from engine.notice import N_, Notice
from engine.telemetry import NoTelemetry, Telemetry
from engine.waiting import Line, Typical

Waiting = Callable[[Wait | None], None]

T = TypeVar("T")

log = logging.getLogger(__name__)

# The deadline of the provider call this task is inside, and the task it times (see
# ``off_the_clock``). A task started inside the call inherits the variable, but must not
# move the deadline of another task, which may have ended.
_DEADLINE: contextvars.ContextVar[tuple[asyncio.Timeout, asyncio.Task[object]] | None] = (
    contextvars.ContextVar("deadline", default=None)
)


@contextlib.asynccontextmanager
async def off_the_clock() -> AsyncIterator[None]:
    """Time the enclosed work takes is not counted against the current provider deadline.

    A provider call records its request id mid-call; if the database makes that wait (a
    lock held past the busy timeout, a read-only disk), the wait is the database's, and
    must neither eat the provider's time nor end the call under the provider's name.
    """
    current = _DEADLINE.get()
    deadline = current[0] if current and current[1] is asyncio.current_task() else None
    when = deadline.when() if deadline is not None else None
    if deadline is None or when is None:
        yield
        return
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline.reschedule(None)  # no deadline can fire mid-wait
    try:
        yield
    finally:
        deadline.reschedule(when + loop.time() - started)


def _this_task() -> asyncio.Task[object]:
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("a provider call runs in a task")
    return task


class ProviderGates:
    """Per provider role: a concurrency limit, a rate limit and bounded retries.

    Shared by every job of an engine. Only TransientError is retried, here and nowhere
    else, so a failure is never retried twice over.
    """

    def __init__(
        self,
        roles: Mapping[Role, RoleLimits],
        retry: RetryPolicy,
        telemetry: Telemetry | None = None,
        typical: Typical | None = None,
    ) -> None:
        self._roles = roles
        self._gates = {role: Line(limit.concurrency) for role, limit in roles.items()}
        self._rates = {role: AsyncLimiter(limit.rate_per_s, 1.0) for role, limit in roles.items()}
        self._retry = retry
        self._telemetry = telemetry or NoTelemetry()
        self._typical = typical or Typical()

    async def call(
        self, role: Role, work: Callable[[], Awaitable[T]], *, waiting: Waiting | None = None
    ) -> T:
        """Await ``work()`` under the role's limits, retrying transient errors, by its deadline.

        ``waiting`` hears of each wait for a free call or the rate limit (and None once the
        call goes ahead), with the place in line and a likely length.
        """
        timeout_s = self._roles[role].timeout_s
        line = self._gates[role]

        def told(place: int | None) -> None:
            if waiting is not None:
                eta = None if place is None else self._typical.wait(role.stage, place, line.slots)
                waiting(None if place is None else Wait(WaitReason.PROVIDER, place, eta))

        async with line.place(told):
            try:
                async with asyncio.timeout(timeout_s) as deadline:
                    token = _DEADLINE.set((deadline, _this_task()))
                    try:
                        result = await self._retried(role, work, waiting)
                    finally:
                        _DEADLINE.reset(token)
            except TimeoutError:
                self._telemetry.provider_failed(role, "TimeoutError")
                raise TransientError(f"{role} took longer than {timeout_s:g} s") from None
        return result

    async def _retried(
        self, role: Role, work: Callable[[], Awaitable[T]], waiting: Waiting | None
    ) -> T:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self._retry.attempts),
            wait=_backoff(self._retry),
            before_sleep=_log_retry(role),
            reraise=True,
        ):
            with attempt:
                rate = self._rates[role]
                limited = waiting is not None and not rate.has_capacity()
                if limited and waiting is not None:
                    waiting(Wait(WaitReason.RATE))
                async with rate:
                    if limited and waiting is not None:
                        waiting(None)
                    return await self._attempt(role, work)
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _attempt(self, role: Role, work: Callable[[], Awaitable[T]]) -> T:
        try:
            result = await _guarded(role, work)
        except EngineError as exc:
            self._telemetry.provider_failed(role, type(exc).__name__)
            raise
        return result


async def _guarded(role: Role, work: Callable[[], Awaitable[T]]) -> T:
    try:
        return await work()
    except EngineError:
        raise
    except Exception as exc:
        # A provider that leaks a library error or has a bug is treated as a failed call,
        # so the degrade ladder handles it like any other provider failure.
        log.exception("%s provider raised an unexpected error", role)
        raise ProviderError(f"{role} provider crashed: {type(exc).__name__}") from exc


def _backoff(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    jittered = wait_random_exponential(multiplier=policy.base_s, max=policy.max_s)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        hinted = getattr(error, "retry_after", None) or 0.0
        return max(float(hinted), jittered(state))

    return wait


def _log_retry(role: Role) -> Callable[[RetryCallState], None]:
    def note(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("%s: attempt %d failed (%s); retrying", role, state.attempt_number, error)

    return note


def describe_failure(exc: BaseException) -> Notice:
    """A short reason fit for a chat message: it never repeats provider text or secrets."""
    if isinstance(exc, StoryRejectedError):
        return exc.notice
    if isinstance(exc, ContentRejectedError):
        return Notice(N_("the content was refused by the provider's policy"))
    if isinstance(exc, TransientError | TimeoutError):
        return Notice(N_("the service timed out or was unavailable"))
    if isinstance(exc, MediaError):
        return Notice(N_("a media file could not be processed"))
    if isinstance(exc, EngineError):
        return Notice(N_("the provider returned an error"))
    return Notice(N_("an internal error occurred"))
