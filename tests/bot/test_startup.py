"""What ``dreambot run`` imports at start: nothing heavy before the token check, and each
platform's library only when its token is set (issue 16). Real processes, real imports."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bot.settings import NO_BOT
from tests.fakes.discord_api import FakeDiscordAPI
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.runs import run_environment

HEAVY = ("aiogram", "discord", "openai", "fal_client", "engine", "rich")
TOKENS = ("TELEGRAM_TOKEN", "DISCORD_TOKEN")

# `dreambot run` as the console script runs it, saying on stdout, as the process ends,
# which of HEAVY it had imported by then.
PROBE = f"""
import atexit, sys
atexit.register(lambda: print(" ".join(m for m in {HEAVY!r} if m in sys.modules), flush=True))
from bot.cli import main
sys.exit(main(["run"]))
"""


def imported(stdout: str) -> set[str]:
    return set(stdout.split())


def test_run_without_a_token_says_what_to_set_before_any_heavy_import(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in TOKENS}
    # The folder is empty: no .env with a token in it.
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, env=environment,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 2
    assert done.stderr.strip() == NO_BOT
    assert imported(done.stdout) == set()


def test_the_console_script_without_a_token_exits_with_the_message(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in TOKENS}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=environment,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert (done.returncode, done.stderr.strip(), done.stdout) == (2, NO_BOT, "")


async def probe_run(
    folder: Path, environment: dict[str, str], connected: Callable[[], object]
) -> set[str]:
    """Start the probe, wait until ``connected()`` is true, stop it; what had it imported?"""
    log = (folder / "run.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROBE, cwd=folder, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=log,
    )  # fmt: skip
    log.close()
    try:
        async with asyncio.timeout(120):
            while not connected():
                assert process.returncode is None, (folder / "run.log").read_text()
                await asyncio.sleep(0.02)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, (folder / "run.log").read_text()[-6000:]
    return imported(stdout.decode())


def only(environment: dict[str, str], *tokens: str) -> dict[str, str]:
    """The environment with only these tokens (and no provider keys): offline providers."""
    dropped = {*TOKENS, "FAL_KEY", "OPENAI_API_KEY"} - set(tokens)
    return {k: v for k, v in environment.items() if k not in dropped}


async def test_telegram_alone_never_imports_discord(tmp_path: Path) -> None:
    async with FakeTelegramAPI() as telegram:
        environment = only(run_environment(tmp_path, telegram=telegram), "TELEGRAM_TOKEN")
        loaded = await probe_run(tmp_path, environment, lambda: telegram.calls_of("getUpdates"))

    assert "aiogram" in loaded  # the probe sees what the process imported
    assert "discord" not in loaded
    assert not loaded & {"openai", "fal_client"}  # offline providers need neither SDK


async def test_discord_alone_never_imports_aiogram(tmp_path: Path) -> None:
    async with FakeDiscordAPI() as discord_api:
        environment = only(run_environment(tmp_path, discord_api=discord_api), "DISCORD_TOKEN")
        loaded = await probe_run(tmp_path, environment, lambda: discord_api.ready_connections)

    assert "discord" in loaded
    assert "aiogram" not in loaded
    assert not loaded & {"openai", "fal_client"}
