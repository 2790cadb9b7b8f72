"""Shrinks a finished video to fit a platform's upload limit, in one re-encode."""

from __future__ import annotations

from pathlib import Path

from engine.errors import MediaError
from engine.media.ffmpeg import FFmpeg
from engine.media.probe import probe

_AUDIO_KBPS = 64
_SMALL_BELOW_KBPS = 1200  # below this a 720p picture smears; 480p looks better
_HEADROOM = 0.92  # the container and rate control overshoot a little


async def fit_to_size(ffmpeg: FFmpeg, video: Path, max_bytes: int) -> tuple[Path, bool]:
    """The video itself if it fits, else a re-encoded copy under ``max_bytes``.

    Returns the file and whether it had to be shrunk.
    """
    if video.stat().st_size <= max_bytes:
        return video, False
    info = await probe(ffmpeg, video)
    if not info.duration_s or info.video is None:
        raise MediaError("the final video cannot be measured")
    total_kbps = max_bytes * 8 * _HEADROOM / info.duration_s / 1000
    video_kbps = int(total_kbps - _AUDIO_KBPS)
    if video_kbps < 48:
        raise MediaError("the video is too long to fit the upload limit")
    scale = ["-vf", "scale=-2:480"] if video_kbps < _SMALL_BELOW_KBPS else []
    out = video.with_name(f"{video.stem}.fit.mp4")
    await ffmpeg.run(
        ["-i", str(video), *scale, "-c:v", "libx264", "-preset", "veryfast"]
        + ["-b:v", f"{video_kbps}k", "-maxrate", f"{video_kbps}k"]
        + ["-bufsize", f"{video_kbps * 2}k", "-pix_fmt", "yuv420p"]
        + ["-c:a", "aac", "-b:a", f"{_AUDIO_KBPS}k", "-movflags", "+faststart", str(out)]
    )
    if out.stat().st_size > max_bytes:
        raise MediaError("the video could not be made small enough to upload")
    return out, True
