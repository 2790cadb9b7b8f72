"""The Discord bot: a client with the commands added, on the shared job flow."""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

from bot.chat_jobs import ChatJobs
from bot.discord_app.client import dream_client
from bot.discord_app.commands import add_commands
from bot.discord_app.places import DiscordOptions, DiscordSurfaces
from bot.i18n import catalogs
from engine.media.ffmpeg import FFmpeg


def use_endpoints(api_base: str, gateway: str) -> None:
    """Send discord.py's REST calls to ``api_base`` and its first gateway connection to
    ``gateway`` (a REST rate-limit proxy or a gateway proxy, or a test server).

    discord.py keeps both as class attributes, so this holds for the whole process. A
    non-sharded client connects to the default gateway without asking GET /gateway/bot;
    later reconnects go to the ``resume_gateway_url`` the gateway itself hands out.
    """
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


class DiscordApp:
    """One bot's client, and the surfaces its jobs show themselves on."""

    def __init__(self, jobs: ChatJobs, ffmpeg: FFmpeg, options: DiscordOptions) -> None:
        self.client = dream_client(jobs, ffmpeg, options)
        add_commands(self.client.tree)
        catalogs()  # compiled now, not while the first user's interaction waits

    @property
    def surfaces(self) -> DiscordSurfaces:
        """What the shared flow rebuilds this platform's jobs with."""
        return self.client.surfaces

    async def close(self) -> None:
        """Close the client (the jobs are the flow's to stop)."""
        await self.client.close()
