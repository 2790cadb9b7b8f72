"""The Discord adapter (discord.py 2): /dream, one message per job updated in place."""

from bot.discord_app.app import DiscordApp, use_endpoints
from bot.discord_app.places import DiscordOptions

__all__ = ["DiscordApp", "DiscordOptions", "use_endpoints"]
