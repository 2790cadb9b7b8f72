"""The small protocols the engine talks through: providers in, surfaces out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from engine.models import (
    Action,
    DreamResult,
    JobFailure,
    JobTicket,
    Language,
    ProgressSnapshot,
    Role,
    Script,
)


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


class Provider(Protocol):
    """What every provider has: a name for its model and settings."""

    identity: str  # names the provider, model and settings: part of every cache key


class ScriptWriter(Provider, Protocol):
    """Cuts a story into scenes with one shared style sheet."""

    async def write_script(
        self,
        story: str,
        *,
        seed: int,
        language: Language,
        ticket: RequestTicket | None = None,
    ) -> Script: ...


class PreviewGenerator(Provider, Protocol):
    """Makes a rough, low-resolution motion preview of the whole story, fast."""

    async def generate_preview(
        self, story: str, *, seed: int, out_dir: Path, ticket: RequestTicket | None = None
    ) -> Path: ...


class ImageGenerator(Provider, Protocol):
    """Draws one still picture for a scene."""

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


class ClipGenerator(Provider, Protocol):
    """Turns a scene's picture into a short motion clip."""

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


@runtime_checkable
class ExactLengthClips(Protocol):
    """A clip generator that makes any length quickly, on this machine (the offline Ken
    Burns). Scenes then wait for the narration and ask for exactly its length, so the
    motion spans the scene; a remote model's clips have lengths of their own and are
    asked for at once, and slowed or held at assembly instead."""

    exact_length: bool


class Voice(Provider, Protocol):
    """Speaks a scene's narration into an audio file, in the script's language.

    A voice that cannot speak the language raises VoiceUnavailableError: the scene then
    has silence of speaking length rather than letters spelled out one by one.
    """

    # The voices a person may choose (their settings), the default first; ``narrate``
    # speaks with the default for a voice it does not have (one chosen under another
    # provider).
    choices: tuple[str, ...]

    async def narrate(
        self,
        text: str,
        *,
        language: Language,
        voice: str | None = None,
        out_dir: Path,
        ticket: RequestTicket | None = None,
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

    def of(self, role: Role) -> Provider:
        """The provider that plays ``role``."""
        by_role: dict[Role, Provider] = {
            Role.SCRIPT: self.script,
            Role.PREVIEW: self.preview,
            Role.IMAGES: self.images,
            Role.CLIPS: self.clips,
            Role.VOICE: self.voice,
        }
        return by_role[role]


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
