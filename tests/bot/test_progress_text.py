"""Progress lines as every adapter shows them."""

from __future__ import annotations

import pytest

from bot.i18n import words
from bot.progress_text import failure_line, progress_lines
from engine import Stage
from engine.models import JobFailure, Wait, WaitReason
from engine.notice import Notice
from engine.progress import ProgressTracker


def test_lines_follow_the_stages_with_counts_fallbacks_and_times() -> None:
    now = [0.0]
    tracker = ProgressTracker("A storm", clock=lambda: now[0])
    tracker.start(Stage.PREVIEW)
    tracker.start(Stage.SCRIPT)
    now[0] = 2.8
    tracker.finish(Stage.SCRIPT)
    tracker.start(Stage.IMAGES, total=4)
    for fallback in (False, False, True):
        tracker.advance(Stage.IMAGES, fallback=fallback)

    lines = progress_lines(tracker.snapshot())

    assert lines[0] == "⏳ preview"
    assert lines[1] == "✅ script     2.8 s"
    assert lines[2] == "⏳ images     3/4 · 1 fell back"
    assert lines[-1] == "⬜ merge"
    assert len(lines) == len(Stage) - 1  # delivery: listed only while it runs or once it failed


def test_delivery_is_listed_only_while_it_runs_or_once_it_failed() -> None:
    tracker = ProgressTracker("A storm", clock=lambda: 1.0)
    tracker.start(Stage.DELIVERY)
    assert progress_lines(tracker.snapshot())[-1] == "⏳ delivery"
    tracker.fail(Stage.DELIVERY)
    assert progress_lines(tracker.snapshot())[-1] == "❌ delivery   0.0 s"
    tracker.finish(Stage.DELIVERY)
    assert progress_lines(tracker.snapshot())[-1] == "⬜ merge"
    failed = JobFailure("j", Stage.DELIVERY, Notice("the video could not be delivered"),
                        tracker.snapshot(), refunded=True)  # fmt: skip
    line = failure_line(failed, words("de"))
    assert "Zustellung" in line


def test_a_stage_finishes_when_its_last_unit_settles() -> None:
    tracker = ProgressTracker("A storm", clock=lambda: 5.0)
    tracker.start(Stage.CLIPS, total=2)
    tracker.advance(Stage.CLIPS)
    tracker.advance(Stage.CLIPS, fallback=True)

    assert progress_lines(tracker.snapshot())[4] == "✅ clips      2 · 1 fell back · 0.0 s"


NOTHING_CHARGED = {"en": "Nothing was charged", "es": "No se cobró nada", "ja": "消費はありません"}


@pytest.mark.parametrize("cancelled", [False, True])
@pytest.mark.parametrize("locale", sorted(NOTHING_CHARGED))
def test_nothing_was_charged_is_said_only_of_a_recorded_refund(cancelled, locale) -> None:
    for refunded in (False, True):
        failure = JobFailure("j1", Stage.CLIPS, Notice("x"), cancelled=cancelled, refunded=refunded)
        line = failure_line(failure, words(locale))
        assert (NOTHING_CHARGED[locale] in line) is refunded, line


def test_a_wait_on_this_machine_says_for_what_its_place_and_about_how_long() -> None:
    tracker = ProgressTracker("A storm", clock=lambda: 0.0)
    tracker.start(Stage.SCENES, total=3)
    tracker.waiting(Stage.SCENES, "scene-2", Wait(WaitReason.ENCODER, 2, 7.6))
    tracker.waiting(Stage.SCENES, "scene-1", Wait(WaitReason.ENCODER, 1, 3.2))
    assert progress_lines(tracker.snapshot())[5] == (
        "⏳ scenes     0/3 · waiting for a free encoder, #1 · about 3 s"
    )
    tracker.waiting(Stage.SCENES, "scene-1", None)  # it went ahead: the next is shown
    assert "#2 · about 8 s" in progress_lines(tracker.snapshot())[5]
    tracker.start(Stage.CLIPS, total=3)
    tracker.waiting(Stage.CLIPS, "clip-0", Wait(WaitReason.RATE))
    assert progress_lines(tracker.snapshot())[4].endswith("waiting for the provider's rate limit")
    russian = progress_lines(tracker.snapshot(), words("ru"))[5]
    assert "encoder" not in russian
    assert russian.endswith(words("ru")._("about {seconds} s", seconds=8))
