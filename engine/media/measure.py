"""How long a video stream really lasts, counted from its packets or frames, not its header.

A header states a length; a truncated file holds fewer frames than that. Counting the
packets (stream copy) is quick and enough for a file ffmpeg just wrote; a provider's
clip is decoded whole, so frames that cannot be decoded are not counted either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.errors import MediaError
from engine.media.ffmpeg import FFmpeg

_OUT_TIME = re.compile(r"^out_time_us=(\d+)$", re.MULTILINE)
_FRAMES = re.compile(r"^frame=(\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class VideoCount:
    """What a video stream holds: its frames, and the time its last frame ends (decoded)
    or starts (packets counted: a stream copy does not add the last frame's length)."""

    frames: int
    seconds: float


async def count_video(ffmpeg: FFmpeg, path: Path, *, decode: bool) -> VideoCount:
    """The first video stream of ``path``, decoded in full or its packets counted."""
    copy = [] if decode else ["-c", "copy"]
    report = await ffmpeg.report(
        ["-i", str(path), "-map", "0:v:0", *copy, "-f", "null", "-progress", "pipe:1", "-"],
        decodes=decode,
    )
    frames, out_time = _FRAMES.findall(report), _OUT_TIME.findall(report)
    if not frames or not out_time or int(frames[-1]) == 0:
        raise MediaError(f"{path.name} has no video frames")
    return VideoCount(int(frames[-1]), int(out_time[-1]) / 1e6)
