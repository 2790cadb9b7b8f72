"""``dreambot run``: every chat bot whose token is set, on one engine and one database."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.chat_jobs import ChatJobs, Rebuilder
from bot.metrics import MetricsServer, PrometheusTelemetry
from bot.platform_start import keep_starting, once_held
from bot.providers import build_providers
from bot.settings import NO_BOT, ProcessRole, Settings
from bot.warm import get_ready
from engine import Books, Engine, Retention, UsageError
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.telemetry import Telemetry

if TYPE_CHECKING:
    # Each platform's modules (and its library) are imported where it is started, only
    # when its token is set: aiogram alone takes seconds (issue 16).
    from bot.discord_app import DiscordApp
    from bot.telegram_app import TelegramApp
    from engine.dispatch import Dispatch, RemoteJobs

log = logging.getLogger(__name__)


async def run(
    settings: Settings, books: Books | None = None, role: ProcessRole = ProcessRole.ALL
) -> int:
    """Run every bot whose token is set until SIGTERM/SIGINT; 2 when there is none.

    ``books`` is the database already opened by the caller, who closes it; without it the
    database is opened (and closed) here. As an adapter, the jobs are queued for workers
    and their progress is followed from the database.
    """
    if not settings.has_bot:
        print(NO_BOT, file=sys.stderr)
        return 2
    async with contextlib.AsyncExitStack() as stack:
        try:
            built = await build_engine(settings, books, stack, role)
        except (UsageError, OSError) as exc:
            print(f"dreambot: {exc}", file=sys.stderr)
            return 2
        remote = None
        if built.dispatch is not None:
            from engine.dispatch import RemoteJobs

            remote = RemoteJobs(
                built.engine, built.dispatch, built.url, poll_s=settings.standby_poll_s
            )
        served = await _serve(settings, built.engine, built.ffmpeg, built.choice, remote)
    if served is None:
        print("dreambot: another process serves this bot now; see the log", file=sys.stderr)
        return 1  # not a clean stop: a supervisor starts it again, as a standby
    if not served:
        print("dreambot: every platform refused its bot token; see the log", file=sys.stderr)
        return 2
    return 0


@dataclass
class Built:
    """An engine made from the settings, with what was made for it."""

    engine: Engine
    ffmpeg: FFmpeg
    choice: dict[str, str]
    dispatch: Dispatch | None
    url: str


async def build_engine(
    settings: Settings, books: Books | None, stack: contextlib.AsyncExitStack, role: ProcessRole
) -> Built:
    """The engine of a `dreambot run` process, closed with ``stack`` (UsageError, OSError).

    An adapter's engine queues each job it admits (``engine.dispatch``) instead of running
    it; a worker's runs what the queue gives it.
    """
    config = settings.engine_config()
    ffmpeg = FFmpeg(
        locate_ffmpeg(), max_procs=config.limits.ffmpeg, timeout_s=config.limits.ffmpeg_timeout_s
    )
    built = build_providers(settings, ffmpeg, config.render)
    stack.push_async_callback(built.close)
    telemetry = serve_metrics(settings, stack)
    if books is None:
        books = await Books.open(settings.database(), settings.quota_policy())
        stack.push_async_callback(books.close)
    url = settings.database_url.get_secret_value() if settings.database_url else ""
    dispatch = None
    if role is not ProcessRole.ALL:
        from engine.dispatch import open_dispatch

        dispatch = await open_dispatch(url, books)
        stack.push_async_callback(dispatch.close)
    retention = Retention(
        keep=timedelta(hours=settings.media_retention_h),
        budget_bytes=settings.disk_budget_mb * 2**20,
    )
    engine = Engine(
        config, built.providers, ffmpeg, books=books, use_cache=True, retention=retention,
        estimate_cost=built.estimate_cost, telemetry=telemetry,
        enqueue=dispatch.defer_in if role is ProcessRole.ADAPTER and dispatch else None,
    )  # fmt: skip
    return Built(engine, ffmpeg, built.choice, dispatch, url)


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
    remote: RemoteJobs | None = None,
) -> bool | None:
    """The bots, resumed jobs and housekeeping until a stop signal; then a graceful stop.

    False when every platform refused its token (nothing could be served); None when
    another process took a bot over (this one's hold on it was lost with its database
    connection), which ends this one at once.
    """
    stop = asyncio.Event()
    jobs = ChatJobs(engine, remote=remote)
    platforms: list[Rebuilder] = []

    held: dict[str, str] = {}  # the bots this process serves: their hold's key, their name
    lost: list[str] = []

    async def watch_holds() -> None:
        # A server restart or a network split drops this process's holds with its
        # connection, and a standby may take the bot meanwhile: then only one may serve.
        while not lost:
            await asyncio.sleep(settings.standby_poll_s)
            try:
                gone = await engine.books.bots_lost(list(held))
            except Exception as exc:  # the server away for now: asked again next time
                log.warning("cannot check this process's hold on its bots: %s", exc)
                continue
            for key in gone:
                log.error(
                    "%s: another process serves this bot now (this one's hold on it went with "
                    "its database connection); stopping so that only one does",
                    held[key],
                )
                lost.append(key)
        stop.set()

    def standby(
        key: str, name: str, start: Callable[[], Awaitable[None]]
    ) -> Callable[[], Awaitable[None]]:
        held[key] = name

        # Another process on the same books serving this bot: wait to take it over.
        async def when_held() -> None:
            await once_held(
                name,
                lambda: engine.books.hold_bot(key),
                poll_s=settings.standby_poll_s,
                taken_over=lambda: jobs.resume(platforms),
            )
            await start()

        return when_held

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    telegram: TelegramApp | None = None
    discord_app: DiscordApp | None = None
    starting: list[asyncio.Task[bool]] = []
    refused: list[bool] = []
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(get_ready(engine), name="warm-up")
            if settings.telegram_token is not None:
                from bot.lazy_aiogram import import_aiogram

                import_aiogram()
                from bot import run_telegram

                telegram = run_telegram.telegram_app(settings, jobs, ffmpeg)
                if telegram is not None:
                    platforms.append(telegram.surfaces)
                    # The bot's id (before the colon) is public; the token is not.
                    bot_id = settings.telegram_token.get_secret_value().split(":")[0]
                    serve = standby(f"telegram:{bot_id}", "telegram", telegram.serve)
                    starting.append(
                        group.create_task(
                            keep_starting("telegram", serve, refused=run_telegram.REFUSED),
                            name="telegram",
                        )
                    )
            if settings.discord_token is not None:
                from bot import run_discord

                discord_app = run_discord.discord_app(settings, jobs, ffmpeg)
                platforms.append(discord_app.surfaces)
                token = settings.discord_token.get_secret_value()
                # Processes serving other shards of the same bot do not wait for each other.
                share = ",".join(map(str, sorted(set(settings.discord_shard_ids)))) or "all"
                bot_key = f"discord:{hashlib.sha256(token.encode()).hexdigest()[:16]}:{share}"
                serve = standby(bot_key, "discord", run_discord.starter(discord_app, token))
                starting.append(
                    group.create_task(
                        keep_starting("discord", serve, refused=run_discord.REFUSED),
                        name="discord",
                    )
                )
            adapters = [app for app in (telegram, discord_app) if app is not None]
            group.create_task(_stop_if_all_refused(starting, stop, refused))
            group.create_task(watch_holds(), name="holds")
            if remote is not None:
                group.create_task(remote.listen(), name="job-events")
            await jobs.resume(platforms)
            if engine.housekeeper is not None:
                group.create_task(engine.housekeeper.run())
            log.info("running: %s; stages: %s", [type(a).__name__ for a in adapters], choice)
            await stop.wait()
            if telegram is not None:
                # No new updates are taken; Telegram keeps them for the next start.
                with contextlib.suppress(RuntimeError):
                    await telegram.dispatcher.stop_polling()
            # A bot lost to another process: its jobs are that one's now, not to be finished.
            left = await engine.drain(0 if lost else settings.shutdown_grace_s)
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
    return None if lost else not refused


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
