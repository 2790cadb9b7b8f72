"""One job run, its only owner: preview and script together, scenes in parallel, merge,
deliver, and how it ends (settled once, told once)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path

from engine.cache import Cache
from engine.calls import ProviderGates, describe_failure
from engine.config import EngineConfig
from engine.errors import EngineError, StageFailedError
from engine.journal import Journal
from engine.media.compose import concat
from engine.media.ffmpeg import FFmpeg
from engine.media.probe import probe
from engine.models import (
    Action,
    DreamRequest,
    DreamResult,
    JobFailure,
    JobState,
    JobTicket,
    Language,
    Part,
    PartKind,
    SceneResult,
    Script,
    Stage,
    StageStatus,
    VisualKind,
    seed_of,
)
from engine.notice import N_, Notice
from engine.outcome import Outcome
from engine.ports import Providers, RequestTicket, Surface
from engine.preview import PREVIEW, PreviewRun
from engine.progress import ProgressTracker
from engine.scenes import SceneFailure, SceneWorker
from engine.scripts import script_from_json, script_to_json
from engine.segment import graphemes, tokens
from engine.settlement import Settlement
from engine.step import ProviderStep, abandon_pending
from engine.telemetry import Telemetry
from engine.waiting import ENCODER_WAIT, TURN, next_turn

log = logging.getLogger(__name__)
CANCELLED = Notice(N_("cancelled"))
# What a finished video says when the voice could not speak (all or some of) its language.
NO_VOICE = N_("The offline voice does not speak {language}, so this video has no narration.")
SOME_SILENT = N_(
    "The offline voice cannot read all of this {language} story, so some scenes are silent."
)

_HEADLINE_CHARS = 60
_SCRIPT = Part(PartKind.SCRIPT)


def headline(story: str) -> str:
    """The first words of a story, short enough to title a progress message."""
    first_line = story.strip().splitlines()[0] if story.strip() else ""
    if len(first_line) <= _HEADLINE_CHARS:
        return first_line
    # Cut between words (ICU's, so Thai and Chinese too), never inside a word or an emoji.
    head = ""
    for token in tokens(first_line):
        if len(head + token.rstrip()) > _HEADLINE_CHARS:
            # A first word longer than a title (or a line of emoji): whole graphemes then.
            for grapheme in graphemes(token) if not head else ():
                if len(head + grapheme) > _HEADLINE_CHARS:
                    break
                head += grapheme
            break
        head += token
    return head.rstrip().rstrip(",;:、，") + "…"


@dataclass(frozen=True)
class JobContext:
    """What a job run needs from the engine that runs it, and nothing more."""

    config: EngineConfig
    providers: Providers
    ffmpeg: FFmpeg
    gates: ProviderGates
    cache: Cache
    telemetry: Telemetry
    settlement: Settlement


class JobRun:
    """One job from acknowledgement to its settled end."""

    def __init__(
        self,
        context: JobContext,
        request: DreamRequest,
        surface: Surface,
        journal: Journal,
        *,
        resumed: bool = False,
    ) -> None:
        self.context = context
        self.request = request
        self.surface = surface
        self.journal = journal
        self.resumed = resumed
        self.job_id = request.job_id
        self.seed = seed_of(request.story, request.seed)
        self.title = headline(request.story)
        self.workdir = context.config.work_dir / self.job_id
        self.tracker = ProgressTracker(self.title)
        self.step = ProviderStep(
            journal=journal,
            cache=context.cache,
            gates=context.gates,
            providers=context.providers,
            tracker=self.tracker,
            abandons=self._abandons,
        )
        self.preview = PreviewRun(
            job_id=self.job_id,
            story=request.story,
            seed=self.seed,
            folder=self.workdir / "preview",
            maker=context.providers.preview,
            ffmpeg=context.ffmpeg,
            step=self.step,
            journal=journal,
            tracker=self.tracker,
            surface=surface,
        )
        # Taken as the run is made: resumed jobs (made at start) and older ones go first.
        self.turn = next_turn()
        self._task: asyncio.Task[object] | None = None
        self._cancel_requested = False
        self._ending = False  # delivered, or failed and settling: a cancel changes nothing

    async def run(self, surface_ref: str | None = None) -> DreamResult:
        """Run to the end: the delivered result, or StageFailedError; settled either way.

        Cancelled by ``cancel()``, the job is refunded and told; cancelled because the
        process is stopping, it stays unfinished and resumes from its journal.
        """
        turn = TURN.set(self.turn)  # for every wait of this task and the tasks it starts
        try:
            return await self._run_owned(surface_ref)
        finally:
            TURN.reset(turn)

    async def _run_owned(self, surface_ref: str | None) -> DreamResult:
        self._task = asyncio.current_task()
        settlement = self.context.settlement
        try:
            await self._start(surface_ref)
            result = await self._run()
        except StageFailedError as failure:
            # From here the job is ending: a cancel can no longer change how, and the
            # settling is shielded so a stopping process leaves it to the outcome file.
            self._ending = True
            # A failed job never resumes: nothing it still has in a queue is wanted.
            await abandon_pending(self.journal, self.context.providers)
            outcome = Outcome(JobState.FAILED, failure.stage, failure.notice)
            await self._shielded(self._settle_and_tell(outcome))
            raise
        except asyncio.CancelledError:
            if self._cancel_requested:
                # Shielded: a second cancel (the process stopping) must not leave the
                # person's cancel half settled.
                await self._shielded(self._settle_cancelled())
            raise
        self._ending = True
        outcome = Outcome(JobState.DELIVERED)
        await settlement.settle(self.job_id, self.workdir, outcome, timings=result.timings)
        return result

    async def _start(self, surface_ref: str | None) -> None:
        # The person hears at once; the job's row and folder are made meanwhile (the
        # acknowledgement needs neither, and a burst of jobs queues on the database).
        try:
            await asyncio.gather(
                self.context.settlement.start(self.job_id, self.workdir, surface_ref),
                self._greet(),
            )
        except Exception as exc:
            # A chat that cannot be written to, a folder that cannot be made: the job ends
            # as failed (refunded, its claim let go) instead of staying reserved forever.
            log.exception("job %s: could not start", self.job_id)
            raise StageFailedError(Stage.SCRIPT, describe_failure(exc)) from exc

    def cancel(self) -> bool:
        """Stop the job at its owner's request (refunded and told); False if it has ended
        or is ending (delivered, or failed and settling)."""
        if self._task is None or self._task.done() or self._ending:
            return False
        self._cancel_requested = True
        self._task.cancel()
        return True

    @property
    def task(self) -> asyncio.Task[object] | None:
        """The task running the job, once it has started."""
        return self._task

    @property
    def running(self) -> bool:
        """Whether the job's task is still going."""
        return self._task is not None and not self._task.done()

    def _abandons(self, part: Part) -> bool:
        # Whether a cancelled call's request is given up for good: yes when the person
        # cancelled or the part was superseded; a process that is merely stopping keeps
        # it for the resumed job to re-attach to.
        return self._cancel_requested or (part == PREVIEW and self.preview.superseded)

    async def _greet(self) -> None:
        if self.resumed:
            log.info("job %s: resumed", self.job_id)
        else:
            log.info("job %s: accepted for %s", self.job_id, self.request.requester)
            await self.surface.acknowledge(JobTicket(self.job_id, self.title))

    async def _run(self) -> DreamResult:
        self.workdir.mkdir(parents=True, exist_ok=True)
        await self.surface.offer_actions([Action.CANCEL])
        reporter = asyncio.create_task(self._report_progress())
        try:
            result = await self._produce()
        except StageFailedError as failure:
            await self._note_failure(reporter, failure)
            raise
        except Exception as exc:
            # A bug must still end the job visibly, named by the stage it broke.
            log.exception("job %s: internal error", self.job_id)
            internal = StageFailedError(self._current_stage(), describe_failure(exc))
            await self._note_failure(reporter, internal)
            raise internal from exc
        finally:
            await _stop(reporter)
        log.info("job %s: delivering %.1f s of video", self.job_id, result.duration_s)
        self._log_stages()
        # Started after the result's snapshot was taken: the final's caption does not list
        # a delivery that is, by then, done.
        self.tracker.start(Stage.DELIVERY)
        try:
            await self.surface.deliver_final(result)
        except Exception as exc:
            # The video exists but the person did not get it: that is a failed job.
            log.exception("job %s: delivery failed", self.job_id)
            undelivered = StageFailedError(
                Stage.DELIVERY, Notice(N_("the video could not be delivered"))
            )
            await self._note_failure(reporter, undelivered)
            raise undelivered from exc
        # Recorded before anything else can go wrong: a restart from here on settles the
        # job as delivered instead of making and sending the video again.
        self._ending = True
        await self.context.settlement.record(self.workdir, Outcome(JobState.DELIVERED))
        self.tracker.finish(Stage.DELIVERY)
        try:
            await self.surface.offer_actions([Action.REGENERATE])
        except Exception:
            # The video is delivered; a button that could not be offered must not keep
            # the job from being settled.
            log.exception("job %s: offering Regenerate failed", self.job_id)
        return result

    async def _shielded(self, ending: Coroutine[object, object, None]) -> None:
        """Run a job's ending to its end even if this task is cancelled meanwhile (the
        process stopping): its outcome is on disk, so a restart finishes it otherwise."""
        task = asyncio.ensure_future(ending)
        _ENDINGS.add(task)
        task.add_done_callback(_ENDINGS.discard)
        await asyncio.shield(task)

    async def _settle_cancelled(self) -> None:
        await abandon_pending(self.journal, self.context.providers)
        stage = self._current_stage()
        self.tracker.fail(stage)
        await self._settle_and_tell(Outcome(JobState.CANCELLED, stage, CANCELLED))

    async def _note_failure(self, reporter: asyncio.Task[None], failure: StageFailedError) -> None:
        await _stop(reporter)
        log.warning("job %s: failed at %s: %s", self.job_id, failure.stage, failure.reason)
        self.tracker.fail(failure.stage)
        self._log_stages()

    async def _settle_and_tell(self, outcome: Outcome) -> None:
        """Refund, then tell. A user hears "nothing was charged" only once the refund is
        recorded; while the database refuses writes, they hear that the refund is on its
        way, and the same message is told again when it lands.

        "On its way" is said only when the outcome is on disk, so that a restart cannot
        run the job again and deliver it after the user heard it failed. Where not even
        that could be written (a full disk), the user hears nothing until the refund is
        recorded.
        """
        settlement = self.context.settlement
        on_disk = await settlement.record(self.workdir, outcome)
        settling = asyncio.ensure_future(settlement.settle(self.job_id, None, outcome))
        wait_s = self.context.config.settle_wait_s if on_disk else None
        done, _ = await asyncio.wait({settling}, timeout=wait_s)
        if not done:
            await self._tell(outcome, refunded=False)
            await settling
        settling.result()
        await self._tell(outcome, refunded=True)

    async def _tell(self, outcome: Outcome, *, refunded: bool) -> None:
        cancelled = outcome.state is JobState.CANCELLED
        failure = JobFailure(
            self.job_id,
            outcome.stage or self._current_stage(),
            outcome.notice or CANCELLED,
            self.tracker.snapshot(),
            cancelled=cancelled,
            refunded=refunded,
        )
        await self.surface.fail(failure)
        if refunded:
            await self.surface.offer_actions([Action.REGENERATE])

    def _log_stages(self) -> None:
        """One log line per stage that ran, with structured fields for log pipelines."""
        providers = self.context.providers
        by_stage = {
            Stage.PREVIEW: providers.preview.identity,
            Stage.SCRIPT: providers.script.identity,
            Stage.IMAGES: providers.images.identity,
            Stage.NARRATION: providers.voice.identity,
            Stage.CLIPS: providers.clips.identity,
            Stage.SCENES: "ffmpeg",
            Stage.MERGE: "ffmpeg",
            Stage.DELIVERY: "surface",
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
            self.context.telemetry.stage_done(
                progress.stage, progress.status, progress.elapsed_s, by_stage[progress.stage]
            )

    def _current_stage(self) -> Stage:
        stages = self.tracker.snapshot().stages
        running = [s.stage for s in stages if s.status is StageStatus.RUNNING]
        return running[-1] if running else Stage.SCRIPT

    async def _produce(self) -> DreamResult:
        self.tracker.start(Stage.PREVIEW)
        self.tracker.start(Stage.SCRIPT)
        self.preview.start()
        try:
            script = await self._write_script()
            scenes, notices = await self._build_scenes(script)
            final, duration = await self._merge(scenes)
        finally:
            await self.preview.settle()
        return DreamResult(
            job_id=self.job_id,
            title=script.title,
            final=final,
            duration_s=duration,
            scenes=tuple(scenes),
            preview=self.preview.path,
            timings=self.tracker.timings(),
            progress=self.tracker.snapshot(),
            notices=notices,
        )

    async def _write_script(self) -> Script:
        writer = self.context.providers.script
        saved = self.workdir / "script.json"

        async def write(ticket: RequestTicket) -> Path:
            script = await writer.write_script(
                self.request.story, seed=self.seed, language=self.request.language, ticket=ticket
            )
            saved.write_text(script_to_json(script), encoding="utf-8")
            return saved

        try:
            made = await self.step.make(
                _SCRIPT,
                {
                    "story": self.request.story,
                    "seed": self.seed,
                    "language": self.request.language.tag,
                },
                self.workdir,
                write,
                _read_script,
            )
        except StageFailedError:
            raise
        except EngineError as exc:
            raise StageFailedError(Stage.SCRIPT, describe_failure(exc)) from exc
        self.tracker.finish(Stage.SCRIPT)
        log.info("job %s: script of %d scenes", self.job_id, len(made.value.scenes))
        return made.value

    async def _build_scenes(self, script: Script) -> tuple[list[SceneResult], tuple[Notice, ...]]:
        """The scenes that could be made, and what the user should be told about them."""
        total = len(script.scenes)
        for stage in (Stage.IMAGES, Stage.NARRATION, Stage.CLIPS, Stage.SCENES):
            self.tracker.start(stage, total=total)
        worker = SceneWorker(
            job_id=self.job_id,
            script=script,
            workdir=self.workdir,
            render=self.context.config.render.shaped(self.request.look),
            voice=self.request.look.voice,
            providers=self.context.providers,
            step=self.step,
            ffmpeg=self.context.ffmpeg,
            tracker=self.tracker,
            journal=self.journal,
        )
        slots = asyncio.Semaphore(self.context.config.limits.parallel_scenes or total)

        async def build(index: int) -> SceneResult | SceneFailure:
            # This scene's encodes say so when they wait for a free ffmpeg slot.
            ENCODER_WAIT.set(
                lambda wait: self.tracker.waiting(Stage.SCENES, f"scene-{index}", wait)
            )
            async with slots:
                return await worker.build(script.scenes[index])

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(build(n)) for n in range(total)]
        outcomes = [task.result() for task in tasks]
        scenes = self._judge(outcomes)
        return scenes, _voice_notices(scenes, script.language)

    def _judge(self, outcomes: list[SceneResult | SceneFailure]) -> list[SceneResult]:
        """Apply the delivery rule: at least one scene with a real picture and a voice,
        unless the voice said it does not speak the language (the result then says so)."""
        good = [o for o in outcomes if isinstance(o, SceneResult)]
        if not good:
            failure = next(o for o in outcomes if isinstance(o, SceneFailure))
            raise StageFailedError(
                Stage.SCENES,
                Notice(N_("no scene could be assembled: {reason}"), {"reason": failure.reason}),
            )
        if all(scene.visual is VisualKind.TITLE_CARD for scene in good):
            raise StageFailedError(
                Stage.IMAGES, Notice(N_("no picture could be made for any scene"))
            )
        voiceless = any(scene.unreadable for scene in good)
        if not voiceless and not any(scene.spoken for scene in good):
            raise StageFailedError(Stage.NARRATION, Notice(N_("no narration could be recorded")))
        return good

    async def _merge(self, scenes: list[SceneResult]) -> tuple[Path, float]:
        self.tracker.start(Stage.MERGE)
        final = self.workdir / "final.mp4"
        ffmpeg = self.context.ffmpeg
        ENCODER_WAIT.set(lambda wait: self.tracker.waiting(Stage.MERGE, "merge", wait))
        try:
            await concat(ffmpeg, [scene.path for scene in scenes], final)
            info = await probe(ffmpeg, final)
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


async def _read_script(path: Path) -> Script:
    script = script_from_json(path.read_text(encoding="utf-8"))
    if not script.scenes:
        raise StageFailedError(Stage.SCRIPT, Notice(N_("the script has no scenes")))
    return script


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


# Job endings in flight, referenced until done so none is collected half way.
_ENDINGS: set[asyncio.Future[None]] = set()


def _voice_notices(scenes: list[SceneResult], language: Language) -> tuple[Notice, ...]:
    """What to tell about scenes left silent because the voice does not speak the language
    (journalled with each scene, so a job resumed after a restart still says it)."""
    if not any(scene.unreadable for scene in scenes):
        return ()
    spoken = any(scene.spoken for scene in scenes)
    return (Notice(SOME_SILENT if spoken else NO_VOICE, {"language": language}),)
