"""What a job has made so far, kept so that a restart continues instead of starting over."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from engine.storage.jobs import JobStore, StoredFile


class RequestTicket:
    """Handed to a provider call: record a remote request id, or re-attach to one.

    A provider that queues work remotely calls ``record`` with the request id as soon as
    it has one, before waiting for the result. From then on (a retry of the same call, or
    a restart) ``existing`` holds that id, and the provider fetches its result instead of
    submitting again. ``queued`` reports the request's place in the provider's queue
    (None once it runs), for the progress message.
    """

    def __init__(
        self,
        existing: str | None,
        store: Callable[[str], Awaitable[None]],
        queued: Callable[[int | None], None] | None = None,
    ) -> None:
        self.existing = existing
        self._store = store
        self._queued = queued

    async def record(self, request_id: str) -> None:
        """Remember the request id (durably, when the job is stored) before awaiting it."""
        self.existing = request_id
        await self._store(request_id)

    def queued(self, position: int | None) -> None:
        """Report the request's queue position, or None when it is being worked on."""
        if self._queued is not None:
            self._queued(position)


class Journal:
    """One job's produced files and provider requests, persisted when a store is given."""

    def __init__(
        self,
        job_id: str,
        store: JobStore | None,
        *,
        files: dict[str, StoredFile] | None = None,
        requests: dict[str, str] | None = None,
    ) -> None:
        self.job_id = job_id
        self._store = store
        self._files = dict(files or {})
        self._requests = dict(requests or {})

    def file(self, name: str) -> StoredFile | None:
        """A file recorded earlier that is still on disk."""
        stored = self._files.get(name)
        return stored if stored is not None and stored.path.is_file() else None

    async def keep(self, name: str, path: Path, **meta: object) -> None:
        """Record a validated file (and what to know about it) under ``name``."""
        self._files[name] = StoredFile(path, dict(meta))
        if self._store is not None:
            await self._store.record_file(self.job_id, name, path, dict(meta))

    def ticket(
        self, name: str, provider: str, queued: Callable[[int | None], None] | None = None
    ) -> RequestTicket:
        """A ticket for one provider call, named so a restart can find it again."""

        async def record(request_id: str) -> None:
            self._requests[name] = request_id
            if self._store is not None:
                await self._store.record_request(self.job_id, name, provider, request_id)

        return RequestTicket(self._requests.get(name), record, queued)

    def pending_requests(self) -> dict[str, str]:
        """Provider requests recorded under names that have no kept file yet."""
        return {name: rid for name, rid in self._requests.items() if self.file(name) is None}
