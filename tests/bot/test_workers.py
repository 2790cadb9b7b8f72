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


READY = {"adapter": "running: ['TelegramApp', 'DiscordApp']", "worker": "working:"}


class Fleet:
    """An adapter and two workers, each with its own folder (no disk shared)."""

    def __init__(self, tmp_path: Path, environments: dict[str, dict[str, str]]) -> None:
        self.tmp_path = tmp_path
        self.environments = environments
        self.processes: dict[str, asyncio.subprocess.Process] = {}

    @staticmethod
    def role(name: str) -> str:
        return "adapter" if name == "adapter" else "worker"

    async def start(self, name: str) -> None:
        """Start ``name`` (again, after a kill: in the same folder, as a supervisor would)."""
        folder = self.tmp_path / name
        folder.mkdir(exist_ok=True)
        if (folder / "run.log").exists():  # the killed run's log, kept for reading
            (folder / "run.log").rename(folder / f"run.{len(list(folder.glob('run*')))}.log")
        log = (folder / "run.log").open("wb")
        self.processes[name] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.fal_run", "run", "--role", self.role(name),
            cwd=folder, env=self.environments[name], stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        await asyncio.wait_for(logged(folder, READY[self.role(name)]), timeout=60)

    async def kill(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGKILL)
        await self.processes[name].wait()

    def log_of(self, name: str) -> str:
        return (self.tmp_path / name / "run.log").read_text(errors="replace")


@contextlib.asynccontextmanager
async def fleet(
    tmp_path: Path,
    chats: tuple[FakeTelegramAPI, FakeDiscordAPI],
    fal: FakeFalQueue,
    openai: OpenAIFake,
    url: str,
) -> AsyncIterator[Fleet]:
    """An adapter and two workers, started, and stopped after."""
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
    environments = {}
    for name in ("adapter", "one", "two"):
        telegram, discord_api = chats if name == "adapter" else (None, None)
        environments[name] = run_environment(
            tmp_path / name, telegram=telegram, discord_api=discord_api, **shared
        )
    started = Fleet(tmp_path, environments)
    try:
        for name in environments:
            await started.start(name)
        yield started
    finally:
        for process in started.processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), timeout=60)
        for name in started.processes:
            show_log(tmp_path / name)


def serve_media(fal: FakeFalQueue, openai: OpenAIFake, media: FakeMedia, clip_steps: int) -> None:
    fal.serve(PREVIEW, kind="video", file=media.preview)
    fal.serve(IMAGE, kind="image", file=media.image)
    fal.serve(CLIP, kind="video", file=media.clip, steps_in_queue=clip_steps)
    openai.default_chat = script_for
    openai.speech_file = media.narration


@contextlib.asynccontextmanager
async def fleet_at_work(
    tmp_path: Path, media: FakeMedia, clip_steps: int
) -> AsyncIterator[tuple[str, FakeTelegramAPI, FakeDiscordAPI, FakeFalQueue, Fleet]]:
    """The fakes, the media they serve, and the fleet on a schema of its own."""
    with fresh_schema() as url:
        async with (
            FakeTelegramAPI() as telegram,
            FakeDiscordAPI() as discord_api,
            FakeFalQueue(oversized_bytes=3 * 2**20) as fal,
            OpenAIFake() as openai,
        ):
            serve_media(fal, openai, media, clip_steps=clip_steps)
            async with fleet(tmp_path, (telegram, discord_api), fal, openai, url) as started:
                yield url, telegram, discord_api, fal, started


async def jobs_end(url: str, expected: list[tuple[str, str]]) -> None:
    books = await open_backend(url)
    try:
        while await books.fetch("SELECT state, charge FROM jobs ORDER BY created_at") != expected:
            await asyncio.sleep(0.05)
    finally:
        await books.close()


