"""`dreambot run` as an operator starts it: a real process talking to the fake platforms."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.run import run
from bot.settings import Settings
from engine.storage import open_backend
from tests.fakes.discord_api import FakeDiscordAPI
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.postgres import fresh_schema
from tests.runs import free_port, run_environment, start_run, telegram_final_sent

STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."


async def one_telegram_story(tmp_path: Path, **environment: str) -> FakeTelegramAPI:
    """`dreambot run` serving one story to the fake Telegram until its final, then SIGTERM;
    the run must exit 0 and leak no secret into its log."""
    async with FakeTelegramAPI() as fake:
        process = await start_run(tmp_path, run_environment(tmp_path, telegram=fake, **environment))
        fake.push_update(fake.message_update(1, 77, 77, STORY, username="reader"))
        try:
            await asyncio.wait_for(telegram_final(fake), timeout=180)
        finally:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), timeout=60)
            show_log(tmp_path)

    output = (tmp_path / "run.log").read_text()
    assert code == 0, output
    assert "must-not-leak" not in output
    return fake


async def test_run_polls_telegram_makes_the_video_and_stops_on_sigterm(tmp_path) -> None:
    fake = await one_telegram_story(tmp_path)
    assert fake.calls_of("sendMessage")[0].params["text"].startswith("🌙")


def show_log(tmp_path: Path) -> None:
    """The process's log, which pytest shows only when the test fails."""
    print((tmp_path / "run.log").read_text(errors="replace")[-6000:])


def delivered_jobs(metrics_text: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "dreambot_jobs_total" and sample.labels == {"outcome": "delivered"}:
                return sample.value
    return 0.0


def jobs_in(database: Path) -> list[tuple[str, str, str]]:
    """(platform, state, charge) of every job, after checking the file's integrity."""
    db = sqlite3.connect(database)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = db.execute("SELECT user_key, state, charge FROM jobs ORDER BY user_key").fetchall()
    finally:
        db.close()
    return [(user.split(":")[0], state, charge) for user, state, charge in rows]


def discord_final(discord_api: FakeDiscordAPI, payload: dict[str, Any]) -> bool:
    """Whether the interaction's original response now carries the final video."""
    try:
        original = discord_api.original(payload)
    except LookupError:
        return False
    return [a.filename for a in original.attachments] == ["dream.mp4"]


async def telegram_final(telegram: FakeTelegramAPI) -> None:
    while not telegram_final_sent(telegram):
        await asyncio.sleep(0.05)


async def test_run_serves_both_bots_on_one_engine_and_stops_cleanly(tmp_path) -> None:
    """Both bots in one process: a story from each, both finals, metrics, SIGTERM, the DB."""
    port = free_port()
    async with FakeTelegramAPI() as telegram, FakeDiscordAPI() as discord_api:
        environment = run_environment(
            tmp_path, telegram=telegram, discord_api=discord_api, DREAMBOT_METRICS_PORT=str(port)
        )
        process = await start_run(tmp_path, environment)
        try:
            telegram.push_update(telegram.message_update(1, 77, 77, STORY, username="reader"))
            await discord_api.wait_connected(timeout=60)
            payload = discord_api.command_payload("dream", {"story": STORY})
            await discord_api.send_interaction(payload)

            await discord_api.wait_until(lambda: discord_final(discord_api, payload), timeout=180)

            await asyncio.wait_for(telegram_final(telegram), timeout=180)

            async def both_settled() -> str:
                async with httpx.AsyncClient() as client:
                    while True:
                        scraped = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                        if delivered_jobs(scraped) == 2:
                            return scraped
                        await asyncio.sleep(0.05)

            metrics = await asyncio.wait_for(both_settled(), timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), timeout=60)
            show_log(tmp_path)
        assert discord_api.ready_connections == []  # the gateway was closed on the way out

    output = (tmp_path / "run.log").read_text()
    assert code == 0, output
    assert "must-not-leak" not in output
    assert "dreambot_stage_seconds_bucket{" in metrics
    assert 'stage="merge"' in metrics
    # The last connection closed cleanly: SQLite checkpointed the WAL into the file.
    assert not (tmp_path / "db.sqlite3-wal").exists()
    assert jobs_in(tmp_path / "db.sqlite3") == [
        ("discord", "delivered", "committed"),
        ("telegram", "delivered", "committed"),
    ]


