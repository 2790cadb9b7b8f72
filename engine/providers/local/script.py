"""Offline script writer: the sentence-aware splitter wrapped as a ScriptWriter."""

from __future__ import annotations

from engine.errors import ProviderError
from engine.models import Language, SceneSpec, Script
from engine.ports import RequestTicket
from engine.providers.local.splitter import split_story


class LocalScriptWriter:
    """Cuts the story at sentence ends (a long sentence at a clause) into 1 to 8 scenes."""

    identity = "local-splitter/3"

    async def write_script(
        self,
        story: str,
        *,
        seed: int,
        language: Language,
        ticket: RequestTicket | None = None,
    ) -> Script:
        """Split the story; no network, no model, same story → same script."""
        try:
            draft = split_story(story, language=language)
        except ValueError as exc:
            raise ProviderError(f"cannot split the story: {exc}") from exc
        scenes = tuple(
            SceneSpec(index=n, narration=s.narration, visual_prompt=s.visual_prompt)
            for n, s in enumerate(draft.scenes)
        )
        return Script(
            title=draft.title, style=draft.style, seed=seed, scenes=scenes, language=language
        )
