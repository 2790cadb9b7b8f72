"""A developer's ``.env`` configures their bot, never the test suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOTENV = "DREAMBOT_VIDEO_WIDTH=640\nDREAMBOT_DB=/nonexistent/dotenv.sqlite3\n"


@pytest.fixture
def dotenv_at_the_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``.env`` where a developer keeps one: the checkout, which is where tests start."""
    path = ROOT / ".env"
    if path.exists():
        pytest.skip("a real .env is in the checkout; this test will not touch it")
    path.write_text(DOTENV, encoding="utf-8")
    try:
        yield
    finally:
        path.unlink()


@pytest.mark.usefixtures("dotenv_at_the_root")
def test_a_dotenv_in_the_checkout_reaches_no_test_nor_the_processes_it_starts() -> None:
    assert Settings().video_width == 1280

    done = subprocess.run(
        [sys.executable, "-c", "from bot.settings import Settings; print(Settings().db)"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=True,
    )
    assert done.stdout.strip() == "dreambot.sqlite3"


def test_a_dotenv_still_configures_the_bot_that_is_started_beside_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(DOTENV, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", "from bot.settings import Settings; print(Settings().video_width)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=dict(os.environ),
        check=True,
    )
    assert done.stdout.strip() == "640"
