"""A standby: a second `dreambot run` with the same bot token on the same PostgreSQL waits,
and takes the bot over when the first process dies (SIGKILL: no goodbye, no cleanup)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from engine.storage import open_backend
from engine.storage.dialect import Lock
from tests.bot.test_run import STORY, show_log
from tests.fakes.telegram_api import Call, FakeTelegramAPI, FileInfo
from tests.postgres import fresh_schema
from tests.runs import run_environment, start_run


@dataclass
class Pair:
    """The serving process and its standby, each with its own folder and log."""

    first: Path
    second: Path
    serving: asyncio.subprocess.Process
    standing_by: asyncio.subprocess.Process

    def log(self, folder: Path) -> str:
        return (folder / "run.log").read_text(errors="replace")

    async def kill_the_serving_one(self) -> None:
        self.serving.send_signal(signal.SIGKILL)
        await self.serving.wait()
        await asyncio.wait_for(logged(self.second, "taking the bot over"), timeout=60)


@contextlib.asynccontextmanager
async def serving_and_standby(
    tmp_path: Path, fake: FakeTelegramAPI, url: str, *, serving_poll_s: str = "0.1"
) -> AsyncIterator[Pair]:
    """`dreambot run` twice with the same token on one server: the first serves, the second
    has said it stands by; both are stopped (SIGTERM) afterwards, if still running.

    The standby asks every 0.1 s; ``serving_poll_s`` is how often the first checks its hold.
    """
    first, second = tmp_path / "first", tmp_path / "second"
    started: list[asyncio.subprocess.Process] = []
    try:
        for folder, ready, poll_s in (
            (first, "running: ['TelegramApp']", serving_poll_s),
            (second, "standing by", "0.1"),
        ):
            folder.mkdir()
            environment = run_environment(
                folder, telegram=fake, DREAMBOT_DATABASE_URL=url, DREAMBOT_STANDBY_POLL_S=poll_s
            )
            started.append(await start_run(folder, environment))
            await asyncio.wait_for(logged(folder, ready), timeout=60)
        yield Pair(first, second, *started)
    finally:
        for process in started:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), timeout=60)
        for folder in (first, second):
            if (folder / "run.log").exists():
                show_log(folder)


async def logged(folder: Path, text: str) -> None:
    while text not in (folder / "run.log").read_text(errors="replace"):
        await asyncio.sleep(0.05)


async def until(predicate: Callable[[], bool]) -> None:
    while not predicate():
        await asyncio.sleep(0.05)


def videos_in(call: Call) -> list[str]:
    return [value.name for value in call.params.values() if isinstance(value, FileInfo)]


def finals(fake: FakeTelegramAPI) -> int:
    return sum(videos_in(c) == ["final.mp4"] for c in fake.calls_of("editMessageMedia"))


async def test_a_standby_takes_the_bot_over_when_the_first_process_is_killed(tmp_path) -> None:
    with fresh_schema() as url:
        async with FakeTelegramAPI() as fake, serving_and_standby(tmp_path, fake, url) as pair:
            fake.push_update(fake.message_update(1, 77, 77, STORY, username="reader"))
            await asyncio.wait_for(until(lambda: finals(fake) == 1), timeout=180)
            await pair.kill_the_serving_one()
            fake.push_update(fake.message_update(2, 78, 78, STORY, username="other"))
            await asyncio.wait_for(until(lambda: finals(fake) == 2), timeout=180)

    assert pair.standing_by.returncode == 0
    first_log, second_log = pair.log(pair.first), pair.log(pair.second)
    assert "accepted for telegram:77" in first_log and "telegram:78" not in first_log
    assert "accepted for telegram:78" in second_log and "accepted for telegram:77" not in second_log
    assert "Conflict" not in first_log + second_log  # never two pollers at once
    assert "must-not-leak" not in first_log + second_log


async def test_a_job_whose_process_was_killed_mid_delivery_ends_in_its_own_message(
    tmp_path,
) -> None:
    """The first process is SIGKILLed while its preview upload is in flight; the standby
    takes the bot and the job over, delivers into the same message, and charges once."""
    with fresh_schema() as url:
        async with FakeTelegramAPI() as fake:
            uploads = fake.hold("editMessageMedia")  # the first process dies uploading
            async with serving_and_standby(tmp_path, fake, url) as pair:
                fake.push_update(fake.message_update(1, 77, 77, STORY, username="reader"))
                await asyncio.wait_for(
                    until(lambda: bool(fake.calls_of("editMessageMedia"))), timeout=180
                )
                await pair.kill_the_serving_one()
                uploads.set()
                await asyncio.wait_for(until(lambda: finals(fake) == 1), timeout=180)
                books = await open_backend(url)
                try:
                    while await books.fetch("SELECT state, charge FROM jobs") != [
                        ("delivered", "committed")
                    ]:
                        await asyncio.sleep(0.05)
                finally:
                    await books.close()

    assert pair.standing_by.returncode == 0
    [message] = fake.calls_of("sendMessage")  # the one message the job shows itself in
    edits = fake.calls_of("editMessageMedia")
    assert {(c.params["chat_id"], c.params["message_id"]) for c in edits} == {("77", "2")}
    assert message.params["chat_id"] == "77" and not fake.calls_of("sendVideo")
    # The dead process got as far as the preview; the standby showed it again from the
    # job's files and brought the one final.
    names = [videos_in(c) for c in edits]
    assert names[0] == ["preview.mp4"] and names[-1] == ["final.mp4"]
    assert names.count(["final.mp4"]) == 1
    assert "accepted for telegram:77" in pair.log(pair.first)
    assert "resumed" in pair.log(pair.second) and "Conflict" not in pair.log(pair.second)


async def test_a_process_that_lost_its_hold_stops_and_the_standby_serves_alone(
    tmp_path,
) -> None:
    """The server drops the serving process's hold (its connection ended by the server, as in
    a restart or a failover) while the process lives on: the standby takes the bot, and the
    first process, finding it so, stops at once (exit code 1) rather than poll beside it.

    Whoever reaches the server first after the drop holds the bot: the first process takes
    its hold again when it next checks it, and then rightly goes on serving. So that the
    standby is first, the first process checks every 2 s against the standby's 0.1 s; with
    both at 0.1 s the outcome was their phase, which any change to start-up could flip."""
    with fresh_schema() as url:
        async with (
            FakeTelegramAPI() as fake,
            serving_and_standby(tmp_path, fake, url, serving_poll_s="2") as pair,
        ):
            books = await open_backend(url)
            try:
                await books.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND classid = ? AND granted",
                    (Lock.BOT,),
                )
            finally:
                await books.close()
            await asyncio.wait_for(logged(pair.second, "taking the bot over"), timeout=60)
            code = await asyncio.wait_for(pair.serving.wait(), timeout=60)
            fake.push_update(fake.message_update(1, 77, 77, STORY, username="reader"))
            await asyncio.wait_for(until(lambda: finals(fake) == 1), timeout=180)

    assert code == 1
    assert "another process serves this bot now" in pair.log(pair.first)
    assert "accepted for telegram:77" in pair.log(pair.second)
    assert "accepted for telegram:77" not in pair.log(pair.first)
