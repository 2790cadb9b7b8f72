"""Story validation: what is refused, and how a story is tidied."""

from __future__ import annotations

import pytest

from engine import StoryLimits, StoryRejectedError
from engine.story import validate_story

LIMITS = StoryLimits(min_words=3, max_chars=100)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "Tell me a story"),
        ("   \n\t ", "Tell me a story"),
        ("\u200b\u200b", "Tell me a story"),
        ("two words", "at least 3 words"),
        ("x " * 60, "% of the longest"),
        ("a story with a \x1b[31m colour escape", "control characters"),
        ("nul \x00 inside the text", "control characters"),
    ],
)
def test_bad_stories_get_a_short_clear_reason(text: str, reason: str) -> None:
    with pytest.raises(StoryRejectedError) as refused:
        validate_story(text, LIMITS)
    assert reason in refused.value.reason
    assert len(refused.value.reason) < 120


def test_a_story_is_tidied_not_rewritten() -> None:
    story = "  A cat\u200b sat   on\tthe mat.\r\n\r\n\r\n\r\nIt slept.  "
    assert validate_story(story, LIMITS) == "A cat sat on the mat.\n\nIt slept."


def test_markup_and_mentions_are_kept_as_plain_text() -> None:
    story = "<b>@everyone</b> *look* at [this](x) story"
    assert validate_story(story, LIMITS) == story
