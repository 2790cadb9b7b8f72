"""``dreambot run``: the chat bots, on one engine and one database."""

from __future__ import annotations

import logging
import sys

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.providers import ProviderSettingsError, build_providers
from bot.settings import TELEGRAM_PUBLIC_API, Settings
from bot.telegram_app import TelegramApp
from bot.telegram_app.app import TelegramOptions
from engine import Engine
from engine.cache import MediaCache
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.storage import Storage

log = logging.getLogger(__name__)

NO_BOT = (
    "dreambot: no chat bot to run. Set TELEGRAM_TOKEN (from @BotFather) to start the "
    'Telegram bot.\nTo try the engine without a bot: dreambot dream "A short story…"'
)


def telegram_bot(settings: Settings, token: str) -> Bot:
    """A Bot on the public Bot API, or on the server TELEGRAM_API_BASE names."""
    if settings.telegram_api_base.rstrip("/") == TELEGRAM_PUBLIC_API:
        return Bot(token)
    server = TelegramAPIServer.from_base(settings.telegram_api_base, is_local=True)
    return Bot(token, session=AiohttpSession(api=server))


async def run(settings: Settings) -> int:
    """Run every bot whose token is set until stopped; 2 when there is none."""
    if settings.telegram_token is None:
        print(NO_BOT, file=sys.stderr)
        return 2
    config = settings.engine_config()
    ffmpeg = FFmpeg(
        locate_ffmpeg(), max_procs=config.limits.ffmpeg, timeout_s=config.timeouts.ffmpeg
    )
    try:
        built = build_providers(settings, ffmpeg, config.render)
    except ProviderSettingsError as exc:
        print(f"dreambot: {exc}", file=sys.stderr)
        return 2
    storage = await Storage.open(settings.db, settings.quota_policy())
    cache = MediaCache(config.work_dir / "cache", storage.db)
    engine = Engine(
        config, built.providers, ffmpeg, storage=storage, cache=cache,
        estimate_cost=built.estimate_cost,
    )  # fmt: skip
    bot = telegram_bot(settings, settings.telegram_token.get_secret_value())
    options = TelegramOptions(
        admins=frozenset(settings.admins),
        gallery_chat=settings.telegram_gallery_chat,
        upload_limit_bytes=settings.telegram_upload_limit_bytes,
    )
    app = TelegramApp(bot, engine, ffmpeg, options)
    try:
        await app.resume()
        log.info("telegram: polling for updates (stages: %s)", built.choice)
        await app.dispatcher.start_polling(bot, handle_signals=True)
    finally:
        await app.close()
        await bot.session.close()
        await built.close()
        await storage.close()
    return 0
