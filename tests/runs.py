"""`dreambot run` as a real process, pointed at the fake platforms (tests and bench/run.py)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

from tests.fakes.discord_api import FakeDiscordAPI
from tests.fakes.telegram_api import FakeTelegramAPI

ROOT = Path(__file__).resolve().parents[1]
TELEGRAM_TOKEN = "123456:TEST-telegram-token-must-not-leak"  # noqa: S105 - a fake token
DISCORD_TOKEN = "TEST.discord-token.must-not-leak"  # noqa: S105 - a fake token


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_environment(
    folder: Path,
    *,
    telegram: FakeTelegramAPI | None = None,
    discord_api: FakeDiscordAPI | None = None,
    **extra: str,
) -> dict[str, str]:
    """The environment of `dreambot run` for the given fakes, a small render and INFO logs."""
    environment = {
        **os.environ,
        "DREAMBOT_DB": str(folder / "db.sqlite3"),
        "DREAMBOT_WORK_DIR": str(folder / "work"),
        "DREAMBOT_VIDEO_WIDTH": "320",
        "DREAMBOT_VIDEO_HEIGHT": "180",
        "DREAMBOT_VIDEO_FPS": "12",
        "DREAMBOT_LOG_LEVEL": "INFO",
    }
    if telegram is not None:
        environment |= {"TELEGRAM_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_API_BASE": telegram.base_url}
    if discord_api is not None:
        environment |= {
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "DISCORD_API_BASE": discord_api.api_base,
            "DISCORD_GATEWAY_URL": discord_api.gateway_url,
        }
    return environment | extra


async def start_run(folder: Path, environment: dict[str, str]) -> asyncio.subprocess.Process:
    """Start `dreambot run`, its output going to ``folder / "run.log"``."""
    log = (folder / "run.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=folder, env=environment, stdout=log, stderr=log
    )
    log.close()
    return process


def telegram_final_sent(telegram: FakeTelegramAPI) -> bool:
    """Whether a final video (its caption counts the scenes) reached a Telegram message."""
    return any("scenes" in str(c.params) for c in telegram.calls_of("editMessageMedia"))
