"""Scripts to and from JSON, so a restart or a cache hit can skip the script writer."""

from __future__ import annotations

import json

from engine.errors import ProviderError
from engine.models import ENGLISH, Language, SceneSpec, Script


def script_to_json(script: Script) -> str:
    """The script as a JSON document."""
    return json.dumps(
        {
            "title": script.title,
            "style": script.style,
            "seed": script.seed,
            "language": script.language.tag,
            "scenes": [
                {"narration": s.narration, "visual_prompt": s.visual_prompt} for s in script.scenes
            ],
        },
        ensure_ascii=False,
    )


def script_from_json(text: str) -> Script:
    """A script read back from ``script_to_json`` output (ProviderError if it is not one)."""
    try:
        data = json.loads(text)
        scenes = tuple(
            SceneSpec(n, str(s["narration"]), str(s["visual_prompt"]))
            for n, s in enumerate(data["scenes"])
        )
        # Scripts stored before languages were kept are English.
        language = Language.parse(str(data.get("language", ENGLISH.tag)))
        return Script(str(data["title"]), str(data["style"]), int(data["seed"]), scenes, language)
    except (ValueError, KeyError, TypeError) as exc:
        raise ProviderError("a stored script could not be read") from exc
