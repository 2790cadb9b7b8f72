"""The small protocols the engine talks through: providers in, surfaces out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from engine.models import Action, DreamResult, JobFailure, JobTicket, Script
from engine.progress import ProgressSnapshot


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


class ScriptWriter(Protocol):
    """Cuts a story into scenes with one shared style sheet."""

    identity: str  # names the provider, model and settings: part of every cache key

    async def write_script(
        self, story: str, *, seed: int, ticket: RequestTicket | None = None
    ) -> Script: ...


class PreviewGenerator(Protocol):
    """Makes a rough, low-resolution motion preview of the whole story, fast."""

    identity: str

    async def generate_preview(
        self, story: str, *, seed: int, out_dir: Path, ticket: RequestTicket | None = None
    ) -> Path: ...


class ImageGenerator(Protocol):
    """Draws one still picture for a scene."""

    identity: str

    async def generate_image(
        self,
        prompt: str,
        *,
        seed: int,
        width: int,
        height: int,
        out_dir: Path,
        ticket: RequestTicket | None = None,
    ) -> Path: ...


class ClipGenerator(Protocol):
    """Turns a scene's picture into a short motion clip."""

    identity: str

    async def generate_clip(
        self,
        image: Path,
        prompt: str,
        *,
        seed: int,
        duration_s: float,
        out_dir: Path,
        ticket: RequestTicket | None = None,
    ) -> Path: ...


class Voice(Protocol):
    """Speaks a scene's narration into an audio file."""

    identity: str

    async def narrate(
        self, text: str, *, out_dir: Path, ticket: RequestTicket | None = None
    ) -> Path: ...


class Moderator(Protocol):
    """Checks a story at admission; raises StoryRejectedError with a reason if flagged."""

    async def check(self, text: str) -> None: ...


@runtime_checkable
class CancellableProvider(Protocol):
    """A provider whose remote requests can be cancelled by id (optional for providers)."""

    async def cancel_request(self, request_id: str) -> None: ...


@dataclass(frozen=True)
class Providers:
    """One implementation of every provider role a job needs."""

    script: ScriptWriter
    preview: PreviewGenerator
    images: ImageGenerator
    clips: ClipGenerator
    voice: Voice
    moderation: Moderator | None = None

    def for_request(self, name: str) -> object:
        """The provider that made the journal entry ``name`` (``clip_02`` → clips)."""
        prefix = name.split("_", 1)[0]
        role = {"image": "images", "clip": "clips", "narration": "voice"}.get(prefix, prefix)
        return getattr(self, role)


class Surface(Protocol):
    """Where a job shows itself: a chat message, a terminal. Adapters implement it.

    Adapters that can find their message again after a restart pass an opaque reference
    string to ``Engine.dream(surface_ref=...)`` and rebuild the surface from it in
    ``Engine.resume``.
    """

    async def acknowledge(self, ticket: JobTicket) -> None: ...

    async def show_preview(self, preview: Path) -> None: ...

    async def show_progress(self, progress: ProgressSnapshot) -> None: ...

    async def deliver_final(self, result: DreamResult) -> None: ...

    async def fail(self, failure: JobFailure) -> None: ...

    async def offer_actions(self, actions: Sequence[Action]) -> None: ...
