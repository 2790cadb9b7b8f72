"""Starting a chat platform that may be down: retried with backoff, one platform at a time.

A Bot API answering 502 or a gateway that is unreachable when the process starts is an
outage that passes; it must neither end the process nor take the other platform down. A
token the platform refuses is not: that platform stays off, said once, and the other
keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

log = logging.getLogger(__name__)

START_WAIT_MAX_S = 60.0  # between attempts, once the backoff has grown


class PlatformRefusedError(Exception):
    """The platform refused the bot for good (a revoked or mistyped token)."""


async def keep_starting(
    name: str,
    start: Callable[[], Awaitable[None]],
    *,
    refused: tuple[type[BaseException], ...],
    first_wait_s: float = 1.0,
) -> bool:
    """Run ``start()`` (which serves until stopped), starting it again after a failure.

    Returns True when ``start()`` ended by itself, False when the platform refused the
    token (one of ``refused``); cancellation goes on up, as it must.
    """

    def passes(error: BaseException) -> bool:
        return isinstance(error, Exception) and not isinstance(error, refused)

    def note(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: could not start (%s: %s); trying again in %.0f s (attempt %d)",
            name, type(error).__name__, error, wait, state.attempt_number,
        )  # fmt: skip

    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(passes),
            wait=wait_exponential(multiplier=first_wait_s, max=START_WAIT_MAX_S),
            before_sleep=note,
            reraise=True,
        ):
            with attempt:
                await start()
    except refused as error:
        log.error("%s: the platform refused the bot's token (%s); %s stays off", name, error, name)
        return False
    return True


async def once_held(
    name: str,
    hold: Callable[[], Awaitable[bool]],
    *,
    poll_s: float,
    taken_over: Callable[[], Awaitable[object]],
) -> None:
    """Return once this process may serve the bot: at once, unless another live process on
    the same books serves it; then this one stands by, asking again every ``poll_s``, and
    when it takes over, ``taken_over()`` first (the jobs the other left are this one's)."""
    waited = False
    while not await hold():
        if not waited:
            log.info("%s: another process serves this bot; standing by to take over", name)
            waited = True
        await asyncio.sleep(poll_s)
    if waited:
        log.info("%s: the other process stopped; taking the bot over", name)
        await taken_over()
