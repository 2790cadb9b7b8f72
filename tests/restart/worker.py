"""An engine process for the restart test: run one job, or resume unfinished ones.

    python -m tests.restart.worker run|resume --db DB --work DIR --queue URL --events FILE
        [--die-after-final]

Script, preview, images and narration come from in-process fakes; clips come from a
remote queue over HTTP (the test's fake server), which is what a restart must re-attach to.
The surface writes every event as a JSON line to the events file, whose path is the
surface reference stored with the job. ``--die-after-final`` kills the process with SIGKILL
the moment after the final is delivered, before the job is charged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import httpx

from engine import (
    ROLE_DEFAULTS,
    Engine,
    EngineConfig,
    Limits,
    Providers,
    RenderConfig,
    Role,
    retimed,
)
from engine.books import Books
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.models import Action, DreamResult, JobFailure, JobTicket
from engine.ports import RequestTicket
from engine.progress import ProgressSnapshot
from engine.storage import Storage, StoredJob
from engine.storage.ledger import QuotaPolicy
from tests.fakes.providers import FakeMedia, FakeProviders

STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."


class QueueClips:
    """A clip provider on a remote queue: submit, record the id, poll for the result."""

    identity = "test-queue/1"

    def __init__(self, base_url: str) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=10)

    async def generate_clip(
        self,
        image: Path,
        prompt: str,
        *,
        seed: int,
        duration_s: float,
        out_dir: Path,
        ticket: RequestTicket | None = None,
    ) -> Path:
        request_id = ticket.existing if ticket is not None else None
        if request_id is None:
            response = await self._client.post("/submit", json={"prompt": prompt, "seed": seed})
            request_id = str(response.json()["request_id"])
            if ticket is not None:
                await ticket.record(request_id)
        while True:
            response = await self._client.get(f"/result/{request_id}")
            if response.status_code == 200:
                path = out_dir / "clip.mp4"
                path.write_bytes(response.content)
                return path
            await asyncio.sleep(0.05)  # a queue client polls, as fal's does


class EventFile:
    """A surface that appends each event to a JSON-lines file."""

    def __init__(self, path: Path, *, die_after_final: bool = False) -> None:
        self.path = path
        self.die_after_final = die_after_final

    def _write(self, kind: str, **data: object) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"kind": kind, **data}) + "\n")

    async def acknowledge(self, ticket: JobTicket) -> None:
        self._write("ack", job_id=ticket.job_id)

    async def show_preview(self, preview: Path) -> None:
        self._write("preview")

    async def show_progress(self, progress: ProgressSnapshot) -> None:
        return None

    async def deliver_final(self, result: DreamResult) -> None:
        self._write("final", path=str(result.final), duration_s=result.duration_s)

    async def fail(self, failure: JobFailure) -> None:
        self._write("fail", stage=failure.stage.value, reason=failure.reason)

    async def offer_actions(self, actions: Sequence[Action]) -> None:
        # Regenerate is offered right after the final lands, and before the charge.
        if self.die_after_final and Action.REGENERATE in actions:
            os.kill(os.getpid(), signal.SIGKILL)


async def main(args: argparse.Namespace) -> None:
    ffmpeg = FFmpeg(locate_ffmpeg(), max_procs=2, timeout_s=60)
    media = await FakeMedia.make(ffmpeg, args.work / "media", width=160, height=90)
    fake = FakeProviders(media)
    providers = replace(
        Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake),
        clips=QueueClips(args.queue),
    )
    config = EngineConfig(
        work_dir=args.work / "jobs",
        render=RenderConfig(width=160, height=90, fps=12, preset="ultrafast"),
        limits=Limits(ffmpeg=2),
        roles=retimed(ROLE_DEFAULTS, {Role.CLIPS: 120}),
    )
    storage = await Storage.open(args.db, QuotaPolicy())
    engine = Engine(config, providers, ffmpeg, books=Books(storage))
    try:
        if args.mode == "run":
            request = await engine.admit(STORY, requester="telegram:7")
            surface = EventFile(args.events, die_after_final=args.die_after_final)
            await engine.dream(request, surface, surface_ref=str(args.events))
        else:

            async def rebuild(stored: StoredJob) -> EventFile | None:
                return EventFile(Path(stored.surface)) if stored.surface else None

            await asyncio.gather(*await engine.resume(rebuild))
    finally:
        await storage.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["run", "resume"])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--events", type=Path, required=True)
    parser.add_argument("--die-after-final", action="store_true")
    asyncio.run(main(parser.parse_args()))
