"""What ``dreambot run`` needs to start the Discord bot: imported only when DISCORD_TOKEN is set.

A process serving Telegram alone never imports discord.py (issue 16).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import discord

from bot.chat_jobs import ChatJobs
from bot.discord_app import DiscordApp, DiscordOptions, use_endpoints
from bot.settings import Settings
from engine.media.ffmpeg import FFmpeg

# What Discord answers a token it will never take: the bot stays off, said once.
REFUSED: tuple[type[BaseException], ...] = (discord.LoginFailure,)


def discord_app(settings: Settings, jobs: ChatJobs, ffmpeg: FFmpeg) -> DiscordApp:
    """The Discord adapter, on the endpoints the settings name."""
    use_endpoints(settings.discord_api_base, settings.discord_gateway_url)
    shards = settings.discord_shards
    options = DiscordOptions(
        frozenset(settings.admins),
        tuple(settings.discord_guild_ids),
        shard_count=None if shards is None else 0 if shards == "auto" else shards,
        shard_ids=tuple(settings.discord_shard_ids),
    )
    return DiscordApp(jobs, ffmpeg, options)


def starter(app: DiscordApp, token: str) -> Callable[[], Awaitable[None]]:
    """What logs the client in and serves until stopped."""
    return functools.partial(app.client.start, token)
