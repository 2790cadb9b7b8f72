"""What a final looks and sounds like: motion that never jumps, loudness at the target.

Real jobs through the engine with real ffmpeg on tiny media; frames are compared by their
mean absolute difference (a loop or a snap back shows as one spike among small steps).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from engine import Books, Engine, EngineConfig, Providers
from engine.errors import VoiceUnavailableError
from engine.media.compose import VIDEO_FADE_S, frame_count
from engine.media.ffmpeg import FFmpeg
from engine.media.loudness import TARGET_LUFS, TRUE_PEAK_DBTP, measure_loudness
from engine.media.measure import count_video
from engine.media.probe import probe
from engine.models import DreamResult, Language, VisualKind
from engine.ports import RequestTicket
from engine.providers.local.visuals import LocalClipGenerator
from engine.speech import speaking_time
from tests.fakes.providers import FakeMedia, FakeProviders, Fault
from tests.surfaces import RecordingSurface

STORY = "A keeper and a storm."
_SIDE = (48, 12)  # frames compared at this size: enough to see motion, quick to decode
# A step this many times the scene's median step is a jump, not motion: a loop measures
# about 7 times the steps around it here; eased motion, slow-down and a hold stay under 2.
_SPIKE = 3.0


async def test_offline_motion_spans_a_narration_longer_than_its_guess(
    books: Books, config: EngineConfig, ffmpeg: FFmpeg, tmp_path: Path
) -> None:
    media = await FakeMedia.make(ffmpeg, tmp_path / "media", width=160, height=90)
    _texture(media.image)
    fake = FakeProviders(media, scenes=1)
    narration_s = 5.0
    await _tone(ffmpeg, media.narration, seconds=narration_s, amplitude=0.3)
    render = config.render
    local = LocalClipGenerator(ffmpeg, width=render.width, height=render.height, fps=render.fps)
    result = await _run(books, config, ffmpeg, fake, clips=local)

    assert speaking_time(fake.narrated[0][0]) < narration_s / 1.5  # past the old loop point
    assert result.scenes[0].visual is VisualKind.CLIP
    (clip,) = config.work_dir.glob("*/scene_00/clip.mp4")
    assert (await probe(ffmpeg, clip)).duration_s == pytest.approx(result.duration_s, abs=0.05)
    steps = await _steps(ffmpeg, result.final)
    _assert_no_jump(_inside(steps, result, render.fps))


async def test_a_provider_clip_shorter_than_its_narration_never_jumps(
    books: Books, config: EngineConfig, ffmpeg: FFmpeg, tmp_path: Path
) -> None:
    media = await FakeMedia.make(ffmpeg, tmp_path / "media", width=160, height=90)
    await _pan(ffmpeg, media.clip, seconds=1.2)
    await _tone(ffmpeg, media.narration, seconds=4.0, amplitude=0.3)  # over three clips
    fake = FakeProviders(media, scenes=2)
    result = await _run(books, config, ffmpeg, fake)

    assert [s.visual for s in result.scenes] == [VisualKind.CLIP] * 2
    steps = await _steps(ffmpeg, result.final)
    inside = _inside(steps, result, config.render.fps)
    _assert_no_jump(inside)
    # and the picture never stops dead: the held frame keeps moving
    assert all(min(scene[-10:]) > 0 for scene in inside)


async def test_a_16_fps_clip_keeps_its_rate_beside_a_still_and_the_final_plays_through(
    books: Books, config: EngineConfig, ffmpeg: FFmpeg, tmp_path: Path
) -> None:
    media = await FakeMedia.make(ffmpeg, tmp_path / "media", width=160, height=90,
                                 clip_s=81 / 16, clip_fps=16, narration_s=2.3)  # fmt: skip
    fake = FakeProviders(media, scenes=3, faults={"clips": {1: Fault.ERROR}})
    at_24 = replace(config, render=replace(config.render, fps=24))
    result = await _run(books, at_24, ffmpeg, fake)

    kinds = [VisualKind.CLIP, VisualKind.IMAGE, VisualKind.CLIP]
    assert [s.visual for s in result.scenes] == kinds
    rates = [16, 24, 16]  # the clips' own rate; the still's motion at the render's
    for scene, rate in zip(result.scenes, rates, strict=True):
        video = (await probe(ffmpeg, scene.path)).video
        assert video is not None and video.fps == rate
    # Stream-copied into one file that decodes cleanly, every frame of every scene in it,
    # and as long as its narration.
    await ffmpeg.run(["-xerror", "-i", str(result.final), "-f", "null", "-"])
    decoded = await count_video(ffmpeg, result.final, decode=True)
    expected = sum(
        frame_count(s.duration_s, rate) for s, rate in zip(result.scenes, rates, strict=True)
    )
    assert decoded.frames == expected
    final = await probe(ffmpeg, result.final)
    assert final.duration_s == pytest.approx(result.duration_s, abs=1 / 16)
    assert decoded.seconds == pytest.approx(result.duration_s, abs=1 / 16)


async def test_the_final_is_at_the_target_loudness_and_under_the_peak_ceiling(
    books: Books, config: EngineConfig, ffmpeg: FFmpeg, tmp_path: Path
) -> None:
    media = await FakeMedia.make(ffmpeg, tmp_path / "media", width=160, height=90)
    # A whisper, a shout with peaks well above its loudness (as speech has), and a
    # scene whose voice fails: silence, which must stay silent.
    voice = LevelledVoice(ffmpeg, amplitudes={0: 0.1, 1: 0.95, 2: None})
    fake = FakeProviders(media, scenes=3)
    result = await _run(books, config, ffmpeg, fake, voice=voice)

    assert [s.spoken for s in result.scenes] == [True, True, False]
    final = await measure_loudness(ffmpeg, result.final)
    assert final.integrated_lufs == pytest.approx(TARGET_LUFS, abs=1.0)
    assert final.true_peak_dbtp <= TRUE_PEAK_DBTP
    for scene in result.scenes[:2]:
        assert (await measure_loudness(ffmpeg, scene.path)).integrated_lufs == pytest.approx(
            TARGET_LUFS, abs=1.0
        )
    silent = await measure_loudness(ffmpeg, result.scenes[2].path)
    assert silent.integrated_lufs == -math.inf and silent.true_peak_dbtp == -math.inf


@dataclass
class LevelledVoice:
    """Bursts of tone at a level per scene; ``None`` is a voice that cannot speak."""

    ffmpeg: FFmpeg
    amplitudes: dict[int, float | None]
    identity: str = "levelled/1"
    choices: tuple[str, ...] = ("tone",)

    async def narrate(
        self,
        text: str,
        *,
        language: Language,
        voice: str | None = None,
        out_dir: Path,
        ticket: RequestTicket | None = None,
    ) -> Path:
        amplitude = self.amplitudes[int(text.split()[1].rstrip(":"))]
        if amplitude is None:
            raise VoiceUnavailableError("no voice for this")
        return await _tone(ffmpeg=self.ffmpeg, out=out_dir / "narration.wav", seconds=2.5,
                           amplitude=amplitude, bursts=True)  # fmt: skip


async def _run(
    books: Books,
    config: EngineConfig,
    ffmpeg: FFmpeg,
    fake: FakeProviders,
    *,
    clips: object = None,
    voice: object = None,
) -> DreamResult:
    providers = Providers(
        script=fake,
        preview=fake,
        images=fake,
        clips=clips or fake,  # type: ignore[arg-type]
        voice=voice or fake,  # type: ignore[arg-type]
    )
    engine = Engine(config, providers, ffmpeg, books=books)
    return await engine.dream(await engine.admit(STORY, requester="test:1"), RecordingSurface())


async def _tone(
    ffmpeg: FFmpeg, out: Path, *, seconds: float, amplitude: float, bursts: bool = False
) -> Path:
    # With bursts, a quiet tone with 5 ms bursts at full level twice a second: its peaks
    # are 19 dB above its loudness, as plosives in speech are (more than the 14.5 dB the
    # target and the ceiling leave).
    envelope = "*(0.15+0.85*lt(mod(t,0.5),0.005))" if bursts else ""
    expression = f"{amplitude}*sin(2*PI*330*t){envelope}"
    await ffmpeg.run(
        ["-f", "lavfi", "-i", f"aevalsrc='{expression}':s=22050:d={seconds}", str(out)]
    )
    return out


async def _pan(ffmpeg: FFmpeg, out: Path, *, seconds: float) -> None:
    """A provider's clip: a steady pan across a picture, so a restart would show."""
    picture = out.with_name("pan.png")
    _texture(picture)
    await ffmpeg.run(
        ["-loop", "1", "-framerate", "24", "-i", str(picture), "-t", f"{seconds}"]
        + ["-vf", "crop=160:90:x='t*20':y=45", "-pix_fmt", "yuv420p"]
        + ["-c:v", "libx264", "-preset", "ultrafast", str(out)]
    )


