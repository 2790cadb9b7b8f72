"""A size cap on every reply body of a provider API, enforced while the body streams in.

The SDKs read a reply whole before parsing it (a 60 MB OpenAI reply took 391 MB of
memory), so the cap is a response hook on the SDK's own HTTP client: it refuses a
declared length over the cap at once, and counts the bytes of any other body as they
arrive. Compression is declined (``Accept-Encoding: identity``) and a compressed reply
refused, since counting compressed bytes would not bound the decoded ones.

fal-client uses httpx and openai 3.x its fork httpx2: each library checks that a body is
its own stream type, so the counting stream exists once per library.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import httpx
import httpx2

from engine.errors import ReplyTooLargeError

JSON_REPLY_BYTES = 4 * 2**20  # a script is ~10 KB and a queue status a few; 400 times that
IDENTITY = {"Accept-Encoding": "identity"}

Limit = Callable[[str], int]  # a request's URL path -> its reply cap in bytes
Hook = Callable[[Any], Awaitable[None]]


class _Source(Protocol):
    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class _Counted:
    """A body that raises ReplyTooLargeError as soon as it passes ``limit`` bytes."""

    def __init__(self, inner: _Source, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        async for chunk in self._inner:
            received += len(chunk)
            if received > self._limit:
                raise ReplyTooLargeError(self._limit)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _CountedHttpx(_Counted, httpx.AsyncByteStream):
    pass


class _CountedHttpx2(_Counted, httpx2.AsyncByteStream):
    pass


def _hook(limit_for: Limit, counted: type[_Counted]) -> Hook:
    async def cap(response: Any) -> None:
        limit = limit_for(response.request.url.path)
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in {"", "identity"}:
            raise ReplyTooLargeError(limit, f"the provider's reply is compressed ({encoding})")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ReplyTooLargeError(limit)
        response.stream = counted(response.stream, limit)

    return cap


def cap_httpx_replies(client: httpx.AsyncClient, limit_for: Limit) -> None:
    """Cap every reply body ``client`` receives from now on (call it once per client)."""
    hooks = client.event_hooks
    hooks["response"].append(_hook(limit_for, _CountedHttpx))
    client.event_hooks = hooks
    client.headers.update(IDENTITY)


def capped_httpx2_hooks(limit_for: Limit) -> dict[str, list[Hook]]:
    """Event hooks for an httpx2 client (the openai SDK's) that cap every reply body."""
    return {"response": [_hook(limit_for, _CountedHttpx2)]}
