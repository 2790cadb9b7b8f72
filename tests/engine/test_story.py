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


def test_markup_and_mentions_are_reduced_to_their_text() -> None:
    story = "<b>@everyone</b> *look* at [this](x) story, <@123456789012345678>!"
    assert validate_story(story, LIMITS) == "everyone look at this story!"


@pytest.mark.parametrize(
    "text",
    ["**  **", "<script>alert(1)</script>", "<@123456789012345678> https://x.org", "||** **||"],
)
def test_a_story_of_markup_alone_is_no_story(text: str) -> None:
    with pytest.raises(StoryRejectedError) as refused:
        validate_story(text, LIMITS)
    assert "Tell me a story" in refused.value.reason
