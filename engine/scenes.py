"""One scene's chain: picture and narration side by side, then assembly, degrading on failure.

The ladder: a failed clip falls back to the scene image with Ken Burns motion; a failed
image falls back to a title card; a failed narration falls back to silence sized to the
words (the captions still carry them). A visual that ffmpeg cannot use at assembly drops
to the next rung too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image

from engine.calls import describe_failure
from engine.config import MAX_IMAGE_PIXELS, RenderConfig
from engine.errors import EngineError, MediaError, ProviderError, VoiceUnavailableError
from engine.journal import Journal
from engine.markup import spoken_text
from engine.media.compose import Soundtrack, frame_count, prepare_soundtrack, render_scene
from engine.media.dimensions import check_pixels
from engine.media.ffmpeg import FFmpeg
from engine.media.measure import count_video
from engine.media.probe import MediaInfo, probe
from engine.media.silence import write_silence
from engine.media.title_card import draw_title_card
from engine.models import (
    Narration,
    Part,
    PartKind,
    SceneResult,
    SceneSpec,
    Script,
    Stage,
    Visual,
    VisualKind,
)
from engine.notice import N_, Notice
from engine.ports import ExactLengthClips, Providers
from engine.progress import ProgressTracker
from engine.speech import speaking_time
from engine.step import ProviderStep

log = logging.getLogger(__name__)

_MAX_NARRATION_S = 120.0  # provider output is untrusted; no scene reads for two minutes
# A voice that takes this many times as long as the text takes to say is not reading it:
# it is spelling it out, letter by letter, in a language it does not speak.
_SLOWEST = 2.5
_WHOLE = 0.9  # a clip that holds less of the length its header states is truncated
_SHORTEST_CLIP_S = 1.0  # a shorter clip would be mostly a held frame; the still is better


@dataclass(frozen=True)
class SceneFailure:
    """A scene that could not be assembled at all."""

    index: int
    stage: Stage
    reason: Notice


@dataclass(frozen=True)
class _Candidate:
    visual: Visual
    info: MediaInfo | None = None


class SceneWorker:
    """Builds the scenes of one job; every call is bounded by the engine's provider gates."""

    def __init__(
        self,
        *,
        job_id: str,
        script: Script,
        workdir: Path,
        render: RenderConfig,
        providers: Providers,
        step: ProviderStep,
        ffmpeg: FFmpeg,
        tracker: ProgressTracker,
        journal: Journal,
        voice: str | None = None,
    ) -> None:
        self._job_id = job_id
        self._script = script
        self._workdir = workdir
        self._render = render
        self._providers = providers
        self._step = step
        self._ffmpeg = ffmpeg
        self._tracker = tracker
        self._journal = journal
        self._voice = voice  # the person's choice; None: the provider's first

    async def build(self, spec: SceneSpec) -> SceneResult | SceneFailure:
        """Make one scene, from provider calls to its normalised file."""
        folder = self._workdir / f"scene_{spec.index:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        if (done := self._finished_scene(spec)) is not None:
            return done
        length: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        async with asyncio.TaskGroup() as group:
            sound_task = group.create_task(self._soundtrack(spec, folder, length))
            visuals_task = group.create_task(self._visuals(spec, folder, length))
        narration, soundtrack = sound_task.result()
        if soundtrack is None:
            self._tracker.advance(Stage.SCENES, fallback=True)
            return SceneFailure(
                spec.index, Stage.NARRATION, Notice(N_("the narration could not be encoded"))
            )
        return await self._assemble(spec, folder, visuals_task.result(), narration, soundtrack)

    async def _visuals(
        self, spec: SceneSpec, folder: Path, length: asyncio.Future[float]
    ) -> list[_Candidate]:
        render = self._render
        seed = self._script.seed + spec.index
        prompt = self._script.prompt_for(spec)
        images = self._providers.images
        try:
            image = (
                await self._step.make(
                    Part(PartKind.IMAGE, spec.index),
                    {"prompt": prompt, "seed": seed, "w": render.width, "h": render.height},
                    folder,
                    lambda ticket: images.generate_image(
                        prompt,
                        seed=seed,
                        width=render.width,
                        height=render.height,
                        out_dir=folder,
                        ticket=ticket,
                    ),
                    _check_image,
                )
            ).path
        except EngineError as exc:
            self._note(spec, Stage.IMAGES, exc)
            self._tracker.advance(Stage.IMAGES, fallback=True)
            self._tracker.advance(Stage.CLIPS, fallback=True)
            return [await self._title_card(spec, folder)]
        self._tracker.advance(Stage.IMAGES)
        still = _Candidate(Visual(VisualKind.IMAGE, image))
        clips = self._providers.clips
        hint = await self._clip_length(spec, length)
        try:
            clip = await self._step.make(
                Part(PartKind.CLIP, spec.index),
                {"image": image, "prompt": prompt, "seed": seed, "duration": hint},
                folder,
                lambda ticket: clips.generate_clip(
                    image, prompt, seed=seed, duration_s=hint, out_dir=folder, ticket=ticket
                ),
                lambda path: self._check_clip(path, hint),
            )
        except EngineError as exc:
            self._note(spec, Stage.CLIPS, exc)
            self._tracker.advance(Stage.CLIPS, fallback=True)
            return [still, await self._title_card(spec, folder)]
        self._tracker.advance(Stage.CLIPS)
        card = _Candidate(Visual(VisualKind.TITLE_CARD, folder / "title_card.png"))
        return [_Candidate(Visual(VisualKind.CLIP, clip.path), clip.value), still, card]

    async def _clip_length(self, spec: SceneSpec, length: asyncio.Future[float]) -> float:
        """The length to ask a clip for: the scene's own, if the generator can make it
        (waiting for the narration costs the offline path a fraction of a second and
        spares it any slowing or holding); else the text's speaking time, at once."""
        clips = self._providers.clips
        if isinstance(clips, ExactLengthClips) and clips.exact_length:
            return await length
        return speaking_time(spec.narration)

    async def _check_clip(self, path: Path, asked_s: float) -> MediaInfo:
        """The clip's streams, its length the one its frames add up to, if it is whole and
        not tiny.

        Counted from its packets: a truncated file's header still states the full length,
        and a scene fitted to that length would end when the frames do. Not decoded: the
        scene's encode decodes it anyway, and its frames are counted after (render_scene),
        while a second decode here cost a fifth of each scene's CPU at the end of the job
        (docs/performance.md, "The tail"). Models make clips of their own fixed lengths
        (scenes slow and hold them), so the length asked for is no bar beyond the shortest
        clip worth showing.
        """
        info = await probe(self._ffmpeg, path)
        if info.video is None or not info.duration_s:
            raise MediaError("the clip has no video stream")
        counted = (await count_video(self._ffmpeg, path, decode=False)).seconds
        if counted < _WHOLE * info.duration_s or counted < min(_SHORTEST_CLIP_S, asked_s):
            raise MediaError(
                f"the clip holds {counted:.2f} s of the {info.duration_s:.2f} s its header states"
            )
        return replace(info, duration_s=counted)

    async def _soundtrack(
        self, spec: SceneSpec, folder: Path, length: asyncio.Future[float]
    ) -> tuple[Narration, Soundtrack | None]:
        """Narrate, then encode the audio and draw the captions while the picture is made.

        ``length`` is told the scene's length as soon as the narration has one."""
        narration = await self._narrate(spec, folder)
        fps = self._render.fps
        length.set_result(frame_count(narration.duration_s, fps) / fps)
        try:
            return narration, await self._prepare(spec, folder, narration)
        except EngineError as exc:
            self._note(spec, Stage.NARRATION, exc)
        if not narration.spoken:
            return narration, None
        # The voice file passed its probe but ffmpeg could not encode it: try silence.
        silence = await self._silence(spec, folder)
        try:
            return silence, await self._prepare(spec, folder, silence)
        except EngineError as exc:
            self._note(spec, Stage.NARRATION, exc)
            return silence, None

    async def _prepare(self, spec: SceneSpec, folder: Path, narration: Narration) -> Soundtrack:
        return await prepare_soundtrack(
            self._ffmpeg,
            narration=narration,
            text=spec.narration,
            language=self._script.language,
            render=self._render,
            folder=folder,
        )

    async def _silence(self, spec: SceneSpec, folder: Path) -> Narration:
        duration = speaking_time(spec.narration)
        path = await asyncio.to_thread(write_silence, folder / "silence.wav", duration)
        return Narration(path, duration, spoken=False)

    async def _narrate(self, spec: SceneSpec, folder: Path) -> Narration:
        voice = self._providers.voice
        language = self._script.language
        # Emoji are shown, never read out by name.
        text = spoken_text(spec.narration)

        async def check(path: Path) -> float:
            return await self._check_narration(path, text)

        try:
            if not text:
                raise MediaError("the scene has nothing to say")
            made = await self._step.make(
                Part(PartKind.NARRATION, spec.index),
                {"text": text, "language": language.tag, "voice": self._voice},
                folder,
                lambda ticket: voice.narrate(
                    text, language=language, voice=self._voice, out_dir=folder, ticket=ticket
                ),
                check,
            )
        except EngineError as exc:
            self._note(spec, Stage.NARRATION, exc)
            self._tracker.advance(Stage.NARRATION, fallback=True)
            silence = await self._silence(spec, folder)
            return replace(silence, unreadable=isinstance(exc, VoiceUnavailableError))
        self._tracker.advance(Stage.NARRATION)
        return Narration(made.path, made.value)

    async def _check_narration(self, path: Path, text: str) -> float:
        """The narration's length, if it is audio of a plausible length for the text."""
        info = await probe(self._ffmpeg, path)
        if info.audio is None or not info.duration_s or info.duration_s < 0.2:
            raise MediaError("the narration has no audio")
        expected = speaking_time(text)
        if info.duration_s > min(_MAX_NARRATION_S, max(3.0, _SLOWEST * expected)):
            raise ProviderError(
                f"the narration lasts {info.duration_s:.0f} s where the text takes "
                f"{expected:.0f} s to say"
            )
        return info.duration_s

    async def _assemble(
        self,
        spec: SceneSpec,
        folder: Path,
        candidates: list[_Candidate],
        narration: Narration,
        soundtrack: Soundtrack,
    ) -> SceneResult | SceneFailure:
        notes: list[str] = []
        last_error: EngineError | None = None
        for candidate in candidates:
            if (
                candidate.visual.kind is VisualKind.TITLE_CARD
                and not candidate.visual.path.exists()
            ):
                candidate = await self._title_card(spec, folder)
            try:
                duration = await render_scene(
                    self._ffmpeg,
                    visual=candidate.visual,
                    visual_info=candidate.info,
                    soundtrack=soundtrack,
                    render=self._render,
                    seed=self._script.seed + spec.index,
                    out=folder / "scene.mp4",
                    fade_in=spec.index > 0,
                )
            except EngineError as exc:
                last_error = exc
                notes.append(f"{candidate.visual.kind.value} unusable")
                self._note(spec, Stage.SCENES, exc)
                continue
            self._tracker.advance(Stage.SCENES, fallback=candidate is not candidates[0])
            result = SceneResult(
                index=spec.index,
                path=folder / "scene.mp4",
                duration_s=duration,
                visual=candidate.visual.kind,
                spoken=narration.spoken,
                notes=tuple(notes),
                unreadable=narration.unreadable,
            )
            await self._journal.keep(
                Part(PartKind.SCENE, spec.index),
                result.path,
                duration_s=duration,
                visual=result.visual.value,
                spoken=result.spoken,
                unreadable=result.unreadable,
            )
            return result
        self._tracker.advance(Stage.SCENES, fallback=True)
        reason = describe_failure(last_error) if last_error else Notice(N_("nothing to assemble"))
        return SceneFailure(spec.index, Stage.SCENES, reason)

    def _finished_scene(self, spec: SceneSpec) -> SceneResult | None:
        """A scene assembled before a restart, counted as done in every stage."""
        stored = self._journal.file(Part(PartKind.SCENE, spec.index))
        if stored is None:
            return None
        for stage in (Stage.IMAGES, Stage.NARRATION, Stage.CLIPS, Stage.SCENES):
            self._tracker.advance(stage)
        meta = stored.meta
        return SceneResult(
            index=spec.index,
            path=stored.path,
            duration_s=float(str(meta["duration_s"])),
            visual=VisualKind(str(meta["visual"])),
            spoken=bool(meta["spoken"]),
            # Scenes journalled before languages were told apart were all readable.
            unreadable=bool(meta.get("unreadable", False)),
        )

    async def _title_card(self, spec: SceneSpec, folder: Path) -> _Candidate:
        render = self._render
        path = await draw_title_card(
            spec.narration,
            seed=self._script.seed + spec.index,
            width=render.width,
            height=render.height,
            language=self._script.language,
            out=folder / "title_card.png",
        )
        return _Candidate(Visual(VisualKind.TITLE_CARD, path))

    def _note(self, spec: SceneSpec, stage: Stage, exc: BaseException) -> None:
        log.warning("job %s scene %d: %s fell back: %s", self._job_id, spec.index, stage.value, exc)


async def _check_image(path: Path) -> None:
    await asyncio.to_thread(_verify_image, path)


def _verify_image(path: Path) -> None:
    """Raise MediaError unless the file is a picture of a sane size that Pillow can decode.

    The size is read from the header before Pillow (or later ffmpeg) decodes anything.
    """
    size = check_pixels(path, MAX_IMAGE_PIXELS)
    try:
        with Image.open(path) as image:
            if image.size != size:
                raise MediaError(f"{path.name} states two different sizes")
            image.verify()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaError(f"{path.name} is not a readable image") from exc
