"""``dreambot run``: every chat bot whose token is set, on one engine and one database."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sys
from datetime import timedelta

import discord
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.utils.token import TokenValidationError

from bot.chat_jobs import ChatJobs, Rebuilder
from bot.discord_app import DiscordApp, DiscordOptions, use_endpoints
from bot.metrics import MetricsServer, PrometheusTelemetry
from bot.platform_start import keep_starting
from bot.providers import build_providers
from bot.settings import NO_BOT, TELEGRAM_PUBLIC_API, Settings
from bot.telegram_app import TelegramApp, TelegramOptions
from bot.telegram_app.defaults import BOT_DEFAULTS
from bot.telegram_app.webhook import WebhookOptions
from bot.warm import get_ready
from engine import Books, Engine, Retention, UsageError
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.telemetry import Telemetry

log = logging.getLogger(__name__)


def telegram_bot(settings: Settings, token: str) -> Bot:
    """A Bot on the public Bot API, or on the server TELEGRAM_API_BASE names."""
    if settings.telegram_api_base.rstrip("/") == TELEGRAM_PUBLIC_API:
        return Bot(token, default=BOT_DEFAULTS)
    server = TelegramAPIServer.from_base(settings.telegram_api_base, is_local=True)
    return Bot(token, session=AiohttpSession(api=server), default=BOT_DEFAULTS)


async def run(settings: Settings, books: Books | None = None) -> int:
    """Run every bot whose token is set until SIGTERM/SIGINT; 2 when there is none.

    ``books`` is the database already opened by the caller, who closes it; without it the
    database is opened (and closed) here.
    """
    if not settings.has_bot:
        print(NO_BOT, file=sys.stderr)
        return 2
    config = settings.engine_config()
    ffmpeg = FFmpeg(
        locate_ffmpeg(), max_procs=config.limits.ffmpeg, timeout_s=config.limits.ffmpeg_timeout_s
    )
    async with contextlib.AsyncExitStack() as stack:
        try:
            built = build_providers(settings, ffmpeg, config.render)
            stack.push_async_callback(built.close)
            telemetry = serve_metrics(settings, stack)
        except (UsageError, OSError) as exc:
            print(f"dreambot: {exc}", file=sys.stderr)
            return 2
        if books is None:
            books = await Books.open(settings.db, settings.quota_policy())
            stack.push_async_callback(books.close)
        retention = Retention(
            keep=timedelta(hours=settings.media_retention_h),
            budget_bytes=settings.disk_budget_mb * 2**20,
        )
        engine = Engine(
            config, built.providers, ffmpeg, books=books, use_cache=True, retention=retention,
            estimate_cost=built.estimate_cost, telemetry=telemetry,
        )  # fmt: skip
        served = await _serve(settings, engine, ffmpeg, built.choice)
    if not served:
        print("dreambot: every platform refused its bot token; see the log", file=sys.stderr)
        return 2
    return 0


def serve_metrics(settings: Settings, stack: contextlib.AsyncExitStack) -> Telemetry | None:
    """Start the Prometheus endpoint when DREAMBOT_METRICS_PORT is set (OSError if taken)."""
    if settings.metrics_port is None:
        return None
    telemetry = PrometheusTelemetry()
    try:
        server = MetricsServer(telemetry.registry, settings.metrics_addr, settings.metrics_port)
    except OSError as exc:
        raise OSError(f"cannot serve metrics on port {settings.metrics_port}: {exc}") from exc
    stack.callback(server.close)
    log.info("metrics on http://%s:%d/metrics", settings.metrics_addr, server.port)
    return telemetry


async def _serve(
    settings: Settings,
    engine: Engine,
    ffmpeg: FFmpeg,
    choice: dict[str, str],
) -> bool:
    """The bots, resumed jobs and housekeeping until a stop signal; then a graceful stop.

    False when every platform refused its token (nothing could be served).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    telegram = discord_app = None
    jobs = ChatJobs(engine)
    starting: list[asyncio.Task[bool]] = []
    refused: list[bool] = []
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(get_ready(engine), name="warm-up")
            platforms: list[Rebuilder] = []
            bot = _telegram_bot_or_none(settings)
            if bot is not None:
                telegram = TelegramApp(
                    bot, jobs, ffmpeg, telegram_options(settings), telegram_webhook(settings)
                )
                platforms.append(telegram.surfaces)
                starting.append(
                    group.create_task(
                        keep_starting(
                            "telegram", telegram.serve, refused=(TelegramUnauthorizedError,)
                        ),
                        name="telegram",
                    )
                )
            if settings.discord_token is not None:
                use_endpoints(settings.discord_api_base, settings.discord_gateway_url)
                discord_app = DiscordApp(
                    jobs, ffmpeg, DiscordOptions(
                        frozenset(settings.admins), tuple(settings.discord_guild_ids)
                    ),
                )  # fmt: skip
                platforms.append(discord_app.surfaces)
                token = settings.discord_token.get_secret_value()
                starting.append(
                    group.create_task(
                        keep_starting(
                            "discord",
                            functools.partial(discord_app.client.start, token),
                            refused=(discord.LoginFailure,),
                        ),
                        name="discord",
                    )
                )
            adapters = [app for app in (telegram, discord_app) if app is not None]
            group.create_task(_stop_if_all_refused(starting, stop, refused))
            await jobs.resume(platforms)
            if engine.housekeeper is not None:
                group.create_task(engine.housekeeper.run())
            log.info("running: %s; stages: %s", [type(a).__name__ for a in adapters], choice)
            await stop.wait()
            if telegram is not None:
                # No new updates are taken; Telegram keeps them for the next start.
                with contextlib.suppress(RuntimeError):
                    await telegram.dispatcher.stop_polling()
            left = await engine.drain(settings.shutdown_grace_s)
            log.info("stopping: %d running jobs will resume on the next start", left)
            raise _ShutdownError
    except* _ShutdownError:
        pass
    finally:
        await jobs.close()
        if telegram is not None:
            with contextlib.suppress(RuntimeError):
                await telegram.dispatcher.stop_polling()
            await telegram.surfaces.close()
            await telegram.bot.session.close()
        if discord_app is not None:
            await discord_app.close()
    return not refused


def _telegram_bot_or_none(settings: Settings) -> Bot | None:
    """The Telegram bot, or None (said in the log) when there is no well-formed token."""
    if settings.telegram_token is None:
        return None
    try:
        return telegram_bot(settings, settings.telegram_token.get_secret_value())
    except TokenValidationError:
        # The token itself is never logged: only what a token looks like.
        log.error("telegram: TELEGRAM_TOKEN is not a bot token (123456:ABC-…); telegram stays off")
        return None


async def _stop_if_all_refused(
    starting: list[asyncio.Task[bool]], stop: asyncio.Event, refused: list[bool]
) -> None:
    # A platform's task ends only when the platform refused its token (False) or it
    # stopped serving by itself; with none left serving, the process has nothing to do.
    served = await asyncio.gather(*starting)
    if not any(served):
        refused.append(True)
        stop.set()


class _ShutdownError(Exception):
    """Raised inside the task group to stop every bot at once."""


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
