"""Which espeak-ng voice speaks a language, read from ``espeak-ng --voices``.

The listing has one voice a line: priority, language, age/gender, name, file, and the other
languages it answers for with their priorities, e.g.
``5  cmn  --/M  Chinese_(Mandarin,_latin_as_English)  sit/cmn  (zh-cmn 5)(zh 5)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.models import Language
from engine.segment import Script, scripts_in

_OTHER = re.compile(r"\(([A-Za-z0-9-]+) (\d+)\)")
# What most speakers of a bare language tag expect; espeak-ng's own first pick for "en" is
# British and for "pt" European.
_PREFERRED = {"en": "en-us", "pt": "pt-br"}
# Scripts a voice reads aloud although its language is written with more: espeak-ng's
# Japanese voice reads kana but spells kanji out as "Chinese letter", character by
# character, so a Japanese text with kanji is not one it can speak.
_UNREADABLE = {"ja": frozenset({Script.HAN})}


@dataclass(frozen=True)
class VoiceList:
    """The installed voices: language code → voice to pass to ``-v``."""

    voices: dict[str, str]

    @classmethod
    def parse(cls, listing: str) -> VoiceList:
        """Read ``espeak-ng --voices`` output (the header line is skipped)."""
        exact: dict[str, str] = {}
        others: dict[str, tuple[int, str]] = {}
        for line in listing.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 5:
                continue
            language = fields[1].lower()
            exact.setdefault(language, language)
            for code, priority in _OTHER.findall(line):
                best = others.get(code.lower())
                if best is None or int(priority) < best[0]:
                    others[code.lower()] = (int(priority), language)
        voices = {code: voice for code, (_, voice) in others.items()}
        voices.update(exact)
        for code, voice in _PREFERRED.items():
            if voice in exact:
                voices[code] = voice
        return cls(voices)

    def voice_for(self, language: Language, text: str) -> str | None:
        """The voice that speaks this text in this language, or None if none does."""
        tag = language.tag.lower()
        voice = self.voices.get(tag) or self.voices.get(language.base)
        if voice is None:
            return None
        unreadable = _UNREADABLE.get(language.base, frozenset())
        if any(script in unreadable for script in scripts_in(text)):
            return None
        return voice
