"""Validation of the story a person typed, before anything is spent on it."""

from __future__ import annotations

import re
import unicodedata

from engine.config import StoryLimits
from engine.errors import StoryRejectedError

# Format characters (zero-width spaces, direction marks, BOMs) arrive in pasted text and
# carry no story, so they are dropped rather than refused; real control characters
# (NUL, escape sequences…) are refused because they mean the text is not plain.
_ALLOWED_CONTROLS = {"\n", "\t", "\r"}
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def validate_story(text: str, limits: StoryLimits) -> str:
    """Return the story tidied for use, or raise StoryRejectedError with a short reason."""
    cleaned = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cf", "Cs"})
    for ch in cleaned:
        if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS:
            raise StoryRejectedError(
                "Your story contains invisible control characters. Please send plain text."
            )
    cleaned = cleaned.replace("\r\n", "\n").replace("\r", "\n")
    lines = (_SPACES.sub(" ", line).strip() for line in cleaned.split("\n"))
    story = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if not story:
        raise StoryRejectedError("Tell me a story: write a few sentences after the command.")
    if len(story) > limits.max_chars:
        raise StoryRejectedError(
            f"That story is {len(story)} characters; the limit is {limits.max_chars}. "
            "Please shorten it."
        )
    words = len(story.split())
    if words < limits.min_words:
        raise StoryRejectedError(
            f"That is too short to film: please write at least {limits.min_words} words."
        )
    return story


def scene_count_for(story: str, *, words_per_scene: int = 25, least: int = 3, most: int = 8) -> int:
    """How many scenes a story of this length should have (about 25 words a scene)."""
    return max(least, min(most, round(len(story.split()) / words_per_scene)))