async def test_run_on_postgresql_keeps_the_books_on_the_server(tmp_path) -> None:
    """DREAMBOT_DATABASE_URL: the job is admitted, run and charged on the server, no SQLite
    file is made, and the URL's password is in no line of the log."""
    with fresh_schema() as url:
        # The test cluster trusts loopback logins: any password is accepted, and must not leak.
        url = url.replace("postgresql://postgres@", "postgresql://postgres:must-not-leak-pw@", 1)
        await one_telegram_story(tmp_path, DREAMBOT_DATABASE_URL=url)
        books = await open_backend(url)
        try:
            rows = await books.fetch("SELECT user_key, state, charge FROM jobs")
        finally:
            await books.close()

    assert rows == [("telegram:77", "delivered", "committed")]
    assert not (tmp_path / "db.sqlite3").exists()


async def test_sigterm_refuses_new_stories_and_lets_the_running_job_finish(tmp_path) -> None:
    async with FakeTelegramAPI() as telegram, FakeDiscordAPI() as discord_api:
        # Video uploads wait for the test, so the job is surely running at SIGTERM.
        uploads = telegram.hold("editMessageMedia")
        environment = run_environment(
            tmp_path, telegram=telegram, discord_api=discord_api, DREAMBOT_SHUTDOWN_GRACE_S="120"
        )
        process = await start_run(tmp_path, environment)
        log = tmp_path / "run.log"
        try:
            telegram.push_update(telegram.message_update(1, 77, 77, STORY, username="reader"))
            await discord_api.wait_connected(timeout=60)

            async def logged(text: str) -> None:
                while text not in log.read_text():
                    await asyncio.sleep(0.05)

            async def uploading() -> None:
                while not telegram.calls_of("editMessageMedia"):
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(uploading(), timeout=120)
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(logged("waiting up to 120 s for 1 running jobs"), timeout=30)

            payload = discord_api.command_payload("dream", {"story": STORY})
            await discord_api.send_interaction(payload)
            await discord_api.wait_until(
                # Known before the defer: the interaction's ephemeral initial response.
                lambda: any("restarting" in str(c.body) for c in discord_api.calls_to("callback")),
                timeout=30,
            )
            assert process.returncode is None, "the running job holds the process open"
            uploads.set()
            await asyncio.wait_for(telegram_final(telegram), timeout=120)
            code = await asyncio.wait_for(process.wait(), timeout=60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            show_log(tmp_path)

    assert code == 0, log.read_text()
    assert "0 running jobs will resume" in log.read_text()
    # The Telegram job was delivered and charged; the Discord story was refused, uncharged.
    assert jobs_in(tmp_path / "db.sqlite3") == [("telegram", "delivered", "committed")]


async def test_a_taken_metrics_port_is_a_clear_start_up_error(tmp_path, capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = Settings(
            TELEGRAM_TOKEN="123456:TEST-token",  # noqa: S106 - a fake token
            metrics_port=taken.getsockname()[1],
            db=tmp_path / "db.sqlite3",
            work_dir=tmp_path / "work",
        )
        assert await run(settings) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"dreambot: cannot serve metrics on port {settings.metrics_port}")
    assert not (tmp_path / "db.sqlite3").exists()  # nothing was started


async def test_a_left_webhook_is_deleted_and_a_second_poller_is_named_plainly(tmp_path) -> None:
    async with FakeTelegramAPI() as fake:
        fake.webhook_url = "https://old.example/hook"  # set by an earlier deployment
        fake.push_update(fake.message_update(1, 77, 77, STORY, username="reader"))  # waiting
        fake.fail("getUpdates", "409", times=2)  # and another poller, for a moment
        process = await start_run(tmp_path, run_environment(tmp_path, telegram=fake))
        try:
            await asyncio.wait_for(telegram_final(fake), timeout=180)
        finally:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), timeout=60)
            show_log(tmp_path)

    output = (tmp_path / "run.log").read_text()
    assert code == 0, output
    methods = [call.method for call in fake.calls]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    # The stories sent meanwhile are kept: aiogram sends the flag as form text.
    assert fake.calls_of("deleteWebhook")[0].params.get("drop_pending_updates") in (None, "false")
    assert output.count("another process is taking this bot's updates") == 1
    # The "/" menu in every catalog's language, and English for everyone else.
    assert set(fake.commands) == {"", "es", "pt", "fr", "de", "ru", "ar", "hi", "id", "ja"}
    assert [c["command"] for c in fake.commands[""]] == [
        "dream",
        "quota",
        "cancel",
        "settings",
        "mydreams",
        "help",
    ]


