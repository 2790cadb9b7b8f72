"""`dreambot run --role adapter` and two `--role worker` processes on one PostgreSQL, with
real fal and OpenAI clients against their loopback fakes: a worker SIGKILLed mid-clip is
replaced by the other, which re-attaches to the clips already submitted."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from engine.storage import open_backend
from engine.story import scene_count_for
from tests.bot.test_real_providers import CLIP, FAL_KEY, IMAGE, OPENAI_KEY, PREVIEW, script_for
from tests.bot.test_run import STORY, discord_final, show_log
from tests.bot.test_standby import finals, logged, until
from tests.fakes.discord_api import FakeDiscordAPI
from tests.fakes.fal_queue import FakeFalQueue
from tests.fakes.openai_server import OpenAIFake
from tests.fakes.providers import FakeMedia
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.postgres import fresh_schema
from tests.runs import ROOT, run_environment

SCENES = scene_count_for(STORY)


def clips_polled(fal: FakeFalQueue) -> int:
    return sum(fal.status_calls[rid] > 0 for rid in fal.submitted_ids(CLIP))


async def start(folder: Path, environment: dict[str, str], role: str) -> asyncio.subprocess.Process:
    folder.mkdir()
    log = (folder / "run.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fal_run", "run", "--role", role,
        cwd=folder, env=environment, stdout=log, stderr=log,
    )  # fmt: skip
    log.close()
    return process


@contextlib.asynccontextmanager
async def fleet(
    tmp_path: Path,
    chats: tuple[FakeTelegramAPI, FakeDiscordAPI],
    fal: FakeFalQueue,
    openai: OpenAIFake,
    url: str,
) -> AsyncIterator[dict[str, asyncio.subprocess.Process]]:
    """An adapter and two workers, each with its own folder (no disk shared), stopped after."""
    shared = {
        "DREAMBOT_DATABASE_URL": url,
        "TEST_FAL_URL": fal.url,
        "FAL_KEY": FAL_KEY,
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": openai.base_url,
        "DREAMBOT_FAL_POLL_S": "0.05",
        "DREAMBOT_DOWNLOAD_ALLOW_HOSTS": "localhost",
        "DREAMBOT_STANDBY_POLL_S": "0.2",
        "DREAMBOT_WORKER_JOBS": "1",
        "DREAMBOT_WORKER_HEARTBEAT_S": "0.5",
        "DREAMBOT_WORKER_STALL_S": "2",
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONPATH": str(ROOT),  # for tests.fal_run, from each process's own folder
    }
    processes: dict[str, asyncio.subprocess.Process] = {}
    try:
        for name, role, ready in (
            ("adapter", "adapter", "running: ['TelegramApp', 'DiscordApp']"),
            ("one", "worker", "working:"),
            ("two", "worker", "working:"),
        ):
            folder = tmp_path / name
            telegram, discord_api = chats if role == "adapter" else (None, None)
            environment = run_environment(
                folder, telegram=telegram, discord_api=discord_api, **shared
            )
            processes[name] = await start(folder, environment, role)
            await asyncio.wait_for(logged(folder, ready), timeout=60)
        yield processes
    finally:
        for process in processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), timeout=60)
        for name in processes:
            show_log(tmp_path / name)


async def test_a_worker_killed_mid_clip_is_replaced_and_each_clip_is_submitted_once(
    tmp_path, media: FakeMedia
) -> None:
    with fresh_schema() as url:
        async with (
            FakeTelegramAPI() as telegram,
            FakeDiscordAPI() as discord_api,
            FakeFalQueue(oversized_bytes=3 * 2**20) as fal,
            OpenAIFake() as openai,
        ):
            fal.serve(PREVIEW, kind="video", file=media.preview)
            fal.serve(IMAGE, kind="image", file=media.image)
            # Long enough in the queue (at 0.05 s a poll) to be killed waiting for it.
            fal.serve(CLIP, kind="video", file=media.clip, steps_in_queue=60)
            openai.default_chat = script_for
            openai.speech_file = media.narration
            async with fleet(tmp_path, (telegram, discord_api), fal, openai, url) as processes:
                telegram.push_update(telegram.message_update(1, 77, 77, STORY, username="reader"))
                # Killed once every clip is in fal's queue and its id journalled (an id is
                # stored before its first status poll, so polled means recorded).
                await asyncio.wait_for(until(lambda: clips_polled(fal) == SCENES), timeout=120)
                running = next(
                    name
                    for name in ("one", "two")
                    if "accepted for telegram:77" in (tmp_path / name / "run.log").read_text()
                )
                processes[running].send_signal(signal.SIGKILL)
                await processes[running].wait()
                await asyncio.wait_for(until(lambda: finals(telegram) == 1), timeout=180)
                submitted = fal.submitted_ids(CLIP)
                # The worker left serves Discord too.
                payload = discord_api.command_payload("dream", {"story": STORY})
                await discord_api.send_interaction(payload)
                await discord_api.wait_until(lambda: discord_final(discord_api, payload), 180)
                books = await open_backend(url)
                try:
                    delivered = [("delivered", "committed")] * 2
                    while await books.fetch("SELECT state, charge FROM jobs") != delivered:
                        await asyncio.sleep(0.05)
                finally:
                    await books.close()

    other = "two" if running == "one" else "one"
    assert "job" in (tmp_path / other / "run.log").read_text()
    assert "resumed" in (tmp_path / other / "run.log").read_text()
    assert len(submitted) == len(set(submitted)) == SCENES  # none submitted twice
    assert finals(telegram) == 1  # and the ledger charged each job once (above)
    [message] = telegram.calls_of("sendMessage")  # the one message the job showed itself in
    assert message.params["chat_id"] == "77"
    edits = telegram.calls_of("editMessageMedia")
    assert {(c.params["chat_id"], c.params["message_id"]) for c in edits} == {("77", "2")}
