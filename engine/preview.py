"""The job's courtesy preview: made beside the script, shown at once, never fatal."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from engine.errors import EngineError, MediaError
from engine.journal import Journal
from engine.media.ffmpeg import FFmpeg
from engine.media.probe import probe
from engine.models import Part, PartKind, Stage
from engine.ports import PreviewGenerator, Surface
from engine.progress import ProgressTracker
from engine.step import ProviderStep
from engine.waiting import TURN, URGENT

log = logging.getLogger(__name__)

PREVIEW = Part(PartKind.PREVIEW)


class PreviewRun:
    """One job's preview, from its provider call to the surface."""

    def __init__(
        self,
        *,
        job_id: str,
        story: str,
        seed: int,
        folder: Path,
        maker: PreviewGenerator,
        ffmpeg: FFmpeg,
        step: ProviderStep,
        journal: Journal,
        tracker: ProgressTracker,
        surface: Surface,
    ) -> None:
        self._job_id = job_id
        self._story = story
        self._seed = seed
        self._folder = folder
        self._maker = maker
        self._ffmpeg = ffmpeg
        self._step = step
        self._journal = journal
        self._tracker = tracker
        self._surface = surface
        self._task: asyncio.Task[None] | None = None
        self._showing = False
        self.path: Path | None = None
        self.superseded = False  # dropped because the final came first

    def start(self) -> None:
        """Begin making the preview in the background."""
        self._task = asyncio.create_task(self._make())

    async def settle(self) -> None:
        """Let a preview that is being shown land; drop one that would arrive after the final.

        A job that is itself being cancelled drops the preview either way. A dropped
        preview's request is cancelled at its provider by the provider step.
        """
        task = self._task
        if task is None:
            return
        current = asyncio.current_task()
        cancelling = current is not None and current.cancelling() > 0
        if not task.done() and (cancelling or not self._showing):
            self.superseded = not cancelling
            task.cancel()
        try:
            # asyncio.wait, not await: the preview's own cancellation stays here, while the
            # job's (a person's cancel arriving now) goes on up.
            await asyncio.wait([task])
        except asyncio.CancelledError:
            task.cancel()
            await asyncio.wait([task])
            raise
        if task.cancelled() and self._tracker.snapshot().of(Stage.PREVIEW).elapsed_s is None:
            self._tracker.skip(Stage.PREVIEW)

    async def _make(self) -> None:
        TURN.set(URGENT)  # this task's own context: the job's other work keeps its turn
        if (shown := self._journal.file(PREVIEW)) is not None:
            # Shown before a restart: the message already carries it.
            self.path = shown.path
            self._tracker.finish(Stage.PREVIEW)
            return
        folder = self._folder
        folder.mkdir(exist_ok=True)
        try:
            made = await self._step.make(
                PREVIEW,
                {"story": self._story, "seed": self._seed},
                folder,
                lambda ticket: self._maker.generate_preview(
                    self._story, seed=self._seed, out_dir=folder, ticket=ticket
                ),
                self._check,
                keep=False,  # kept once shown: a restart must not show it twice
            )
        except EngineError as exc:
            # A preview is a courtesy: losing it never costs the job.
            log.warning("job %s: no preview: %s", self._job_id, exc)
            self._tracker.fail(Stage.PREVIEW)
            return
        except Exception:
            # Even a provider bug here must not cost the job; it is logged with its traceback.
            log.exception("job %s: the preview provider broke", self._job_id)
            self._tracker.fail(Stage.PREVIEW)
            return
        self._tracker.finish(Stage.PREVIEW)
        self.path = made.path
        self._showing = True
        try:
            await self._surface.show_preview(made.path)
            await self._journal.keep(PREVIEW, made.path)
        except Exception:
            # The surface is an adapter's code talking to a chat service; its failure to show
            # a courtesy preview is logged, and the job carries on to the final.
            log.exception("job %s: showing the preview failed", self._job_id)

    async def _check(self, path: Path) -> None:
        info = await probe(self._ffmpeg, path)
        if info.video is None:
            raise MediaError("the preview has no video stream")