def _texture(path: Path) -> None:
    """A picture with soft detail everywhere, so that any motion over it shows in the frames
    (sharp, fine stripes would alias at the size frames are compared)."""
    image = Image.new("RGB", (320, 180), (30, 60, 90))
    draw = ImageDraw.Draw(image)
    for n in range(12):
        x, y = (n * 53) % 320, (n * 37) % 180
        draw.ellipse((x - 30, y - 20, x + 30, y + 20), fill=(200, 40 + 15 * n, 240 - 18 * n))
    image.filter(ImageFilter.GaussianBlur(6)).save(path)


async def _steps(ffmpeg: FFmpeg, video: Path) -> list[float]:
    """Mean absolute difference between each decoded frame and the next, in grey.

    Only the frame's top is compared: captions change below it, as they should."""
    width, height = _SIDE
    raw = video.with_suffix(".gray")
    await ffmpeg.run(
        ["-i", str(video), "-vf", f"crop=iw:ih*0.4:0:0,scale={width}:{height},format=gray"]
        + ["-f", "rawvideo", str(raw)]
    )
    data, size = raw.read_bytes(), width * height
    frames = [Image.frombytes("L", _SIDE, data[i : i + size]) for i in range(0, len(data), size)]
    # Two frames apart: zoompan moves a still by whole pixels, one step every other
    # frame or so at this tiny size, and that alternation is not what is looked for.
    return [
        ImageStat.Stat(ImageChops.difference(a, b)).mean[0]
        for a, b in zip(frames, frames[2:], strict=False)
    ]


def _inside(steps: list[float], result: DreamResult, fps: int) -> list[list[float]]:
    """Each scene's steps, away from the fades at its ends."""
    edge = math.ceil(VIDEO_FADE_S * fps) + 2
    scenes, start = [], 0
    for scene in result.scenes:
        frames = round(scene.duration_s * fps)
        scenes.append(steps[start + edge : start + frames - edge])
        start += frames
    return scenes


def _assert_no_jump(scenes: list[list[float]]) -> None:
    for steps in scenes:
        assert len(steps) > 10
        usual = statistics.quantiles(steps, n=4)[2]
        assert usual > 0, "the picture does not move"
        assert max(steps) <= _SPIKE * usual, (max(steps), usual)
