"""Story validation: what is refused, and how a story is tidied."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import (
    Books,
    Engine,
    EngineConfig,
    Providers,
    QuotaPolicy,
    StoryLimits,
    StoryRejectedError,
)
from engine.media.ffmpeg import FFmpeg
from engine.story import validate_story
from tests.fakes.providers import FakeMedia, FakeProviders

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


NO_LETTERS = ["!!! ??? ... !!! ???", "123 456 789", "🙂 🙂 🙂", "١٢٣ ٤٥٦ ٧٨٩", "*** --- ***"]


@pytest.mark.parametrize("text", NO_LETTERS)
def test_a_story_without_a_letter_is_refused(text: str) -> None:
    with pytest.raises(StoryRejectedError) as refused:
        validate_story(text, LIMITS)
    assert refused.value.reason == (
        "Please tell the story in words: numbers, signs and emoji alone cannot be filmed."
    )


@pytest.mark.parametrize(
    "text", ["猫が走る", "แมววิ่งเร็วมาก", "القط يجري بسرعة", "कुत्ता तेज़ दौड़ा", "3 cats sang 🙂"]
)
def test_letters_of_any_script_make_a_story(text: str) -> None:
    assert validate_story(text, LIMITS) == text


@pytest.mark.parametrize("text", NO_LETTERS)
async def test_admission_charges_nothing_for_a_story_without_a_letter(
    tmp_path: Path, config: EngineConfig, ffmpeg: FFmpeg, media: FakeMedia, text: str
) -> None:
    books = await Books.open(tmp_path / "db.sqlite3", QuotaPolicy(daily_quota=1))
    fake = FakeProviders(media)
    providers = Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake)
    engine = Engine(config, providers, ffmpeg, books=books)
    try:
        with pytest.raises(StoryRejectedError) as refused:
            await engine.admit(text, requester="telegram:1")
        assert "in words" in refused.value.reason
        assert (await books.quota("telegram:1")).used == 0
        assert (await books.stats()).by_state == {}
    finally:
        await books.close()
