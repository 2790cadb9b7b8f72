"""Validation of the story a person typed, before anything is spent on it."""

from __future__ import annotations

import re
import unicodedata

from engine.config import StoryLimits
from engine.errors import StoryRejectedError
from engine.markup import plain_text
from engine.notice import N_, NN_, Notice
from engine.segment import has_letter, words
from engine.segment import sentences as segment_sentences
from engine.speech import latin_equivalent, speaking_time

# Format characters (zero-width spaces, direction marks, BOMs) arrive in pasted text and
# carry no story, so they are dropped rather than refused; real control characters
# (NUL, escape sequences…) are refused because they mean the text is not plain.
_ALLOWED_CONTROLS = {"\n", "\t", "\r"}
# These format characters are spelling, not noise: the joiners shape Persian, Indic
# scripts and emoji sequences, and tag characters spell subdivision flags.
_KEPT_FORMAT = re.compile(r"[\u200c\u200d\U000e0020-\U000e007f]")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
SECONDS_PER_SCENE = 10.0
MAX_SCENES = 8
# A picture held for less than this is gone before it is seen: shorter sentences share one.
MIN_SCENE_S = 3.5
_NO_LETTERS = N_("Please tell the story in words: numbers, signs and emoji alone cannot be filmed.")
_TOO_SHORT = NN_(
    "That is too short to film: please write at least {count} word.",
    "That is too short to film: please write at least {count} words.",
)


def validate_story(text: str, limits: StoryLimits) -> str:
    """Return the story tidied for use, or raise StoryRejectedError with a short reason."""
    text = plain_text(text)  # markup is not story: a story of markup alone is an empty one
    cleaned = "".join(
        ch for ch in text if unicodedata.category(ch) not in {"Cf", "Cs"} or _KEPT_FORMAT.match(ch)
    )
    for ch in cleaned:
        if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS:
            raise StoryRejectedError(
                Notice(
                    N_("Your story contains invisible control characters. Please send plain text.")
                )
            )
    cleaned = cleaned.replace("\r\n", "\n").replace("\r", "\n")
    lines = (_SPACES.sub(" ", line).strip() for line in cleaned.split("\n"))
    story = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if not story:
        raise StoryRejectedError(
            Notice(N_("Tell me a story: write a few sentences after the command."))
        )
    if not has_letter(story):
        # Digits, signs and emoji alone give the script, the voice and the pictures nothing
        # to work with, yet would be charged like a story.
        raise StoryRejectedError(Notice(_NO_LETTERS))
    # Length is counted in Latin letters of equal speaking time, so that a limit means the
    # same length of video for a Chinese story as for an English one.
    length = latin_equivalent(story)
    if length > limits.max_chars:
        share = round(100 * length / limits.max_chars)
        raise StoryRejectedError(
            Notice(
                N_("That story is {share}% of the longest I can film. Please shorten it."),
                {"share": share},
            )
        )
    if len(words(story)) < limits.min_words:
        raise StoryRejectedError(
            Notice(
                _TOO_SHORT[0],
                {"count": limits.min_words},
                plural=_TOO_SHORT[1],
                count=limits.min_words,
            )
        )
    return story


def scene_count_for(story: str, *, sentences: int | None = None, most: int = MAX_SCENES) -> int:
    """How many scenes a story should have: a scene a sentence while each lasts a few
    seconds, about ten seconds each beyond that, at most ``most``.

    A storyteller turns the page at a sentence end: a one-sentence story is one picture,
    not three slivers of it, and a story of two sentences is two pictures even when quick.
    ``sentences`` is the count the caller's own splitter found (ICU's otherwise).
    """
    count = len(segment_sentences(story)) if sentences is None else sentences
    seconds = speaking_time(story)
    by_sentence = min(count, max(2, int(seconds / MIN_SCENE_S)))
    return max(1, min(most, max(by_sentence, round(seconds / SECONDS_PER_SCENE))))
