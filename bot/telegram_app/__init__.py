"""The Telegram adapter (aiogram 3): messages in, one message per job updated in place."""

from bot.telegram_app.app import TelegramApp

__all__ = ["TelegramApp"]
