"""Progress lines as every adapter shows them."""

from __future__ import annotations

from bot.progress_text import progress_lines
from engine import Stage
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
    assert len(lines) == len(Stage)


def test_a_stage_finishes_when_its_last_unit_settles() -> None:
    tracker = ProgressTracker("A storm", clock=lambda: 5.0)
    tracker.start(Stage.CLIPS, total=2)
    tracker.advance(Stage.CLIPS)
    tracker.advance(Stage.CLIPS, fallback=True)

    assert progress_lines(tracker.snapshot())[4] == "✅ clips      2 · 1 fell back · 0.0 s"
