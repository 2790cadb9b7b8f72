"""``dreambot dream`` as a person runs it: a real process, real files, real exit codes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import SHAPES
from engine import Aspect
from engine.media.ffmpeg import locate_ffmpeg

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


def test_a_tall_dream_with_another_voice_and_no_captions(tmp_path: Path) -> None:
    done = dreambot(
        "dream", STORY, "--out", str(tmp_path), "--shape", "9:16", "--voice", "linda",
        "--no-captions",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    video = subprocess.run(
        [locate_ffmpeg(), "-hide_banner", "-i", str(tmp_path / "final.mp4")],
        capture_output=True, text=True, check=False,
    ).stderr  # fmt: skip
    assert " 180x320 " in video  # the operator's 320x180, stood upright


def test_a_voice_the_provider_lacks_is_refused_with_the_ones_it_has(tmp_path: Path) -> None:
    done = dreambot("dream", STORY, "--out", str(tmp_path), "--voice", "nova")
    assert done.returncode == 2
    assert "standard, linda, anika, michel" in done.stderr
    assert not (tmp_path / "final.mp4").exists()


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


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
@pytest.mark.parametrize(
    ("locale", "told"),
    [
        ("C", "The offline voice does not speak Khmer, so this video has no narration."),
        ("ru_RU.UTF-8", "Офлайн-голос не говорит на языке «кхмерский», поэтому в этом видео нет"),
    ],
)
def test_the_story_language_can_be_given_and_a_voice_that_lacks_it_says_so(
    tmp_path: Path, locale: str, told: str
) -> None:
    # Khmer: espeak-ng has no voice for it, so the override reaches the voice, which says so
    # in the terminal's language.
    env = {"LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": locale}
    done = dreambot("dream", STORY, "--lang", "km", "--out", str(tmp_path), env=env)

    assert done.returncode == 0, done.stderr
    assert told in " ".join(done.stderr.split())
    assert (tmp_path / "final.mp4").exists()


@pytest.mark.parametrize("tag", ["english!", "e", "12"])
def test_a_malformed_language_is_refused_before_anything_runs(tmp_path: Path, tag: str) -> None:
    done = dreambot("dream", STORY, "--lang", tag, "--out", str(tmp_path))

    assert done.returncode == 2
    assert "is not a language tag such as en, ru or pt-BR" in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("out", "said"),
    [
        ("a-file", "--out a-file is a file; it must name a folder"),
        ("a-file/videos", "cannot make the folder a-file/videos: a-file is a file"),
        ("/proc/x", "cannot make the folder /proc/x ("),
        ("/proc", "cannot write in the folder /proc ("),
        ("video.mp4", "--out names a folder for preview.mp4 and final.mp4, not a video file"),
    ],
)
def test_an_out_that_cannot_be_a_folder_is_refused_in_one_line(
    tmp_path: Path, out: str, said: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "dream", STORY, "--out", out],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.startswith(f"dreambot: {said}")
    assert len(done.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing was made


def test_the_help_says_what_each_command_does() -> None:
    shown = dreambot("--help").stdout

    assert "``" not in shown and "to come" not in shown
    # With FAL_KEY or OPENAI_API_KEY set, `dream` uses them: it is not "offline" then.
    assert "offline unless FAL_KEY or OPENAI_API_KEY is set" in " ".join(shown.split())
    for command in ("dream", "quota", "ban", "unban", "stats", "run"):
        line = next(line for line in shown.splitlines() if line.split()[:1] == [command])
        assert len(line.split()) > 3, line


def test_the_shapes_offered_are_the_engine_s() -> None:
    # bot.cli spells them out so that it is read without importing the engine.
    assert tuple(aspect.value for aspect in Aspect) == SHAPES
