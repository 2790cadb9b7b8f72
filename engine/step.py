"""The one way a job calls a provider: journal, cache, gated call, check, keep, cache.

Every part a provider makes (the preview, the script, each scene's image, clip and
narration) goes through ``ProviderStep.make``. A part kept before a restart is reused; else
the cache is asked; else the provider is called under its role's gates (limit, rate,
retries, deadline). The file is then checked, kept in the journal and, when it was made
now, put in the cache (unchecked output never enters it). Whenever the result is
abandoned — past its deadline, retries spent, unusable, superseded, the job cancelled —
the remote request is cancelled so nobody keeps paying for it. A cancellation nobody
decided on (the process stopping) keeps the request: the job resumes and re-attaches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from engine.cache import Cache
from engine.calls import ProviderGates
from engine.journal import Journal
from engine.models import Part
from engine.ports import CancellableProvider, Provider, Providers, RequestTicket
from engine.progress import ProgressTracker

V = TypeVar("V")

Call = Callable[[RequestTicket], Awaitable[Path]]
Check = Callable[[Path], Awaitable[V]]

log = logging.getLogger(__name__)

_CANCEL_TIMEOUT_S = 10.0  # a cancel that hangs must not hold up the job's end


@dataclass(frozen=True)
class Made(Generic[V]):
    """A part's checked file and what its check found out about it."""

    path: Path
    value: V


class ProviderStep:
    """Makes the parts of one job; see the module docstring."""

    def __init__(
        self,
        *,
        journal: Journal,
        cache: Cache,
        gates: ProviderGates,
        providers: Providers,
        tracker: ProgressTracker,
        abandons: Callable[[Part], bool],
    ) -> None:
        self._journal = journal
        self._cache = cache
        self._gates = gates
        self._providers = providers
        self._tracker = tracker
        self._abandons = abandons

    async def make(
        self,
        part: Part,
        params: Mapping[str, object],
        folder: Path,
        call: Call,
        check: Check[V],
        *,
        keep: bool = True,
    ) -> Made[V]:
        """``part`` as a checked file: kept, cached or made now by its role's provider.

        ``params`` are every input of the call (Path values are hashed by content) and key
        the cache. ``keep=False`` leaves recording the part to the caller (the preview is
        recorded once it is shown).
        """
        role = part.role
        if role is None:
            raise ValueError(f"{part.name} is not made by a provider")
        if (stored := self._journal.file(part)) is not None:
            return Made(stored.path, await check(stored.path))
        provider = self._providers.of(role)
        ticket = self._journal.ticket(
            part,
            provider.identity,
            lambda place: self._tracker.queued(role.stage, part.name, place),
        )
        try:
            key = await self._cache.key(role, provider.identity, params)
            path = await self._cache.fetch(key, folder / f"cached_{part.name}")
            fresh = path is None
            if path is None:
                path = await self._gates.call(
                    role,
                    lambda: call(ticket),
                    waiting=lambda wait: self._tracker.waiting(role.stage, part.name, wait),
                )
            value = await check(path)
            if keep:
                await self._journal.keep(part, path)
            if fresh:
                await self._cache.put(key, path)
        except asyncio.CancelledError:
            if self._abandons(part):
                await abandon(self._journal, part, provider, ticket.existing)
            raise
        except BaseException:
            await abandon(self._journal, part, provider, ticket.existing)
            raise
        return Made(path, value)


async def abandon(journal: Journal, part: Part, provider: Provider, request_id: str | None) -> None:
    """Cancel a part's remote request, once, whatever the provider answers.

    The cancel is shielded: it goes on even if the job is cancelled meanwhile, and that
    cancellation still reaches the job.
    """
    if request_id is None or not isinstance(provider, CancellableProvider):
        return
    if part not in journal.pending():
        return  # kept, or cancelled already
    journal.cancelled(part)
    cancelling = asyncio.ensure_future(_cancel(provider, request_id, part))
    _CANCELLING.add(cancelling)
    cancelling.add_done_callback(_CANCELLING.discard)
    await asyncio.shield(cancelling)


async def abandon_pending(journal: Journal, providers: Providers) -> None:
    """Cancel every request of a job that nobody waits on any more: the job has ended."""
    for part, request_id in journal.pending().items():
        if part.role is not None:
            await abandon(journal, part, providers.of(part.role), request_id)


# Cancels in flight, referenced until done so none is collected half way.
_CANCELLING: set[asyncio.Future[None]] = set()


async def _cancel(provider: CancellableProvider, request_id: str, part: Part) -> None:
    try:
        async with asyncio.timeout(_CANCEL_TIMEOUT_S):
            await provider.cancel_request(request_id)
    except Exception:
        # Best effort: the job ends as it would anyway; the provider may bill the rest.
        log.warning("cancelling the %s request failed", part.name, exc_info=True)
