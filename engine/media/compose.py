"""Builds scenes and the final video with ffmpeg: motion, fitting, captions, merge."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.config import RenderConfig
from engine.errors import MediaError
from engine.media.captions import CaptionStyle, plan_cues, render_cue
from engine.media.ffmpeg import FFmpeg
from engine.media.measure import count_video
from engine.media.probe import MediaInfo
from engine.models import Language, Narration, Visual

_MOTIONS = ("zoom_in", "pan_right", "zoom_out", "pan_left")
_MAX_STRETCH = 1.5  # slower than this looks like a fault; loop the clip instead
_SLACK_FRAMES = 2  # a scene may end this many frames before its narration, no more


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


def clip_fit(clip_s: float, target_s: float) -> tuple[int, float]:
    """How to make a clip last ``target_s``: (extra loops, slow-down factor)."""
    if clip_s <= 0 or clip_s >= target_s:
        return 0, 1.0
    stretch = target_s / clip_s
    if stretch <= _MAX_STRETCH:
        return 0, stretch
    return math.ceil(target_s / clip_s) - 1, 1.0


def fit_clip_filter(
    info: MediaInfo, *, stretch: float, covered_s: float, duration_s: float, render: RenderConfig
) -> str:
    """Filters that bring a clip to the scene's size, rate and length, and no others.

    Each filter costs CPU on every frame, and at the end of a job every scene is encoded
    at once, so a filter the clip does not need is paid for directly in delivery time.
    """
    w, h, fps = render.width, render.height, render.fps
    video = info.video
    steps = []
    if stretch != 1.0:
        steps.append(f"setpts=(PTS-STARTPTS)*{stretch:.6f}")
    if video is None or video.fps is None or abs(video.fps - fps) > 0.01 or stretch != 1.0:
        steps.append(f"fps={fps}")
    if video is None or (video.width, video.height) != (w, h):
        steps.append(f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}")
    steps.append("setsar=1")
    if covered_s < duration_s + 0.05:
        # Headers can overstate a clip's length by a frame or two; hold the last frame
        # rather than end the scene early.
        steps.append(f"tpad=stop_mode=clone:stop_duration={duration_s - covered_s + 0.25:.3f}")
    return ",".join(steps)


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
        + _h264(preset, crf, fps)
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
    """Encode the scene's audio to its exact length and draw its caption pictures.

    ``language`` is the story's: it picks the line-breaking rules, the regional glyphs of
    Chinese, Japanese and Korean, and the shaping of the captions.

    This runs while the scene's clip is still being generated, so that when the clip
    arrives only the picture is left to encode.
    """
    frames = frame_count(narration.duration_s, render.fps)
    duration = frames / render.fps
    audio = folder / "audio.m4a"
    await ffmpeg.run(
        ["-i", str(narration.path), "-af", f"aresample={render.audio_rate},apad"]
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
) -> float:
    """Encode one finished scene (picture, soundtrack, captions) and return its duration.

    Every scene gets the same size, frame rate, pixel format and audio layout, so the merge
    can join them without re-encoding. The scene lasts exactly as long as its narration,
    rounded up to a whole frame; its frames are counted afterwards, and a scene whose
    picture ended early (a clip shorter than it said) is a MediaError, not a short scene.
    """
    w, h, fps = render.width, render.height, render.fps
    duration = soundtrack.duration_s
    frames = frame_count(duration, fps)
    inputs: list[str] = []
    if visual.is_still or visual_info is None:
        inputs += ["-i", str(visual.path)]
        picture = ken_burns_filter(width=w, height=h, fps=fps, frames=frames, seed=seed)
    else:
        clip_s = visual_info.duration_s or duration
        loops, stretch = clip_fit(clip_s, duration)
        if loops:
            inputs += ["-stream_loop", str(loops)]
        inputs += ["-i", str(visual.path)]
        picture = fit_clip_filter(
            visual_info,
            stretch=stretch,
            covered_s=clip_s * (loops + 1) * stretch,
            duration_s=duration,
            render=render,
        )
    inputs += ["-i", str(soundtrack.audio)]
    for cue_path, _, _ in soundtrack.captions:
        inputs += ["-i", str(cue_path)]

    chains = [f"[0:v]{picture}[v0]"]
    margin = h // 14
    for n, (_, start, end) in enumerate(soundtrack.captions):
        chains.append(
            f"[v{n}][{n + 2}:v]overlay=x=(W-w)/2:y=H-h-{margin}:"
            f"enable='between(t,{start:.3f},{end:.3f})'[v{n + 1}]"
        )
    chains.append(f"[v{len(soundtrack.captions)}]format=yuv420p[vout]")
    await ffmpeg.run(
        [*inputs, "-filter_complex", ";".join(chains), "-map", "[vout]", "-map", "1:a"]
        + ["-frames:v", str(frames)]
        + _h264(render.preset, render.crf, fps)
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


def _h264(preset: str, crf: int, fps: int) -> list[str]:
    return [
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf),
        "-pix_fmt", "yuv420p", "-r", str(fps), "-video_track_timescale", str(fps * 512),
    ]  # fmt: skip


def _quote(path: Path) -> str:
    return str(path.resolve()).replace("'", "'\\''")
