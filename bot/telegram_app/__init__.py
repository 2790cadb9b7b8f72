"""The Telegram adapter (aiogram 3): messages in, one message per job updated in place."""

from bot.telegram_app.app import TelegramApp
from bot.telegram_app.places import TelegramOptions

__all__ = ["TelegramApp", "TelegramOptions"]
