"""Provider calls under their role's concurrency limit and a deadline, errors made safe."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TypeVar

from engine.cache import MediaCache
from engine.config import Limits
from engine.errors import (
    ContentRejectedError,
    EngineError,
    MediaError,
    ProviderError,
    StoryRejectedError,
    TransientError,
)

T = TypeVar("T")

log = logging.getLogger(__name__)


class ProviderGates:
    """One semaphore per provider role, shared by every job of an engine."""

    def __init__(self, limits: Limits) -> None:
        self._gates = {
            "script": asyncio.Semaphore(limits.script),
            "preview": asyncio.Semaphore(limits.preview),
            "images": asyncio.Semaphore(limits.images),
            "clips": asyncio.Semaphore(limits.clips),
            "voice": asyncio.Semaphore(limits.voice),
        }

    async def call(self, role: str, timeout_s: float, work: Callable[[], Awaitable[T]]) -> T:
        """Await ``work()`` once a slot of ``role`` is free, within ``timeout_s`` seconds."""
        async with self._gates[role]:
            try:
                return await asyncio.wait_for(work(), timeout_s)
            except TimeoutError:
                raise TransientError(f"{role} took longer than {timeout_s:g} s") from None
            except EngineError:
                raise
            except Exception as exc:
                # A provider that leaks a library error or has a bug is treated as a failed
                # call, so the degrade ladder handles it like any other provider failure.
                log.exception("%s provider raised an unexpected error", role)
                raise ProviderError(f"{role} provider crashed: {type(exc).__name__}") from exc


async def fetch_or_make(
    cache: MediaCache | None,
    role: str,
    identity: str,
    params: Mapping[str, object],
    target: Path,
    make: Callable[[], Awaitable[Path]],
) -> tuple[Path, str | None]:
    """A provider output from the cache if it holds one, else from ``make()``.

    Returns the file and, when it was made now, the key to store it under once the caller
    has validated it (unvalidated output never enters the cache).
    """
    if cache is None:
        return await make(), None
    key = await cache.key(role, identity, params)
    hit = await cache.fetch(key, target)
    if hit is not None:
        return hit, None
    return await make(), key


def describe_failure(exc: BaseException) -> str:
    """A short reason fit for a chat message: it never repeats provider text or secrets."""
    if isinstance(exc, StoryRejectedError):
        return exc.reason
    if isinstance(exc, ContentRejectedError):
        return "the content was refused by the provider's policy"
    if isinstance(exc, TransientError | TimeoutError):
        return "the service timed out or was unavailable"
    if isinstance(exc, MediaError):
        return "a media file could not be processed"
    if isinstance(exc, EngineError):
        return "the provider returned an error"
    return "an internal error occurred"