async def test_a_worker_killed_mid_clip_is_replaced_and_each_clip_is_submitted_once(
    tmp_path, media: FakeMedia
) -> None:
    # Long enough in the queue (at 0.05 s a poll) to be killed waiting for it.
    async with fleet_at_work(tmp_path, media, clip_steps=60) as world:
        url, telegram, discord_api, fal, started = world
        telegram.push_update(telegram.message_update(1, 77, 77, STORY, username="reader"))
        # Killed once every clip is in fal's queue and its id journalled (an id is
        # stored before its first status poll, so polled means recorded).
        await asyncio.wait_for(until(lambda: clips_polled(fal) == SCENES), timeout=120)
        running = next(
            name for name in ("one", "two") if "accepted for telegram:77" in started.log_of(name)
        )
        await started.kill(running)
        await asyncio.wait_for(until(lambda: finals(telegram) == 1), timeout=180)
        submitted = fal.submitted_ids(CLIP)
        # The worker left serves Discord too.
        payload = discord_api.command_payload("dream", {"story": STORY})
        await discord_api.send_interaction(payload)
        await discord_api.wait_until(lambda: discord_final(discord_api, payload), 180)
        delivered = [("delivered", "committed")] * 2
        await asyncio.wait_for(jobs_end(url, delivered), timeout=30)

    other = "two" if running == "one" else "one"
    assert "resumed" in (tmp_path / other / "run.log").read_text()
    assert len(submitted) == len(set(submitted)) == SCENES  # none submitted twice
    assert finals(telegram) == 1  # and the ledger charged each job once (above)
    [message] = telegram.calls_of("sendMessage")  # the one message the job showed itself in
    assert message.params["chat_id"] == "77"
    edits = telegram.calls_of("editMessageMedia")
    assert {(c.params["chat_id"], c.params["message_id"]) for c in edits} == {("77", "2")}


def pressable(telegram: FakeTelegramAPI, chat: int, action: str) -> tuple[int, str] | None:
    """The message in ``chat`` whose keyboard has ``action``'s button, and its data."""
    for message in telegram.messages.get(chat, {}).values():
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                if f":{action}:" in button.get("callback_data", ""):
                    return message.message_id, button["callback_data"]
    return None


async def test_an_adapter_killed_mid_job_restarts_in_the_same_message_and_cancels_reach_workers(
    tmp_path, media: FakeMedia
) -> None:
    async with fleet_at_work(tmp_path, media, clip_steps=60) as world:
        url, telegram, _, fal, started = world
        telegram.push_update(telegram.message_update(1, 77, 77, STORY, username="reader"))
        await asyncio.wait_for(until(lambda: clips_polled(fal) == SCENES), timeout=120)
        # The adapter dies while a worker runs its job; a supervisor starts it again.
        await started.kill("adapter")
        await started.start("adapter")
        await asyncio.wait_for(until(lambda: finals(telegram) == 1), timeout=180)

        # A second story, cancelled with its button while its clips wait in fal.
        fal.serve(CLIP, kind="video", file=media.clip, steps_in_queue=100_000)
        telegram.push_update(telegram.message_update(2, 78, 78, STORY, username="other"))
        await asyncio.wait_for(until(lambda: clips_polled(fal) == 2 * SCENES), 120)
        # Offered on a job a worker runs, once the adapter has shown its progress.
        await asyncio.wait_for(until(lambda: pressable(telegram, 78, "cancel") is not None), 30)
        found = pressable(telegram, 78, "cancel")
        assert found is not None
        message_id, data = found
        telegram.push_update(telegram.callback_update(3, 78, 78, message_id, data))
        ended = [("delivered", "committed"), ("cancelled", "refunded")]
        await asyncio.wait_for(jobs_end(url, ended), timeout=60)
        # Told in the same message, which now offers to dream it again.
        await asyncio.wait_for(until(lambda: pressable(telegram, 78, "regenerate") is not None), 30)

    first_run = (tmp_path / "adapter" / "run.1.log").read_text(errors="replace")
    assert "accepted for telegram:77" not in first_run  # the workers run the jobs
    assert finals(telegram) == 1
    sent = telegram.calls_of("sendMessage")
    assert sorted(c.params["chat_id"] for c in sent) == ["77", "78"]  # one message per job
    edits = telegram.calls_of("editMessageMedia")  # the previews, and the one final
    assert {(c.params["chat_id"], c.params["message_id"]) for c in edits} == {
        ("77", "2"),
        ("78", str(message_id)),
    }
    [answer] = telegram.calls_of("answerCallbackQuery")
    assert answer.params["text"] == "Cancelling…"
    assert pressable(telegram, 78, "regenerate") == (
        message_id,
        data.replace("cancel", "regenerate"),
    )
    cancelled_clips = fal.submitted_ids(CLIP)[SCENES:]
    assert len(cancelled_clips) == SCENES and set(cancelled_clips) <= set(fal.cancels)
