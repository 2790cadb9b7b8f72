"""Getting a finished video through to Telegram: a timeout sized to the upload, and patience.

A finished, paid-for video is worth waiting for. A 5xx, a timeout or a dropped connection
says nothing about whether Telegram will come back, so the call is repeated with a growing
pause until it lands or the patience is spent; a 429 names its own pause.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class DeliveryPolicy:
    """How long one upload may take, and how long a final is retried for."""

    # An uplink most hosts beat; a slower one is configured (DREAMBOT_TELEGRAM_UPLOAD_KBPS).
    uplink_kbps: float = 4000.0
    # aiogram's own default: small calls and small files are never cut shorter than that.
    min_timeout_s: int = 60
    slack_s: int = 30  # Telegram's own processing of the file once it has arrived
    patience_s: float = 1800.0  # an outage longer than this fails the delivery
    first_backoff_s: float = 1.0
    max_backoff_s: float = 60.0

    def upload_timeout(self, size_bytes: int) -> int:
        """The total request time for an upload of ``size_bytes``, whole seconds (aiogram's
        ``request_timeout`` is an int)."""
        seconds = size_bytes * 8 / (self.uplink_kbps * 1000) + self.slack_s
        return max(self.min_timeout_s, math.ceil(seconds))


async def persist(
    send: Callable[[], Awaitable[T]],
    policy: DeliveryPolicy,
    *,
    job_id: str,
    back_off: Callable[[float], None],
) -> T:
    """``send()`` until it lands; what it raises once the patience is spent.

    ``back_off`` hears every 429 so the chat's other messages wait too. Only errors that
    say nothing about the request itself are retried: a 400 or 403 is an answer.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + policy.patience_s
    pause = policy.first_backoff_s
    while True:
        try:
            return await send()
        except TelegramRetryAfter as exc:
            wait: float = exc.retry_after
            back_off(wait)
            error: Exception = exc
        except (TelegramServerError, TelegramNetworkError) as exc:
            wait, pause = pause, min(pause * 2, policy.max_backoff_s)
            error = exc
        if loop.time() + wait > deadline:
            log.warning("job %s: Telegram unreachable past the delivery's patience", job_id)
            raise error
        log.info(
            "job %s: Telegram did not take the call (%s); again in %.1f s", job_id, error, wait
        )
        await asyncio.sleep(wait)
