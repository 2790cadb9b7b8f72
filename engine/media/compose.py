"""Builds scenes and the final video with ffmpeg: motion, fitting, captions, merge."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from engine.config import RenderConfig
from engine.errors import MediaError
from engine.media.captions import CaptionStyle, plan_cues, render_cue
from engine.media.ffmpeg import FFmpeg
from engine.media.loudness import level_speech
from engine.media.measure import count_video
from engine.media.probe import MediaInfo
from engine.models import Language, Narration, Visual

_MOTIONS = ("zoom_in", "pan_right", "zoom_out", "pan_left")
_MAX_STRETCH = 1.5  # slower than this looks like a fault; hold the last frame instead
_SLACK_FRAMES = 2  # a scene may end this many frames before its narration, no more
# A held last frame keeps moving at about the pace of the stills' Ken Burns (0.18 of a
# zoom over a five-second scene), so the scene never stops dead.
_HOLD_ZOOM_PER_S = 0.036
_HOLD_ZOOM_MAX = 0.18
# Scene boundaries (docs/decisions.md, "Motion that never jumps, ..."): the picture dips
# through black, the sound fades just long enough never to click.
VIDEO_FADE_S = 0.2
AUDIO_FADE_S = 0.15
# A clip below the render's frame rate keeps its own (docs/decisions.md, "A clip keeps its
# frame rate"), down to this: slower than it, held frames and fades would visibly step.
MIN_NATIVE_FPS = 12
# Every scene's track counts time in the same ticks, so the merge can copy them: 512 per
# frame at the render's rate, which also divides whole by the usual lower clip rates.
_TICKS_PER_FRAME = 512


def timescale(render: RenderConfig) -> int:
    """The video track timescale every scene of a render shares."""
    return render.fps * _TICKS_PER_FRAME


def scene_fps(info: MediaInfo | None, render: RenderConfig) -> int:
    """The frame rate a scene is encoded at: a clip's own when it is a whole rate lower
    than the render's that lands on whole ticks of the shared timescale, else the render's.

    A 16 fps clip (what Wan 2.2 makes) raised to 24 fps repeats every other frame, which
    judders, and encoding the repeats is half again the CPU at the end of the job.
    """
    video = info.video if info is not None else None
    if video is None or video.fps is None:
        return render.fps
    native = round(video.fps)
    if abs(video.fps - native) > 0.01 or not MIN_NATIVE_FPS <= native < render.fps:
        return render.fps
    return native if timescale(render) % native == 0 else render.fps


def frame_count(duration_s: float, fps: int) -> int:
    """Whole frames needed to cover a duration (never fewer than one)."""
    return max(1, math.ceil(duration_s * fps - 1e-6))


def ken_burns_filter(*, width: int, height: int, fps: int, frames: int, seed: int) -> str:
    """A slow eased zoom or pan over a still, chosen by seed so neighbouring scenes differ.

    The still is scaled to twice the output first: zoompan rounds its crop to whole input
    pixels, and a larger input makes that rounding invisible.
    """
    motion = _MOTIONS[seed % len(_MOTIONS)]
    ease = f"(3*pow(on/{max(frames - 1, 1)},2)-2*pow(on/{max(frames - 1, 1)},3))"
    centre_x, centre_y = "iw/2-iw/zoom/2", "ih/2-ih/zoom/2"
    zoom, x, y = {
        "zoom_in": (f"1+0.18*{ease}", centre_x, centre_y),
        "zoom_out": (f"1.18-0.18*{ease}", centre_x, centre_y),
        "pan_right": ("1.15", f"(iw-iw/zoom)*{ease}", centre_y),
        "pan_left": ("1.15", f"(iw-iw/zoom)*(1-{ease})", centre_y),
    }[motion]
    return (
        f"scale={2 * width}:{2 * height}:force_original_aspect_ratio=increase,"
        f"crop={2 * width}:{2 * height},"
        f"zoompan=z='{zoom}':x='{x}':y='{y}':d={frames}:s={width}x{height}:fps={fps},"
        "setsar=1"
    )


@dataclass(frozen=True)
class ClipFit:
    """How a clip is made to last a scene: slowed by ``stretch``, then its last frame held
    for ``hold_s`` while the camera keeps pushing in."""

    stretch: float = 1.0
    hold_s: float = 0.0


def clip_fit(clip_s: float, target_s: float) -> ClipFit:
    """How to make a clip of ``clip_s`` last ``target_s`` without ever jumping back.

    Looping would restart the motion mid-scene (a visible jump); playing it backwards
    makes people walk and water flow the wrong way, and ``reverse`` holds the whole
    clip in memory. So a clip is slowed as far as still looks natural, then held.
    """
    if clip_s <= 0 or clip_s >= target_s:
        return ClipFit()
    stretch = min(target_s / clip_s, _MAX_STRETCH)
    hold = target_s - clip_s * stretch
    return ClipFit(stretch, hold if hold > 1e-6 else 0.0)


def hold_filter(*, width: int, height: int, start_s: float, length_s: float) -> str:
    """An eased push-in that starts, at rest, on the frame shown at ``start_s``.

    It follows a ``tpad`` that clones the clip's last frame: before ``start_s`` the scale
    is the identity (ffmpeg passes such frames through untouched), so only held frames
    are resampled. The zoom starts at zero speed, so the move out of the clip is smooth.
    """
    amount = min(_HOLD_ZOOM_MAX, _HOLD_ZOOM_PER_S * length_s)
    progress = f"clip((t-{start_s:.4f})/{max(length_s, 1e-3):.4f},0,1)"
    zoom = f"(1+{amount:.4f}*(3*pow({progress},2)-2*pow({progress},3)))"
    # Even sizes: the crop then stays centred on whole pixels as the zoom grows.
    return (
        f"scale=w='2*ceil({width}*{zoom}/2)':h='2*ceil({height}*{zoom}/2)':eval=frame,"
        f"crop={width}:{height}"
    )


def fit_clip_filter(
    info: MediaInfo, *, fit: ClipFit, covered_s: float, duration_s: float, render: RenderConfig
) -> str:
    """Filters that bring a clip to the scene's size, rate and length, and no others.

    Each filter costs CPU on every frame, and at the end of a job every scene is encoded
    at once, so a filter the clip does not need is paid for directly in delivery time.
    """
    w, h, fps = render.width, render.height, render.fps
    video = info.video
    stretch = fit.stretch
    steps = []
    if stretch != 1.0:
        steps.append(f"setpts=(PTS-STARTPTS)*{stretch:.6f}")
    if video is None or video.fps is None or abs(video.fps - fps) > 0.01 or stretch != 1.0:
        steps.append(f"fps={fps}")
    if video is None or (video.width, video.height) != (w, h):
        steps.append(f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}")
    steps.append("setsar=1")
    if fit.hold_s > 0:
        steps.append(f"tpad=stop_mode=clone:stop_duration={fit.hold_s + 0.25:.3f}")
        steps.append(hold_filter(width=w, height=h, start_s=covered_s, length_s=fit.hold_s))
        steps.append("setsar=1")
    elif covered_s < duration_s + 0.05:
        # Headers can overstate a clip's length by a frame or two; hold the last frame
        # rather than end the scene early.
        steps.append(f"tpad=stop_mode=clone:stop_duration={duration_s - covered_s + 0.25:.3f}")
    return ",".join(steps)


def fade_filter(duration_s: float, *, fade_in: bool) -> str:
    """A dip through black at the scene's ends, inside its own encode (the merge copies).

    The first scene does not fade in: chat apps show a video's first frame as its
    thumbnail, and it should be the picture, not black.
    """
    fade = min(VIDEO_FADE_S, duration_s / 4)
    out = f"fade=t=out:st={duration_s - fade:.4f}:d={fade:.4f}"
    return f"fade=t=in:st=0:d={fade:.4f},{out}" if fade_in else out


def audio_fade_filter(duration_s: float) -> str:
    """Fades at the scene's ends, so no cut between scenes clicks."""
    fade = min(AUDIO_FADE_S, duration_s / 4)
    return f"afade=t=in:st=0:d={fade:.4f},afade=t=out:st={duration_s - fade:.4f}:d={fade:.4f}"


