"""`dreambot run` as an operator starts it: a real process, long polling a fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.fakes.telegram_api import FakeTelegramAPI

ROOT = Path(__file__).resolve().parents[2]
STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."


async def test_run_polls_telegram_makes_the_video_and_stops_on_sigterm(tmp_path) -> None:
    async with FakeTelegramAPI() as fake:
        environment = {
            **os.environ,
            "TELEGRAM_TOKEN": "123456:TEST-token-that-must-not-leak",
            "TELEGRAM_API_BASE": fake.base_url,
            "DREAMBOT_DB": str(tmp_path / "db.sqlite3"),
            "DREAMBOT_WORK_DIR": str(tmp_path / "work"),
            "DREAMBOT_VIDEO_WIDTH": "320",
            "DREAMBOT_VIDEO_HEIGHT": "180",
            "DREAMBOT_VIDEO_FPS": "12",
            "DREAMBOT_LOG_LEVEL": "INFO",
        }
        log = (tmp_path / "run.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=environment, stdout=log, stderr=log
        )
        log.close()
        fake.push_update(fake.message_update(1, 77, 77, STORY, username="reader"))

        async def delivered() -> None:
            while not any(
                c.method == "editMessageMedia" and "scenes" in str(c.params)
                for c in fake.calls_of("editMessageMedia")
            ):
                await asyncio.sleep(0.05)

        try:
            await asyncio.wait_for(delivered(), timeout=180)
        finally:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), timeout=60)

    output = (tmp_path / "run.log").read_text()
    assert code == 0, output
    assert "must-not-leak" not in output
    assert fake.calls_of("sendMessage")[0].params["text"].startswith("🌙")
