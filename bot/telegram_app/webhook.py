"""Taking updates by webhook: Telegram posts each update to our HTTPS endpoint.

For deployments behind an HTTPS reverse proxy, where long polling is not wanted. The
endpoint is aiogram's aiohttp handler; every request must carry the secret token given to
setWebhook (``X-Telegram-Bot-Api-Secret-Token``, https://core.telegram.org/bots/api#setwebhook),
so nobody but Telegram can feed the bot updates.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.telegram_app.menu import set_menu


@dataclass(frozen=True)
class WebhookOptions:
    """Where Telegram posts (the public URL) and where this process listens for it."""

    url: str
    host: str = "127.0.0.1"
    port: int = 8080
    # setWebhook's secret_token: 1-256 characters, A-Z, a-z, 0-9, _ and -. A new one at
    # every start needs no configuration: setWebhook is called again at every start.
    secret: str = ""

    def with_secret(self) -> WebhookOptions:
        """These options, with a fresh secret when none was configured."""
        if self.secret:
            return self
        return WebhookOptions(self.url, self.host, self.port, secrets.token_urlsafe(32))


async def take_updates_by_webhook(
    bot: Bot, dispatcher: Dispatcher, options: WebhookOptions
) -> None:
    """Listen, then point the bot's webhook here; serve until cancelled.

    The webhook stays set at stop: Telegram keeps the updates and retries them, so stories
    sent during a restart are answered once the process is back.
    """
    options = options.with_secret()
    await bot.me()
    await set_menu(bot)
    handler = SimpleRequestHandler(dispatcher, bot, secret_token=options.secret)
    app = web.Application()
    # The route alone, not handler.register(): that would close the bot's session when the
    # endpoint stops, while jobs may still be delivering.
    app.router.add_route("POST", urlsplit(options.url).path or "/", handler.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, options.host, options.port).start()
        await bot.set_webhook(
            options.url,
            secret_token=options.secret,
            drop_pending_updates=False,
            allowed_updates=dispatcher.resolve_used_update_types(),
        )
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
