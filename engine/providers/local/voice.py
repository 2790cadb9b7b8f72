"""Offline narration: espeak-ng when installed, otherwise a silent track of speaking length."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.errors import ProcessTimeoutError, ProviderError
from engine.media.silence import speaking_time, write_silence
from engine.ports import RequestTicket
from engine.process import run_process


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