async def test_a_bot_api_down_at_start_up_leaves_discord_serving(tmp_path) -> None:
    async with FakeTelegramAPI() as telegram, FakeDiscordAPI() as discord_api:
        telegram.fail("getMe", "502", times=3)  # down for the first three attempts
        environment = run_environment(tmp_path, telegram=telegram, discord_api=discord_api)
        process = await start_run(tmp_path, environment)
        try:
            await discord_api.wait_connected(timeout=60)
            payload = discord_api.command_payload("dream", {"story": STORY})
            await discord_api.send_interaction(payload)

            await discord_api.wait_until(lambda: discord_final(discord_api, payload), timeout=180)
            assert process.returncode is None  # the Bot API's outage ended nothing
            telegram.push_update(telegram.message_update(1, 77, 77, STORY, username="reader"))
            await asyncio.wait_for(telegram_final(telegram), timeout=180)  # once it is back
        finally:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), timeout=60)
            show_log(tmp_path)

    output = (tmp_path / "run.log").read_text()
    assert code == 0, output
    assert "telegram: could not start (TelegramServerError" in output
    assert len(telegram.calls_of("getMe")) >= 4


@pytest.mark.parametrize("token", ["not-a-token", "42:revoked-token"])
async def test_tokens_every_platform_refuses_end_the_run_with_a_clear_error(
    tmp_path, token
) -> None:
    async with FakeTelegramAPI() as telegram:
        telegram.revoked_tokens.add("42:revoked-token")
        environment = run_environment(tmp_path, telegram=telegram, TELEGRAM_TOKEN=token)
        process = await start_run(tmp_path, environment)
        code = await asyncio.wait_for(process.wait(), timeout=60)

    output = (tmp_path / "run.log").read_text()
    assert code == 2, output
    assert "Traceback" not in output
    assert "telegram stays off" in output
    assert output.rstrip().endswith("dreambot: every platform refused its bot token; see the log")


async def test_webhook_mode_serves_a_story_over_aiohttp_and_refuses_a_wrong_secret(
    tmp_path,
) -> None:
    port = free_port()
    async with FakeTelegramAPI() as fake:
        environment = run_environment(
            tmp_path,
            telegram=fake,
            DREAMBOT_TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram-hook",
            DREAMBOT_TELEGRAM_WEBHOOK_PORT=str(port),
        )
        process = await start_run(tmp_path, environment)
        try:

            async def webhook_set() -> None:
                while not fake.webhook_url:
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(webhook_set(), timeout=60)
            stranger = fake.message_update(1, 66, 66, STORY, username="stranger")
            assert await fake.post_update_with_secret(stranger, "guessed") == 401
            fake.push_update(fake.message_update(2, 77, 77, STORY, username="reader"))
            await asyncio.wait_for(telegram_final(fake), timeout=180)
        finally:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), timeout=60)
            show_log(tmp_path)

    output = (tmp_path / "run.log").read_text()
    assert code == 0, output
    assert fake.calls_of("getUpdates") == []  # updates came by webhook only
    assert fake.webhook_deliveries == [200]
    assert len(fake.webhook_secret) >= 32  # a fresh secret, and never logged
    assert fake.webhook_secret not in output
    assert fake.calls_of("sendMessage")[0].params["chat_id"] == "77"  # not the stranger's
