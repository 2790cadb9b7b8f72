"""Loudness of a narration (EBU R 128), and the filters that bring it to the delivery level.

Each scene's audio is levelled on its own, while its clip is still being generated, so
the merged final reaches the target without a pass over the whole video: the integrated
loudness of scenes that each measure the target is the target (silence is gated out).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import MediaError
from engine.media.ffmpeg import FFmpeg

TARGET_LUFS = -16.0  # what phones and chat apps play speech at (Apple, Spotify, podcasts)
TRUE_PEAK_DBTP = -1.5  # the delivery ceiling; AAC may overshoot a little, hence the limit
# The limiter holds sample peaks here; inter-sample peaks and the AAC encoder add up to
# about half a decibel above it, which still leaves the ceiling clear.
_LIMIT_DBFS = -2.5
# A narration this much quieter than the target is noise or a fault, not speech to boost.
_MAX_GAIN_DB = 30.0
_MAX_MAKEUP_DB = 3.0  # a limiter that took more than this is not levelling speech
_SILENT_LUFS = -70.0  # R 128's absolute gate: nothing above it, nothing to measure

_LOUDNESS = re.compile(r"^lavfi\.r128\.I=(-?[\d.]+|-?inf|nan)$", re.MULTILINE)
_PEAK = re.compile(r"^lavfi\.r128\.true_peak=(-?[\d.]+|inf|nan)$", re.MULTILINE)


@dataclass(frozen=True)
class Loudness:
    """Integrated loudness (LUFS) and true peak (dBTP) of a file's audio."""

    integrated_lufs: float
    true_peak_dbtp: float


async def measure_loudness(ffmpeg: FFmpeg, path: Path, *, filters: Sequence[str] = ()) -> Loudness:
    """The file's integrated loudness and true peak, from ffmpeg's ``ebur128`` filter,
    after ``filters`` if any."""
    measure = "ebur128=peak=true:metadata=1,ametadata=mode=print:file=-"
    report = await ffmpeg.report(
        ["-i", str(path), "-map", "0:a:0", "-af", ",".join([*filters, measure])]
        + ["-f", "null", "-"]
    )
    return parse_loudness(report)


async def level_speech(ffmpeg: FFmpeg, path: Path, *, before: Sequence[str]) -> list[str]:
    """The filters that bring the speech in ``path`` to the target (after ``before``).

    Measured once; when peaks must be limited, measured again through the limiter,
    which takes some loudness with them, and that is made up (an audio pass of a few
    seconds, made while the scene's clip is still being generated).
    """
    measured = await measure_loudness(ffmpeg, path, filters=before)
    steps = levelling_filters(measured)
    if len(steps) < 2:  # one gain and no limiter: exact as it is
        return steps
    limited = await measure_loudness(ffmpeg, path, filters=[*before, *steps])
    if not math.isfinite(limited.integrated_lufs):
        return steps
    makeup = max(-_MAX_MAKEUP_DB, min(_MAX_MAKEUP_DB, TARGET_LUFS - limited.integrated_lufs))
    return levelling_filters(measured, makeup_db=makeup)


def parse_loudness(report: str) -> Loudness:
    """The last (whole-file) values of ``ebur128``'s per-frame metadata."""
    loudness, peaks = _LOUDNESS.findall(report), _PEAK.findall(report)
    if not loudness or not peaks:
        raise MediaError("the audio could not be measured")
    integrated = float(loudness[-1])
    peak = float(peaks[-1])
    if math.isnan(integrated) or integrated <= _SILENT_LUFS:
        integrated = -math.inf
    peak_db = 20 * math.log10(peak) if peak > 0 else -math.inf
    return Loudness(integrated, peak_db)


def levelling_filters(measured: Loudness, *, makeup_db: float = 0.0) -> list[str]:
    """Filters that bring speech measured at ``measured`` to the target, peaks limited.

    One gain for the whole narration (its dynamics are the voice's), then a look-ahead
    limiter for the few peaks the gain would push past the ceiling: espeak-ng's speech peaks
    about 17 dB above its loudness, more than the 14.5 dB the target and ceiling leave.
    ``makeup_db`` is what the limiter took, measured (``level_speech``).
    Silence gets nothing: there is nothing to level, and noise must not be raised.
    """
    if not math.isfinite(measured.integrated_lufs):
        return []
    gain = min(_MAX_GAIN_DB, TARGET_LUFS - measured.integrated_lufs + makeup_db)
    steps = [f"volume={gain:.2f}dB"]
    if measured.true_peak_dbtp + gain > _LIMIT_DBFS or makeup_db:
        limit = 10 ** (_LIMIT_DBFS / 20)
        steps.append(f"alimiter=limit={limit:.4f}:attack=5:release=50:level=false:latency=true")
    return steps
