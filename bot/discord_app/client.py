"""The Discord client: it carries what commands and buttons need, and syncs the commands."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.chat_jobs import ChatJobs
from bot.discord_app.buttons import JobButton
from bot.discord_app.locale import CatalogTranslator
from bot.discord_app.places import DiscordOptions, DiscordSurfaces
from bot.discord_app.presses import DiscordPresses
from bot.discord_app.surface import NO_MENTIONS
from engine.media.ffmpeg import FFmpeg


class DreamClient(discord.Client):
    """A client whose interactions reach the shared job flow through ``interaction.client``."""

    def __init__(
        self, jobs: ChatJobs, ffmpeg: FFmpeg, options: DiscordOptions, **sharding: Any
    ) -> None:
        super().__init__(intents=discord.Intents.none(), allowed_mentions=NO_MENTIONS, **sharding)
        self.jobs = jobs
        self.books = jobs.engine.books
        self.options = options
        self.surfaces = DiscordSurfaces(self, jobs.engine.books, ffmpeg, options)
        self.presses = DiscordPresses(jobs, self.surfaces)
        self.tree = app_commands.CommandTree(self)

    async def setup_hook(self) -> None:
        """Buttons survive restarts (matched by custom id); commands are synced."""
        self.add_dynamic_items(JobButton)
        if not self.options.syncs_commands:
            return
        # Names and descriptions go out in every language we have, with the sync.
        await self.tree.set_translator(CatalogTranslator())
        for guild_id in self.options.guild_ids:
            # To the development guilds when named (instant), else globally.
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        if not self.options.guild_ids:
            await self.tree.sync()


class ShardedDreamClient(DreamClient, discord.AutoShardedClient):
    """The same client as shards: each shard is a gateway connection of its own, and
    discord.py routes each guild's events and calls to the shard Discord gives it."""


def dream_client(jobs: ChatJobs, ffmpeg: FFmpeg, options: DiscordOptions) -> DreamClient:
    """One connection, or the shards the options ask for (all of them, or this share)."""
    if not options.sharded:
        return DreamClient(jobs, ffmpeg, options)
    # shard_count None makes discord.py ask GET /gateway/bot for Discord's count.
    return ShardedDreamClient(
        jobs,
        ffmpeg,
        options,
        shard_count=options.shard_count or None,
        shard_ids=list(options.shard_ids) or None,
    )
