"""What a finished job speaks and shows: its admitted story, its script's title and narrations."""

from __future__ import annotations

import re
from pathlib import Path

from engine.scripts import script_from_json
from engine.storage import Storage

# Raw ids, tags, Markdown tokens and URLs: none may reach a voice or a caption.
RAW = re.compile(r"\d{6,}|<[^<>\n]*>|\*\*|__|~~|\|\||`|https?:|www\.|\]\(|@everyone|@here")


async def spoken_and_shown(storage: Storage, work_dir: Path) -> list[str]:
    """The newest job's story as admitted, then its script's title and scene narrations."""
    rows = await storage.db.fetch("SELECT id, story FROM jobs ORDER BY created_at")
    job_id, story = rows[-1]
    script = script_from_json((work_dir / str(job_id) / "script.json").read_text("utf-8"))
    return [str(story), script.title, *(scene.narration for scene in script.scenes)]


def raw_left(texts: list[str]) -> list[str]:
    """Every raw id, tag, Markdown token or URL found in the texts."""
    return [found for text in texts for found in RAW.findall(text)]