async def render_motion(
    ffmpeg: FFmpeg,
    image: Path,
    *,
    width: int,
    height: int,
    fps: int,
    duration_s: float,
    seed: int,
    out: Path,
    preset: str = "ultrafast",
    crf: int = 18,
) -> Path:
    """A silent clip of Ken Burns motion over a still."""
    frames = frame_count(duration_s, fps)
    graph = ken_burns_filter(width=width, height=height, fps=fps, frames=frames, seed=seed)
    await ffmpeg.run(
        ["-i", str(image), "-vf", f"{graph},format=yuv420p", "-frames:v", str(frames)]
        + _h264(preset, crf, "", fps=fps, ticks=fps * _TICKS_PER_FRAME)
        + ["-an", str(out)]
    )
    return out


@dataclass(frozen=True)
class Soundtrack:
    """What a scene needs besides its picture, made as soon as the narration exists."""

    audio: Path
    duration_s: float
    captions: tuple[tuple[Path, float, float], ...]


async def prepare_soundtrack(
    ffmpeg: FFmpeg,
    *,
    narration: Narration,
    text: str,
    language: Language,
    render: RenderConfig,
    folder: Path,
) -> Soundtrack:
    """Encode the scene's audio to its exact length and level, and draw its captions.

    ``language`` is the story's: it picks the line-breaking rules, the regional glyphs of
    Chinese, Japanese and Korean, and the shaping of the captions.

    This runs while the scene's clip is still being generated, so that when the clip
    arrives only the picture is left to encode.
    """
    frames = frame_count(narration.duration_s, render.fps)
    duration = frames / render.fps
    audio = folder / "audio.m4a"
    resample = f"aresample={render.audio_rate}"
    level: list[str] = []
    if narration.spoken:  # silence (the voice failed) is left as it is: nothing to level
        level = await level_speech(ffmpeg, narration.path, before=[resample])
    chain = [resample, *level, "apad", audio_fade_filter(duration)]
    await ffmpeg.run(
        ["-i", str(narration.path), "-af", ",".join(chain)]
        + ["-t", f"{duration:.6f}", "-c:a", "aac", "-b:a", render.audio_bitrate]
        + ["-ac", "2", "-ar", str(render.audio_rate), "-vn", str(audio)]
    )
    if not render.captions:
        return Soundtrack(audio, duration, ())
    style = CaptionStyle(render.width, render.height, language, render.caption_font)
    captions = await asyncio.to_thread(_write_cues, text, duration, style, folder)
    return Soundtrack(audio, duration, tuple(captions))


