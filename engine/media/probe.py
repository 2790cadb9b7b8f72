"""Reads a media file's streams and duration without ffprobe (imageio-ffmpeg ships none)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.errors import MediaError
from engine.media.ffmpeg import FFmpeg

_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\d+:\d+.*?: Video: (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})")
_FPS = re.compile(r"Stream #\d+:\d+.*?: Video: [^\n]*?, ([\d.]+) fps")
_AUDIO = re.compile(r"Stream #\d+:\d+.*?: Audio: (\w+)[^\n]*?, (\d+) Hz, ([^,\n]+)")


@dataclass(frozen=True)
class VideoStream:
    """The first video stream of a file."""

    codec: str
    width: int
    height: int
    fps: float | None


@dataclass(frozen=True)
class AudioStream:
    """The first audio stream of a file."""

    codec: str
    sample_rate: int
    channels: str


@dataclass(frozen=True)
class MediaInfo:
    """What a file contains, as far as its headers say."""

    duration_s: float | None
    video: VideoStream | None
    audio: AudioStream | None


def parse_description(text: str) -> MediaInfo:
    """Turn ffmpeg's ``-i`` description into MediaInfo (raises MediaError if it has none)."""
    if "Input #0" not in text:
        raise MediaError("not a media file ffmpeg can read")
    duration = None
    if match := _DURATION.search(text):
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    video = None
    if match := _VIDEO.search(text):
        fps_match = _FPS.search(text)
        video = VideoStream(
            codec=match.group(1),
            width=int(match.group(2)),
            height=int(match.group(3)),
            fps=float(fps_match.group(1)) if fps_match else None,
        )
    audio = None
    if match := _AUDIO.search(text):
        audio = AudioStream(match.group(1), int(match.group(2)), match.group(3).strip())
    return MediaInfo(duration, video, audio)


async def probe(ffmpeg: FFmpeg, path: Path) -> MediaInfo:
    """Describe a file, raising MediaError if it is missing or not media."""
    if not path.is_file() or path.stat().st_size == 0:
        raise MediaError(f"{path.name} is missing or empty")
    return parse_description(await ffmpeg.describe(path))
