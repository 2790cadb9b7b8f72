"""What a job has made so far, kept so that a restart continues instead of starting over."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.ports import RequestTicket
from engine.storage.jobs import JobStore, StoredFile


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
