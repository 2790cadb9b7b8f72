"""A content-addressed store of provider outputs: same provider and inputs, same file.

The key covers the provider's identity (which names its model and settings), the role
and every parameter, with input files hashed by content, so a regenerate of an unchanged
scene or a repeated story costs nothing and a changed input can never hit.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from engine.storage.backend import Backend
from engine.storage.patience import is_refused
from engine.storage.sql import sql

log = logging.getLogger(__name__)
_EVICT = sql("DELETE FROM media_cache WHERE path IN ({ids_in})")


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Cache(Protocol):
    """Where validated provider outputs are kept by key (the provider step uses it)."""

    async def key(self, role: str, identity: str, params: Mapping[str, object]) -> str: ...

    async def fetch(self, key: str, target: Path) -> Path | None: ...

    async def put(self, key: str, path: Path) -> None: ...


class NoCache:
    """Keeps nothing: every call is made (an engine without ``use_cache``)."""

    async def key(self, role: str, identity: str, params: Mapping[str, object]) -> str:
        return ""  # never looked up, so the inputs are not even hashed

    async def fetch(self, key: str, target: Path) -> Path | None:
        return None

    async def put(self, key: str, path: Path) -> None:
        return None


class MediaCache:
    """Files under ``folder`` named by key, with a row per entry in the database."""

    def __init__(self, folder: Path, db: Backend) -> None:
        self.folder = folder
        self._db = db

    async def key(self, role: str, identity: str, params: Mapping[str, object]) -> str:
        """The key of one provider call; Path values are hashed by content."""
        resolved: dict[str, object] = {}
        for name, value in sorted(params.items()):
            if isinstance(value, Path):
                resolved[name] = "sha256:" + await asyncio.to_thread(file_digest, value)
            else:
                resolved[name] = value
        text = json.dumps({"role": role, "provider": identity, "params": resolved}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    async def fetch(self, key: str, target: Path) -> Path | None:
        """Place the cached file for ``key`` at ``target`` (suffix added) and return it."""
        matches = sorted((self.folder / key[:2]).glob(f"{key}.*"))
        if not matches:
            return None
        target = target.with_suffix(matches[0].suffix)
        await asyncio.to_thread(_place, matches[0], target)
        return target

    async def put(self, key: str, path: Path) -> None:
        """Keep a copy of a provider's validated output under ``key``."""
        stored = self.folder / key[:2] / f"{key}{path.suffix}"
        stored.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_place, path, stored)
        try:
            await self._db.fetch(
                "INSERT INTO media_cache (key, path, bytes, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET path = excluded.path, bytes = excluded.bytes, "
                "created_at = excluded.created_at",
                (key, str(stored), stored.stat().st_size, datetime.now(UTC).isoformat()),
            )
        except Exception as exc:
            # The row only sizes the cache for housekeeping; a database refusing writes
            # for now must not fail the job that made the file.
            if not is_refused(exc):
                raise
            log.warning("the cache entry of %s is not recorded: %s", path.name, exc)

    async def evict(self, paths: list[Path]) -> None:
        """Forget entries whose files housekeeping removed."""
        if paths:
            await self._db.fetch(
                _EVICT,
                (json.dumps([str(p) for p in paths]),),
            )


def _place(source: Path, target: Path) -> None:
    """Hard-link when the file system allows (no copy, no space), else copy."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
