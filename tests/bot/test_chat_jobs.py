"""The shared job flow with both adapters on one engine, as `dreambot run` wires them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.types import Update

import bot
from bot.chat_jobs import Ask, ChatJobs
from bot.discord_app import DiscordApp, DiscordOptions
from bot.telegram_app import TelegramApp, TelegramOptions
from engine import Engine, EngineConfig, Providers
from engine.books import Books
from engine.media.ffmpeg import FFmpeg
from engine.storage import Storage
from engine.storage.ledger import QuotaPolicy
from tests.fakes import discord_payloads as dp
from tests.fakes.discord_api import FakeDiscordAPI, deliver
from tests.fakes.providers import FakeMedia, FakeProviders
from tests.fakes.telegram_api import FakeTelegramAPI

STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."
READER = 77
BOT = Path(bot.__file__).parent


@dataclass
class Process:
    """One `dreambot run`: an engine, the shared flow, and both bots on it."""

    jobs: ChatJobs
    telegram: TelegramApp
    discord: DiscordApp
    bot: Bot


@pytest.fixture
async def platforms(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> AsyncIterator[tuple[FakeTelegramAPI, FakeDiscordAPI, Storage]]:
    async with FakeTelegramAPI() as telegram, FakeDiscordAPI() as discord_api:
        discord_api.install(monkeypatch)
        storage = await Storage.open(tmp_path / "db.sqlite3", QuotaPolicy(daily_quota=5))
        yield telegram, discord_api, storage
        await storage.close()


async def start_process(
    telegram: FakeTelegramAPI,
    storage: Storage,
    providers: FakeProviders,
    config: EngineConfig,
    ffmpeg: FFmpeg,
) -> Process:
    engine = Engine(
        config, Providers(*[providers] * 5), ffmpeg, books=Books(storage), use_cache=True
    )
    jobs = ChatJobs(engine)
    bot = telegram.bot()
    options = TelegramOptions(frozenset(), None, 50 * 2**20)
    discord_app = DiscordApp(jobs, ffmpeg, DiscordOptions(frozenset(), sync_commands=False))
    await discord_app.client.login("fake-discord-token")
    return Process(jobs, TelegramApp(bot, jobs, ffmpeg, options), discord_app, bot)


def still_running_in_bot() -> list[asyncio.Task[object]]:
    """Tasks whose coroutine is code of ours (not of the fakes or the libraries)."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done()
        and task is not asyncio.current_task()
        and (code := getattr(task.get_coro(), "cr_code", None)) is not None
        and Path(code.co_filename).is_relative_to(BOT)
    ]


async def stop_process(process: Process) -> None:
    await process.jobs.close()
    await process.discord.close()
    await process.bot.session.close()


async def test_one_resume_continues_each_job_on_its_own_platform(
    platforms: tuple[FakeTelegramAPI, FakeDiscordAPI, Storage],
    config: EngineConfig,
    ffmpeg: FFmpeg,
    media: FakeMedia,
) -> None:
    telegram, discord_api, storage = platforms
    scripts, both_started = 0, asyncio.Event()

    async def hold(role: str, scene: int | None) -> None:
        nonlocal scripts
        if role == "script":  # after the acknowledgement, so both messages exist
            scripts += 1
            if scripts == 2:
                both_started.set()
            await asyncio.Event().wait()

    first = await start_process(telegram, storage, FakeProviders(media, hook=hold), config, ffmpeg)
    update = telegram.message_update(1, READER, READER, STORY, username="reader")
    await first.telegram.dispatcher.feed_update(
        first.bot, Update.model_validate(update, context={"bot": first.bot})
    )
    await deliver(
        first.discord.client,
        discord_api.command_payload("dream", {"story": STORY}, channel_id=dp.CHANNEL_ID),
    )
    await asyncio.wait_for(both_started.wait(), timeout=30)
    await first.jobs.close()  # the process goes away; both jobs stay unfinished
    assert still_running_in_bot() == []  # not even a progress sender outlives its job
    await stop_process(first)

    second = await start_process(telegram, storage, FakeProviders(media), config, ffmpeg)
    try:
        platforms_in_order = [second.telegram.surfaces, second.discord.surfaces]
        assert await second.jobs.resume(platforms_in_order) == 2
        await second.jobs.drain()
    finally:
        await stop_process(second)

    telegram_final = telegram.chat_calls(READER)[-1]
    assert telegram_final.method == "editMessageMedia"
    assert "3 scenes" in telegram_final.params["media"]["caption"]
    discord_finals = discord_api.calls_to("edit_channel_message")
    assert discord_finals and [f.filename for f in discord_finals[-1].files] == ["dream.mp4"]
    rows = await storage.db.fetch("SELECT user_key, state FROM jobs ORDER BY user_key")
    assert rows == [(f"discord:{dp.USER_ID}", "delivered"), (f"telegram:{READER}", "delivered")]


class GoneChat:
    """A chat that is gone by the time its job would show itself, with the books gone
    too: the job cannot even be given back."""

    says_every_refusal = True

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def refuse(self, notice: object) -> None:
        raise AssertionError("admitted, not refused")

    async def open_surface(self, job_id: str, remember: object) -> object:
        await self.storage.close()
        raise RuntimeError("Forbidden: bot was blocked by the user")


async def test_a_job_that_cannot_be_given_back_raises_the_chats_error(
    tmp_path, config: EngineConfig, ffmpeg: FFmpeg, media: FakeMedia, caplog
) -> None:
    storage = await Storage.open(tmp_path / "db.sqlite3", QuotaPolicy(daily_quota=5))
    providers = FakeProviders(media)
    engine = Engine(config, Providers(*[providers] * 5), ffmpeg, books=Books(storage))
    jobs = ChatJobs(engine)
    with pytest.raises(RuntimeError, match="blocked by the user"):
        await jobs.start(Ask(STORY, "telegram:1"), GoneChat(storage))  # type: ignore[arg-type]
    assert "could not be given back" in caplog.text
