"""``dreambot dream`` as a person runs it: a real process, real files, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

STORY = (
    "A lighthouse keeper lived alone on a rocky island. One night a storm rolled in. "
    "He climbed the tower and lit the lamp. By morning the storm had become his friend."
)


def dreambot(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    small = {
        "DREAMBOT_VIDEO_WIDTH": "320",
        "DREAMBOT_VIDEO_HEIGHT": "180",
        "DREAMBOT_VIDEO_FPS": "12",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=300,
        env={**os.environ, **small, **(env or {})},
        check=False,
    )


def test_a_story_becomes_a_preview_then_a_final(tmp_path: Path) -> None:
    done = dreambot("dream", STORY, "--out", str(tmp_path))

    assert done.returncode == 0, done.stderr
    preview, final = tmp_path / "preview.mp4", tmp_path / "final.mp4"
    assert preview.stat().st_size > 0 and final.stat().st_size > 0
    assert preview.stat().st_mtime_ns < final.stat().st_mtime_ns
    assert done.stdout.strip() == str(final)
    for stage in ("preview", "script", "images", "narration", "clips", "scenes", "merge"):
        assert stage in done.stderr
    assert "stage timings:" in done.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_story_can_come_from_stdin(tmp_path: Path) -> None:
    done = dreambot("dream", "-", "--out", str(tmp_path), stdin=STORY)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "final.mp4").exists()


@pytest.mark.parametrize(
    ("story", "reason"),
    [("", "Tell me a story"), ("hi", "at least 3 words"), ("word " * 400, "of the longest")],
)
def test_bad_stories_are_refused_with_a_reason(tmp_path: Path, story: str, reason: str) -> None:
    done = dreambot("dream", story, "--out", str(tmp_path))

    assert done.returncode == 2
    assert reason in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_failed_job_names_its_stage_in_one_line(tmp_path: Path) -> None:
    done = dreambot("dream", STORY, "--out", str(tmp_path), env={"DREAMBOT_X264_PRESET": "bogus"})

    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("dreambot: failed at scenes:")
    assert not (tmp_path / "final.mp4").exists()
