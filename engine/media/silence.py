"""Silence of speaking length: the narration a scene falls back to, and the offline voice's
stand-in when espeak-ng is not installed."""

from __future__ import annotations

import wave
from pathlib import Path

_SILENCE_RATE = 16000


def write_silence(path: Path, duration_s: float) -> Path:
    """A mono 16-bit WAV of silence; made with the standard library, so it cannot fail on codecs."""
    frames = round(duration_s * _SILENCE_RATE)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(_SILENCE_RATE)
        out.writeframes(b"\x00\x00" * frames)
    return path
