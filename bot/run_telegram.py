"""What ``dreambot run`` needs to start the Telegram bot: imported only when TELEGRAM_TOKEN is set.

aiogram takes seconds to import (most of it building its pydantic models), so a process
serving Discord alone never imports it (issue 16).
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.utils.token import TokenValidationError

from bot.chat_jobs import ChatJobs
from bot.settings import TELEGRAM_PUBLIC_API, Settings
from bot.telegram_app import TelegramApp, TelegramOptions
from bot.telegram_app.defaults import BOT_DEFAULTS
from bot.telegram_app.webhook import WebhookOptions
from engine.media.ffmpeg import FFmpeg

log = logging.getLogger(__name__)

# What Telegram answers a token it will never take: the bot stays off, said once.
REFUSED: tuple[type[BaseException], ...] = (TelegramUnauthorizedError,)


def telegram_app(settings: Settings, jobs: ChatJobs, ffmpeg: FFmpeg) -> TelegramApp | None:
    """The Telegram adapter, or None (said in the log) when there is no well-formed token."""
    bot = _telegram_bot_or_none(settings)
    if bot is None:
        return None
    return TelegramApp(bot, jobs, ffmpeg, telegram_options(settings), telegram_webhook(settings))


def telegram_bot(settings: Settings, token: str) -> Bot:
    """A Bot on the public Bot API, or on the server TELEGRAM_API_BASE names."""
    if settings.telegram_api_base.rstrip("/") == TELEGRAM_PUBLIC_API:
        return Bot(token, default=BOT_DEFAULTS)
    server = TelegramAPIServer.from_base(settings.telegram_api_base, is_local=True)
    return Bot(token, session=AiohttpSession(api=server), default=BOT_DEFAULTS)


def _telegram_bot_or_none(settings: Settings) -> Bot | None:
    if settings.telegram_token is None:
        return None
    try:
        return telegram_bot(settings, settings.telegram_token.get_secret_value())
    except TokenValidationError:
        # The token itself is never logged: only what a token looks like.
        log.error("telegram: TELEGRAM_TOKEN is not a bot token (123456:ABC-…); telegram stays off")
        return None


def telegram_webhook(settings: Settings) -> WebhookOptions | None:
    """Webhook mode's options, or None to poll."""
    if settings.telegram_webhook_url is None:
        return None
    secret = settings.telegram_webhook_secret
    return WebhookOptions(
        settings.telegram_webhook_url,
        settings.telegram_webhook_host,
        settings.telegram_webhook_port,
        secret.get_secret_value() if secret is not None else "",
    )


def telegram_options(settings: Settings) -> TelegramOptions:
    """The Telegram adapter's options from the settings."""
    return TelegramOptions(
        admins=frozenset(settings.admins),
        gallery_chat=settings.telegram_gallery_chat,
        upload_limit_bytes=settings.telegram_upload_limit_bytes,
        delivery=settings.telegram_delivery(),
    )
