"""What a job has made so far, kept so that a restart continues instead of starting over."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from engine.calls import off_the_clock
from engine.models import Part
from engine.ports import RequestTicket
from engine.storage.jobs import JobStore, StoredFile

log = logging.getLogger(__name__)
V = TypeVar("V")


class Journal:
    """One job's produced files and provider requests, each written before it is relied on.

    Parts are typed here; their names are only how the database stores them.
    """

    def __init__(
        self,
        job_id: str,
        store: JobStore,
        *,
        files: Mapping[str, StoredFile] | None = None,
        requests: Mapping[str, str] | None = None,
    ) -> None:
        self.job_id = job_id
        self._store = store
        self._files = _by_part(files or {}, job_id)
        self._requests = _by_part(requests or {}, job_id)
        self._cancelled: set[Part] = set()

    def file(self, part: Part) -> StoredFile | None:
        """A file recorded earlier that is still on disk."""
        stored = self._files.get(part)
        return stored if stored is not None and stored.path.is_file() else None

    async def keep(self, part: Part, path: Path, **meta: object) -> None:
        """Record a validated file (and what to know about it)."""
        self._files[part] = StoredFile(path, dict(meta))
        await self._store.record_file(self.job_id, part.name, path, dict(meta))

    def ticket(
        self, part: Part, provider: str, queued: Callable[[int | None], None] | None = None
    ) -> RequestTicket:
        """A ticket for one provider call, named so a restart can find it again."""

        async def record(request_id: str) -> None:
            self._requests[part] = request_id
            # Mid-call: a database slow to take it must not cost the provider its deadline.
            async with off_the_clock():
                await self._store.record_request(self.job_id, part.name, provider, request_id)

        return RequestTicket(self._requests.get(part), record, queued)

    def pending(self) -> dict[Part, str]:
        """Provider requests with no kept file that nobody has cancelled yet."""
        return {
            part: request_id
            for part, request_id in self._requests.items()
            if self.file(part) is None and part not in self._cancelled
        }

    def cancelled(self, part: Part) -> None:
        """Note that a part's request was cancelled, so it is never cancelled twice."""
        self._cancelled.add(part)


def _by_part(named: Mapping[str, V], job_id: str) -> dict[Part, V]:
    parts: dict[Part, V] = {}
    for name, value in named.items():
        if (part := Part.parse(name)) is None:
            # Written by another version: without knowing it, it cannot be reused.
            log.warning(
                "job %s: journal entry %r is not understood; it is made again", job_id, name
            )
            continue
        parts[part] = value
    return parts
