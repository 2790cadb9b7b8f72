"""The last rung of the degrade ladder: a card carrying the scene's words, drawn offline."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.media.art import render_title_card


async def draw_title_card(text: str, *, seed: int, width: int, height: int, out: Path) -> Path:
    """Draw a title card carrying the scene's words into ``out`` (off the event loop)."""
    image = await asyncio.to_thread(render_title_card, text, seed=seed, width=width, height=height)
    await asyncio.to_thread(image.save, out)
    return out
