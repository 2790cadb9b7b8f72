"""The Telegram bot: a dispatcher whose handlers get the shared job flow as workflow data."""

from __future__ import annotations

from aiogram import Bot, Dispatcher

from bot.chat_jobs import ChatJobs
from bot.telegram_app.handlers import build_router
from bot.telegram_app.locale import CatalogI18n, SenderLocale
from bot.telegram_app.places import TelegramOptions, TelegramSurfaces
from bot.telegram_app.polling import ConflictNotice, take_updates_by_polling
from bot.telegram_app.webhook import WebhookOptions, take_updates_by_webhook
from engine.media.ffmpeg import FFmpeg


class TelegramApp:
    """One bot's dispatcher, and the surfaces its jobs show themselves on."""

    def __init__(
        self,
        bot: Bot,
        jobs: ChatJobs,
        ffmpeg: FFmpeg,
        options: TelegramOptions,
        webhook: WebhookOptions | None = None,
    ) -> None:
        self.bot = bot
        self.webhook = webhook
        self.surfaces = TelegramSurfaces(bot, ffmpeg, options)
        self.dispatcher = Dispatcher(
            engine=jobs.engine, jobs=jobs, surfaces=self.surfaces, options=options
        )
        SenderLocale(CatalogI18n()).setup(self.dispatcher)
        self.dispatcher.include_router(build_router())
        bot.session.middleware(ConflictNotice())

    async def serve(self) -> None:
        """Take updates by webhook when configured, else by long polling, until stopped
        (raises if the Bot API cannot be reached or refuses the token, for the caller to
        retry or give up)."""
        if self.webhook is not None:
            await take_updates_by_webhook(self.bot, self.dispatcher, self.webhook)
        else:
            await take_updates_by_polling(self.bot, self.dispatcher.start_polling)