async def render_scene(
    ffmpeg: FFmpeg,
    *,
    visual: Visual,
    visual_info: MediaInfo | None,
    soundtrack: Soundtrack,
    render: RenderConfig,
    seed: int,
    out: Path,
    fade_in: bool = True,
) -> float:
    """Encode one finished scene (picture, soundtrack, captions) and return its duration.

    Every scene gets the same size, timescale, pixel format, encoder settings and audio
    layout, so the merge can join them without re-encoding; a clip's scene may keep the
    clip's lower frame rate (``scene_fps``). The scene lasts as long as its narration,
    rounded up to a whole frame; its frames are counted afterwards, and a scene whose
    picture ended early (a clip shorter than it said) is a MediaError, not a short scene.
    ``fade_in`` is false for the video's first scene (see ``fade_filter``).
    """
    w, h = render.width, render.height
    duration = soundtrack.duration_s
    inputs: list[str] = []
    if visual.is_still or visual_info is None:
        fps = render.fps
        frames = frame_count(duration, fps)
        inputs += ["-i", str(visual.path)]
        picture = ken_burns_filter(width=w, height=h, fps=fps, frames=frames, seed=seed)
    else:
        fps = scene_fps(visual_info, render)
        frames = frame_count(duration, fps)
        clip_s = visual_info.duration_s or duration
        fit = clip_fit(clip_s, duration)
        inputs += ["-i", str(visual.path)]
        picture = fit_clip_filter(
            visual_info,
            fit=fit,
            covered_s=clip_s * fit.stretch,
            duration_s=duration,
            render=replace(render, fps=fps),
        )
    inputs += ["-i", str(soundtrack.audio)]
    for cue_path, _, _ in soundtrack.captions:
        inputs += ["-i", str(cue_path)]

    chains = [f"[0:v]{picture}[v0]"]
    style = CaptionStyle(w, h)
    margin = style.bottom
    for n, (_, start, end) in enumerate(soundtrack.captions):
        chains.append(
            f"[v{n}][{n + 2}:v]overlay=x=(W-w)/2:y=H-h-{margin}:"
            f"enable='between(t,{start:.3f},{end:.3f})'[v{n + 1}]"
        )
    fades = fade_filter(duration, fade_in=fade_in)
    chains.append(f"[v{len(soundtrack.captions)}]{fades},format=yuv420p[vout]")
    await ffmpeg.run(
        [*inputs, "-filter_complex", ";".join(chains), "-map", "[vout]", "-map", "1:a"]
        + ["-frames:v", str(frames)]
        + _h264(render.preset, render.crf, render.x264_params, fps=fps, ticks=timescale(render))
        + ["-c:a", "copy", "-t", f"{duration:.6f}", "-movflags", "+faststart", str(out)]
    )
    made = await count_video(ffmpeg, out, decode=False)
    if made.frames < frames - _SLACK_FRAMES:
        raise MediaError(
            f"the scene's picture lasts {made.frames / fps:.2f} s of its narration's "
            f"{duration:.2f} s"
        )
    return duration


async def concat(ffmpeg: FFmpeg, parts: Sequence[Path], out: Path) -> Path:
    """Join scenes with the concat demuxer and stream copy: no re-encode, so it is quick."""
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{_quote(p)}'\n" for p in parts), encoding="utf-8")
    await ffmpeg.run(
        ["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy"]
        + ["-movflags", "+faststart", str(out)]
    )
    return out


def _write_cues(
    text: str, duration_s: float, style: CaptionStyle, folder: Path
) -> list[tuple[Path, float, float]]:
    written = []
    for n, cue in enumerate(plan_cues(text, duration_s, style)):
        path = folder / f"cue_{n:02d}.png"
        # Fastest zlib level: the picture is read once, by the scene's encode, moments later.
        render_cue(cue, style).save(path, compress_level=1)
        written.append((path, cue.start_s, cue.end_s))
    return written


def _h264(preset: str, crf: int, params: str, *, fps: int, ticks: int) -> list[str]:
    tuned = ["-x264-params", params] if params else []
    return [
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), *tuned,
        "-pix_fmt", "yuv420p", "-r", str(fps), "-video_track_timescale", str(ticks),
    ]  # fmt: skip


def _quote(path: Path) -> str:
    return str(path.resolve()).replace("'", "'\\''")
