"""The last rung of the degrade ladder: a card carrying the scene's words, drawn offline."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.media.art import render_title_card
from engine.models import Language


async def draw_title_card(
    text: str, *, seed: int, width: int, height: int, language: Language, out: Path
) -> Path:
    """Draw a title card carrying the scene's words into ``out`` (off the event loop)."""
    image = await asyncio.to_thread(
        render_title_card, text, seed=seed, width=width, height=height, language=language
    )
    await asyncio.to_thread(image.save, out)
    return out
