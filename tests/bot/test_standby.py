"""A standby: a second `dreambot run` with the same bot token on the same PostgreSQL waits,
and takes the bot over when the first process dies (SIGKILL: no goodbye, no cleanup)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from engine.storage import open_backend
from tests.bot.test_run import STORY, show_log
from tests.fakes.telegram_api import Call, FakeTelegramAPI, FileInfo
from tests.postgres import fresh_schema
from tests.runs import run_environment, start_run


async def logged(folder: Path, text: str) -> None:
    while text not in (folder / "run.log").read_text(errors="replace"):
        await asyncio.sleep(0.05)


def videos_in(call: Call) -> list[str]:
    return [value.name for value in call.params.values() if isinstance(value, FileInfo)]


def finals(fake: FakeTelegramAPI) -> int:
    return sum("scenes" in str(c.params) for c in fake.calls_of("editMessageMedia"))


async def test_a_standby_takes_the_bot_over_when_the_first_process_is_killed(tmp_path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    with fresh_schema() as url:
        async with FakeTelegramAPI() as fake:

            def environment(folder: Path) -> dict[str, str]:
                return run_environment(
                    folder, telegram=fake, DREAMBOT_DATABASE_URL=url, DREAMBOT_STANDBY_POLL_S="0.1"
                )

            serving = await start_run(first, environment(first))
            standing_by = None
            try:
                await asyncio.wait_for(logged(first, "running: ['TelegramApp']"), timeout=60)
                standing_by = await start_run(second, environment(second))
                await asyncio.wait_for(logged(second, "standing by to take over"), timeout=60)
                fake.push_update(fake.message_update(1, 77, 77, STORY, username="reader"))
                await asyncio.wait_for(_until(lambda: finals(fake) == 1), timeout=180)

                serving.send_signal(signal.SIGKILL)
                await serving.wait()
                await asyncio.wait_for(logged(second, "taking the bot over"), timeout=60)
                fake.push_update(fake.message_update(2, 78, 78, STORY, username="other"))
                await asyncio.wait_for(_until(lambda: finals(fake) == 2), timeout=180)
            finally:
                for process in (serving, standing_by):
                    if process is not None and process.returncode is None:
                        process.send_signal(signal.SIGTERM)
                        await asyncio.wait_for(process.wait(), timeout=60)
                show_log(first)
                show_log(second)

    assert standing_by.returncode == 0
    first_log = (first / "run.log").read_text()
    second_log = (second / "run.log").read_text()
    assert "accepted for telegram:77" in first_log and "telegram:78" not in first_log
    assert "accepted for telegram:78" in second_log and "accepted for telegram:77" not in second_log
    assert "Conflict" not in first_log + second_log  # never two pollers at once
    assert "must-not-leak" not in first_log + second_log


async def _until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0.05)


async def test_a_job_whose_process_was_killed_mid_delivery_ends_in_its_own_message(
    tmp_path,
) -> None:
    """The first process is SIGKILLed while its final upload is in flight; the standby takes
    the bot and the job over, delivers into the same message, and the job is charged once."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    with fresh_schema() as url:
        async with FakeTelegramAPI() as fake:
            uploads = fake.hold("editMessageMedia")  # the first process dies uploading

            def environment(folder: Path) -> dict[str, str]:
                return run_environment(
                    folder, telegram=fake, DREAMBOT_DATABASE_URL=url, DREAMBOT_STANDBY_POLL_S="0.1"
                )

            serving = await start_run(first, environment(first))
            standing_by = None
            try:
                await asyncio.wait_for(logged(first, "running: ['TelegramApp']"), timeout=60)
                standing_by = await start_run(second, environment(second))
                await asyncio.wait_for(logged(second, "standing by to take over"), timeout=60)
                fake.push_update(fake.message_update(1, 77, 77, STORY, username="reader"))
                await asyncio.wait_for(
                    _until(lambda: bool(fake.calls_of("editMessageMedia"))), timeout=180
                )
                serving.send_signal(signal.SIGKILL)
                await serving.wait()
                uploads.set()
                await asyncio.wait_for(logged(second, "taking the bot over"), timeout=60)
                await asyncio.wait_for(
                    _until(
                        lambda: ["final.mp4"] in map(videos_in, fake.calls_of("editMessageMedia"))
                    ),
                    timeout=180,
                )
                books = await open_backend(url)
                try:
                    while await books.fetch("SELECT state, charge FROM jobs") != [
                        ("delivered", "committed")
                    ]:
                        await asyncio.sleep(0.05)
                finally:
                    await books.close()
            finally:
                for process in (serving, standing_by):
                    if process is not None and process.returncode is None:
                        process.send_signal(signal.SIGTERM)
                        await asyncio.wait_for(process.wait(), timeout=60)
                show_log(first)
                show_log(second)

    assert standing_by.returncode == 0
    # Every final upload, the dead process's and the standby's, went into the one message
    # the job showed itself in: the person sees one video, not two.
    [message] = fake.calls_of("sendMessage")  # the one message the job shows itself in
    edits = fake.calls_of("editMessageMedia")
    assert {(c.params["chat_id"], c.params["message_id"]) for c in edits} == {("77", "2")}
    assert message.params["chat_id"] == "77" and not fake.calls_of("sendVideo")
    # The dead process got as far as the preview; the standby showed it again from the
    # job's files and brought the one final.
    names = [videos_in(c) for c in edits]
    assert names[0] == ["preview.mp4"] and names[-1] == ["final.mp4"]
    assert names.count(["final.mp4"]) == 1
    assert "accepted for telegram:77" in (first / "run.log").read_text()
    second_log = (second / "run.log").read_text()
    assert "resumed" in second_log and "Conflict" not in second_log
