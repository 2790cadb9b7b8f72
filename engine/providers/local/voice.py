"""Offline narration: espeak-ng when installed, otherwise a silent track of speaking length."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

from engine.errors import ProcessTimeoutError, ProviderError
from engine.ports import RequestTicket
from engine.process import run_process

_WORDS_PER_SECOND = 2.6  # an unhurried storytelling pace
_SILENCE_RATE = 16000


def speaking_time(text: str) -> float:
    """How long the text takes to read aloud at a storytelling pace, in seconds."""
    return max(1.5, len(text.split()) / _WORDS_PER_SECOND + 0.6)


def write_silence(path: Path, duration_s: float) -> Path:
    """A mono 16-bit WAV of silence; made with the standard library, so it cannot fail on codecs."""
    frames = round(duration_s * _SILENCE_RATE)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(_SILENCE_RATE)
        out.writeframes(b"\x00\x00" * frames)
    return path


class LocalVoice:
    """Speaks with espeak-ng if the machine has it; falls back to silence sized to the words."""

    def __init__(
        self,
        *,
        voice: str = "en-us",
        words_per_minute: int = 150,
        timeout_s: float = 60.0,
        espeak: str | None = "auto",
    ) -> None:
        if espeak == "auto":
            espeak = shutil.which("espeak-ng") or shutil.which("espeak")
        self._exe = espeak
        self._voice = voice
        self._wpm = words_per_minute
        self._timeout_s = timeout_s
        engine_name = "espeak-ng" if espeak else "silence"
        self.identity = f"local-voice/1 {engine_name} {voice} {words_per_minute}"

    @property
    def speaks(self) -> bool:
        """Whether narration will be audible (espeak-ng is installed)."""
        return self._exe is not None

    async def narrate(
        self, text: str, *, out_dir: Path, ticket: RequestTicket | None = None
    ) -> Path:
        """Write the narration of ``text`` into ``out_dir`` and return the file."""
        path = out_dir / "narration.wav"
        if self._exe is None:
            return write_silence(path, speaking_time(text))
        argv = [self._exe, "-v", self._voice, "-s", str(self._wpm), "-w", str(path), "--stdin"]
        try:
            code, stderr = await run_process(
                argv, timeout_s=self._timeout_s, stdin=text.encode("utf-8")
            )
        except ProcessTimeoutError as exc:
            raise ProviderError(f"espeak-ng: {exc}") from exc
        if code != 0:
            raise ProviderError(f"espeak-ng exited with {code}: {stderr.strip()[-200:]}")
        return path
