"""A Surface that records what the engine told it, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine import Action, DreamResult, JobFailure, JobTicket, ProgressSnapshot


@dataclass
class RecordingSurface:
    """Keeps every call as (kind, payload); ``watch`` lets a test react to progress."""

    events: list[tuple[str, object]] = field(default_factory=list)
    watch: Callable[[ProgressSnapshot], None] | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    async def acknowledge(self, ticket: JobTicket) -> None:
        self.events.append(("ack", ticket))

    async def show_preview(self, preview: Path) -> None:
        self.events.append(("preview", preview))

    async def show_progress(self, progress: ProgressSnapshot) -> None:
        self.events.append(("progress", progress))
        if self.watch is not None:
            self.watch(progress)

    async def deliver_final(self, result: DreamResult) -> None:
        self.events.append(("final", result))
        self.finished.set()

    async def fail(self, failure: JobFailure) -> None:
        self.events.append(("fail", failure))
        self.finished.set()

    async def offer_actions(self, actions: Sequence[Action]) -> None:
        self.events.append(("actions", tuple(actions)))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]

    def first(self, kind: str) -> object:
        return next(payload for k, payload in self.events if k == kind)
