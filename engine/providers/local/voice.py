"""Offline narration: espeak-ng's voice for the story's language, when installed."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from engine.errors import ProcessTimeoutError, ProviderError, VoiceUnavailableError
from engine.media.silence import write_silence
from engine.models import Language
from engine.ports import RequestTicket
from engine.process import read_process, run_process
from engine.providers.local.voices import VoiceList
from engine.speech import speaking_time

STANDARD_VOICE = "standard"


class LocalVoice:
    """Speaks with espeak-ng if the machine has it; falls back to silence sized to the words.

    A language espeak-ng has no voice for (or a script its voice would spell out letter by
    letter, like kanji in Japanese) raises VoiceUnavailableError: the scene gets silence of
    speaking length, and the result says why.
    """

    # espeak-ng's own voice for the language, then variants of it (espeak-ng-data/voices/!v)
    # that every language can take: two higher voices and a lower one.
    choices: tuple[str, ...] = (STANDARD_VOICE, "linda", "anika", "michel")

    def __init__(
        self,
        *,
        words_per_minute: int = 150,
        timeout_s: float = 60.0,
        espeak: str | None = "auto",
    ) -> None:
        if espeak == "auto":
            espeak = shutil.which("espeak-ng") or shutil.which("espeak")
        self._exe = espeak
        self._wpm = words_per_minute
        self._timeout_s = timeout_s
        self._voices: VoiceList | None = None
        self._listing = asyncio.Lock()
        engine_name = "espeak-ng" if espeak else "silence"
        self.identity = f"local-voice/2 {engine_name} {words_per_minute}"

    @property
    def speaks(self) -> bool:
        """Whether narration will be audible (espeak-ng is installed)."""
        return self._exe is not None

    async def voices(self) -> VoiceList:
        """The installed voices, listed once."""
        async with self._listing:
            if self._voices is None:
                if self._exe is None:
                    self._voices = VoiceList({})
                else:
                    code, listing = await read_process(
                        [self._exe, "--voices"], timeout_s=self._timeout_s
                    )
                    if code != 0:
                        raise ProviderError(f"espeak-ng --voices exited with {code}")
                    self._voices = VoiceList.parse(listing)
            return self._voices

    async def narrate(
        self,
        text: str,
        *,
        language: Language,
        voice: str | None = None,
        out_dir: Path,
        ticket: RequestTicket | None = None,
    ) -> Path:
        """Write the narration of ``text`` into ``out_dir`` and return the file."""
        path = out_dir / "narration.wav"
        if self._exe is None:
            return write_silence(path, speaking_time(text))
        speaker = (await self.voices()).voice_for(language, text)
        if speaker is None:
            raise VoiceUnavailableError(language)
        if voice in self.choices and voice != STANDARD_VOICE:
            speaker = f"{speaker}+{voice}"
        argv = [self._exe, "-v", speaker, "-s", str(self._wpm), "-w", str(path), "--stdin"]
        try:
            code, stderr = await run_process(
                argv, timeout_s=self._timeout_s, stdin=text.encode("utf-8")
            )
        except ProcessTimeoutError as exc:
            raise ProviderError(f"espeak-ng: {exc}") from exc
        if code != 0:
            raise ProviderError(f"espeak-ng exited with {code}: {stderr.strip()[-200:]}")
        return path
