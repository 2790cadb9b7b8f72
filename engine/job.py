"""One job run: preview and script together, scenes in parallel, merge, deliver."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from engine.calls import describe_failure, fetch_or_make
from engine.errors import EngineError, MediaError, StageFailedError
from engine.journal import Journal
from engine.media.compose import concat
from engine.media.probe import probe
from engine.models import (
    Action,
    DreamRequest,
    DreamResult,
    JobFailure,
    JobTicket,
    Role,
    SceneResult,
    Script,
    Stage,
    VisualKind,
)
from engine.ports import Surface
from engine.progress import ProgressTracker, StageStatus
from engine.scenes import SceneFailure, SceneWorker
from engine.scripts import script_from_json, script_to_json

if TYPE_CHECKING:
    from engine.pipeline import Engine

log = logging.getLogger(__name__)

_HEADLINE_CHARS = 60


def headline(story: str) -> str:
    """The first words of a story, short enough to title a progress message."""
    first_line = story.strip().splitlines()[0] if story.strip() else ""
    if len(first_line) <= _HEADLINE_CHARS:
        return first_line
    return first_line[:_HEADLINE_CHARS].rsplit(" ", 1)[0].rstrip(",;: ") + "…"


class JobRun:
    """One job from acknowledgement to final (or failure), as the engine runs it."""

    def __init__(
        self,
        engine: Engine,
        request: DreamRequest,
        surface: Surface,
        journal: Journal,
        *,
        resumed: bool = False,
    ) -> None:
        self.engine = engine
        self.request = request
        self.surface = surface
        self.journal = journal
        self.resumed = resumed
        self.job_id = request.job_id
        self.seed = request.seed if request.seed is not None else zlib.crc32(request.story.encode())
        self.title = headline(request.story)
        self.workdir = engine.config.work_dir / self.job_id
        self.tracker = ProgressTracker(self.title)
        self.preview: Path | None = None
        self.preview_showing = False

    async def run(self) -> DreamResult:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.resumed:
            log.info("job %s: resumed", self.job_id)
        else:
            log.info("job %s: accepted for %s", self.job_id, self.request.requester)
            await self.surface.acknowledge(JobTicket(self.job_id, self.title))
        await self.surface.offer_actions([Action.CANCEL])
        reporter = asyncio.create_task(self._report_progress())
        try:
            result = await self._produce()
        except StageFailedError as failure:
            await self._report_failure(reporter, failure)
            raise
        except Exception as exc:
            # A bug must still end the job visibly, named by the stage it broke.
            log.exception("job %s: internal error", self.job_id)
            internal = StageFailedError(self._current_stage(), describe_failure(exc))
            await self._report_failure(reporter, internal)
            raise internal from exc
        finally:
            await _stop(reporter)
        log.info("job %s: delivering %.1f s of video", self.job_id, result.duration_s)
        self._log_stages()
        try:
            await self.surface.deliver_final(result)
        except Exception as exc:
            # The video exists but the person did not get it: that is a failed job.
            log.exception("job %s: delivery failed", self.job_id)
            undelivered = StageFailedError(Stage.MERGE, "the video could not be delivered")
            await self._report_failure(reporter, undelivered)
            raise undelivered from exc
        await self.surface.offer_actions([Action.REGENERATE])
        return result

    async def tell_cancelled(self) -> None:
        """Tell the surface the job was cancelled at the person's request."""
        stage = self._current_stage()
        self.tracker.fail(stage)
        await self.surface.fail(
            JobFailure(self.job_id, stage, "cancelled", self.tracker.snapshot(), cancelled=True)
        )
        await self.surface.offer_actions([Action.REGENERATE])

    async def _report_failure(
        self, reporter: asyncio.Task[None], failure: StageFailedError
    ) -> None:
        await _stop(reporter)
        log.warning("job %s: failed at %s: %s", self.job_id, failure.stage, failure.reason)
        self.tracker.fail(failure.stage)
        self._log_stages()
        await self.surface.fail(
            JobFailure(self.job_id, failure.stage, failure.reason, self.tracker.snapshot())
        )
        await self.surface.offer_actions([Action.REGENERATE])

    def _log_stages(self) -> None:
        """One log line per stage that ran, with structured fields for log pipelines."""
        providers = self.engine.providers
        by_stage = {
            Stage.PREVIEW: providers.preview.identity,
            Stage.SCRIPT: providers.script.identity,
            Stage.IMAGES: providers.images.identity,
            Stage.NARRATION: providers.voice.identity,
            Stage.CLIPS: providers.clips.identity,
            Stage.SCENES: "ffmpeg",
            Stage.MERGE: "ffmpeg",
        }
        for progress in self.tracker.snapshot().stages:
            if progress.elapsed_s is None:
                continue
            fields = {
                "job_id": self.job_id,
                "stage": progress.stage.value,
                "status": progress.status.value,
                "duration_s": round(progress.elapsed_s, 3),
                "provider": by_stage[progress.stage],
            }
            log.info(
                "job %s: stage %s %s in %.2f s (%s)",
                self.job_id, fields["stage"], fields["status"], fields["duration_s"],
                fields["provider"], extra=fields,
            )  # fmt: skip
            self.engine.telemetry.stage_done(
                progress.stage, progress.status.value, progress.elapsed_s, by_stage[progress.stage]
            )

    def _current_stage(self) -> Stage:
        stages = self.tracker.snapshot().stages
        running = [s.stage for s in stages if s.status is StageStatus.RUNNING]
        return running[-1] if running else Stage.SCRIPT

    async def _produce(self) -> DreamResult:
        self.tracker.start(Stage.PREVIEW)
        self.tracker.start(Stage.SCRIPT)
        preview_task = asyncio.create_task(self._make_preview())
        try:
            script = await self._write_script()
            scenes = await self._build_scenes(script)
            final, duration = await self._merge(scenes)
        finally:
            await self._settle_preview(preview_task)
        return DreamResult(
            job_id=self.job_id,
            title=script.title,
            final=final,
            duration_s=duration,
            scenes=tuple(scenes),
            preview=self.preview,
            timings=self.tracker.timings(),
            progress=self.tracker.snapshot(),
        )

    async def _make_preview(self) -> None:
        if (shown := self.journal.file("preview")) is not None:
            # Shown before a restart: the message already carries it.
            self.preview = shown.path
            self.tracker.finish(Stage.PREVIEW)
            return
        folder = self.workdir / "preview"
        folder.mkdir(exist_ok=True)
        config = self.engine.config
        preview = self.engine.providers.preview
        cache = self.engine.cache
        try:
            path, key = await fetch_or_make(
                cache,
                "preview",
                preview.identity,
                {"story": self.request.story, "seed": self.seed},
                folder / "cached_preview",
                lambda: self.engine.gates.call(
                    Role.PREVIEW,
                    config.roles[Role.PREVIEW].timeout_s,
                    lambda: preview.generate_preview(
                        self.request.story,
                        seed=self.seed,
                        out_dir=folder,
                        ticket=self.journal.ticket(
                            "preview",
                            preview.identity,
                            lambda place: self.tracker.queued(Stage.PREVIEW, "preview", place),
                        ),
                    ),
                ),
            )
            info = await probe(self.engine.ffmpeg, path)
            if info.video is None:
                raise MediaError("the preview has no video stream")
            if cache is not None and key is not None:
                await cache.put(key, path)
        except EngineError as exc:
            # A preview is a courtesy: losing it never costs the job.
            log.warning("job %s: no preview: %s", self.job_id, exc)
            self.tracker.fail(Stage.PREVIEW)
            return
        except Exception:
            # Even a provider bug here must not cost the job; it is logged with its traceback.
            log.exception("job %s: the preview provider broke", self.job_id)
            self.tracker.fail(Stage.PREVIEW)
            return
        self.tracker.finish(Stage.PREVIEW)
        self.preview = path
        self.preview_showing = True
        try:
            await self.surface.show_preview(path)
            await self.journal.keep("preview", path)
        except Exception:
            # The surface is an adapter's code talking to a chat service; its failure to show
            # a courtesy preview is logged, and the job carries on to the final.
            log.exception("job %s: showing the preview failed", self.job_id)

    async def _settle_preview(self, task: asyncio.Task[None]) -> None:
        """Let a preview that is being shown land; drop one that would arrive after the final.

        A job that is itself being cancelled drops the preview either way.
        """
        current = asyncio.current_task()
        cancelling = current is not None and current.cancelling() > 0
        if not task.done() and (cancelling or not self.preview_showing):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if task.cancelled() and self.tracker.snapshot().of(Stage.PREVIEW).elapsed_s is None:
            self.tracker.skip(Stage.PREVIEW)

    async def _write_script(self) -> Script:
        if (kept := self.journal.file("script")) is not None:
            self.tracker.finish(Stage.SCRIPT)
            return script_from_json(kept.path.read_text(encoding="utf-8"))
        writer = self.engine.providers.script
        saved = self.workdir / "script.json"

        async def write() -> Path:
            script = await self.engine.gates.call(
                Role.SCRIPT,
                self.engine.config.roles[Role.SCRIPT].timeout_s,
                lambda: writer.write_script(
                    self.request.story,
                    seed=self.seed,
                    ticket=self.journal.ticket("script", writer.identity),
                ),
            )
            saved.write_text(script_to_json(script), encoding="utf-8")
            return saved

        try:
            path, key = await fetch_or_make(
                self.engine.cache,
                "script",
                writer.identity,
                {"story": self.request.story, "seed": self.seed},
                self.workdir / "cached_script",
                write,
            )
            script = script_from_json(path.read_text(encoding="utf-8"))
        except EngineError as exc:
            raise StageFailedError(Stage.SCRIPT, describe_failure(exc)) from exc
        if not script.scenes:
            raise StageFailedError(Stage.SCRIPT, "the script has no scenes")
        await self.journal.keep("script", path)
        if self.engine.cache is not None and key is not None:
            await self.engine.cache.put(key, path)
        self.tracker.finish(Stage.SCRIPT)
        log.info("job %s: script of %d scenes", self.job_id, len(script.scenes))
        return script

    async def _build_scenes(self, script: Script) -> list[SceneResult]:
        total = len(script.scenes)
        for stage in (Stage.IMAGES, Stage.NARRATION, Stage.CLIPS, Stage.SCENES):
            self.tracker.start(stage, total=total)
        worker = SceneWorker(
            job_id=self.job_id,
            script=script,
            workdir=self.workdir,
            config=self.engine.config,
            providers=self.engine.providers,
            gates=self.engine.gates,
            ffmpeg=self.engine.ffmpeg,
            tracker=self.tracker,
            journal=self.journal,
            cache=self.engine.cache,
        )
        slots = asyncio.Semaphore(self.engine.config.limits.parallel_scenes or total)

        async def build(index: int) -> SceneResult | SceneFailure:
            async with slots:
                return await worker.build(script.scenes[index])

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(build(n)) for n in range(total)]
        outcomes = [task.result() for task in tasks]
        return self._judge(outcomes)

    def _judge(self, outcomes: list[SceneResult | SceneFailure]) -> list[SceneResult]:
        """Apply the delivery rule: at least one scene with a real picture and a voice."""
        good = [o for o in outcomes if isinstance(o, SceneResult)]
        if not good:
            failure = next(o for o in outcomes if isinstance(o, SceneFailure))
            raise StageFailedError(Stage.SCENES, f"no scene could be assembled: {failure.reason}")
        if all(scene.visual is VisualKind.TITLE_CARD for scene in good):
            raise StageFailedError(Stage.IMAGES, "no picture could be made for any scene")
        if not any(scene.spoken for scene in good):
            raise StageFailedError(Stage.NARRATION, "no narration could be recorded")
        return good

    async def _merge(self, scenes: list[SceneResult]) -> tuple[Path, float]:
        self.tracker.start(Stage.MERGE)
        final = self.workdir / "final.mp4"
        try:
            await concat(self.engine.ffmpeg, [scene.path for scene in scenes], final)
            info = await probe(self.engine.ffmpeg, final)
        except EngineError as exc:
            raise StageFailedError(Stage.MERGE, describe_failure(exc)) from exc
        self.tracker.finish(Stage.MERGE)
        return final, info.duration_s or sum(scene.duration_s for scene in scenes)

    async def _report_progress(self) -> None:
        while True:
            snapshot = await self.tracker.wait_changed()
            try:
                await self.surface.show_progress(snapshot)
            except Exception:
                # Progress is best effort; a surface that cannot show it must not end the job.
                log.exception("job %s: progress update failed", self.job_id)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
