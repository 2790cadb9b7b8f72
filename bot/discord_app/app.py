"""The Discord bot: slash commands and buttons to engine calls, one surface per job."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands

from bot import admin
from bot.discord_app import render
from bot.discord_app.buttons import JobButton
from bot.discord_app.surface import HANDOVER_AFTER_S, NO_MENTIONS, DiscordSurface, Place
from bot.jobs import JobTasks
from bot.pacing import ChatPacer
from engine import AdmissionRefusedError, Books, Engine, StoredJob, StoryRejectedError
from engine.media.ffmpeg import FFmpeg

NOT_YOURS = "Only the person who asked for this dream can do that."
EDIT_INTERVAL_S = 1.05  # per message: a calm, steady update, well inside Discord's buckets
GALLERY = "gallery_channel"


def use_endpoints(api_base: str, gateway: str) -> None:
    """Send discord.py's REST calls to ``api_base`` and its first gateway connection to
    ``gateway`` (a REST rate-limit proxy or a gateway proxy, or a test server).

    discord.py keeps both as class attributes, so this holds for the whole process. A
    non-sharded client connects to the default gateway without asking GET /gateway/bot;
    later reconnects go to the ``resume_gateway_url`` the gateway itself hands out.
    """
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


@dataclass(frozen=True)
class DiscordOptions:
    """What the Discord adapter needs from the settings."""

    admins: frozenset[str]
    guild_ids: tuple[int, ...] = ()
    sync_commands: bool = True
    handover_after_s: float = HANDOVER_AFTER_S


class DreamClient(discord.Client):
    """A client that knows its app (buttons reach it through the interaction)."""

    def __init__(self, app: DiscordApp) -> None:
        super().__init__(intents=discord.Intents.none(), allowed_mentions=NO_MENTIONS)
        self.app = app
        self.tree = app_commands.CommandTree(self)

    async def setup_hook(self) -> None:
        """Buttons survive restarts (matched by custom id); commands are synced."""
        self.add_dynamic_items(JobButton)
        await self.app.sync_commands()


class DiscordApp:
    """Turns interactions into engine jobs, each shown by its own DiscordSurface."""

    def __init__(self, engine: Engine, ffmpeg: FFmpeg, options: DiscordOptions) -> None:
        self.engine = engine
        self.options = options
        self._ffmpeg = ffmpeg
        self._tasks = JobTasks("discord")
        self.client = DreamClient(self)
        self._register(self.client.tree)

    async def sync_commands(self) -> None:
        """To the development guilds when named (instant), else globally."""
        if not self.options.sync_commands:
            return
        tree = self.client.tree
        for guild_id in self.options.guild_ids:
            guild = discord.Object(id=guild_id)
            tree.copy_global_to(guild=guild)
            await tree.sync(guild=guild)
        if not self.options.guild_ids:
            await tree.sync()

    async def dream(
        self, interaction: discord.Interaction, story: str, seed: int | None = None
    ) -> None:
        """Defer inside Discord's 3 s window first, then admit; refusals are ephemeral."""
        await interaction.response.defer(thinking=True)
        guild = interaction.guild_id
        try:
            request = await self.engine.admit(
                story,
                requester=f"discord:{interaction.user.id}",
                chat=f"discord:{guild}" if guild else None,
                seed=seed,
            )
        except (StoryRejectedError, AdmissionRefusedError) as refusal:
            await interaction.delete_original_response()
            await interaction.followup.send(
                refusal.reason, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        place = Place(channel_id=interaction.channel_id or 0)
        surface = await self._surface(place, request.job_id, interaction, guild)
        self._tasks.spawn(
            self.engine.dream(request, surface, surface_ref=place.ref()), request.job_id
        )

    async def press(self, interaction: discord.Interaction, action: str, job: str) -> None:
        """A button: only the requester may use it; others get an ephemeral note."""
        owner = await self.engine.owner_of(job)
        if owner != f"discord:{interaction.user.id}":
            await interaction.response.send_message(NOT_YOURS, ephemeral=True)
            return
        if action == "cancel":
            stopped = self.engine.cancel(job)
            await interaction.response.send_message(
                "Cancelling…" if stopped else "It has already finished.", ephemeral=True
            )
        elif action == "regenerate":
            found = await self.engine.books.story_of(job)
            if found is None:
                await interaction.response.send_message("That dream is too old.", ephemeral=True)
                return
            await self.dream(interaction, found[0], seed=random.randrange(2**31))
        else:
            await interaction.response.send_message(await self._share(interaction), ephemeral=True)

    async def rebuild(self, stored: StoredJob) -> DiscordSurface | None:
        """The surface of a job interrupted by a restart: it continues in a channel message."""
        place = Place.from_ref(stored.surface or "")
        if place is None or not place.channel_id:
            return None
        guild = int(stored.chat.split(":")[1]) if stored.chat else None
        surface = await self._surface(place, stored.job_id, None, guild)
        surface.job_id = stored.job_id
        return surface

    async def resume(self) -> None:
        """Continue this adapter's unfinished jobs."""
        for task in await self.engine.resume(self.rebuild):
            self._tasks.track(task, task.get_name())

    async def drain(self) -> None:
        """Wait until every job this process started has ended."""
        await self._tasks.drain()

    async def close(self) -> None:
        """Stop the jobs (they resume on the next start) and close the client."""
        await self._tasks.close()
        await self.client.close()

    async def _surface(
        self, place: Place, job_id: str, interaction: discord.Interaction | None, guild: int | None
    ) -> DiscordSurface:
        async def remember(ref: str) -> None:
            await self.engine.remember_surface(job_id, ref)

        limit = interaction.filesize_limit if interaction is not None else 10 * 2**20
        return DiscordSurface(
            self.client,
            place,
            interaction=interaction,
            pacer=ChatPacer(EDIT_INTERVAL_S),
            ffmpeg=self._ffmpeg,
            upload_limit_bytes=limit,
            can_share=await self._gallery(guild) is not None,
            remember=remember,
            handover_after_s=self.options.handover_after_s,
        )

    async def _gallery(self, guild: int | None) -> int | None:
        if guild is None:
            return None
        value = await self.engine.books.chat_setting(f"discord:{guild}", GALLERY)
        return int(value) if value else None

    async def _share(self, interaction: discord.Interaction) -> str:
        """Post the clip to the server's gallery by its URL; re-upload only if it must."""
        gallery = await self._gallery(interaction.guild_id)
        message = interaction.message
        if gallery is None or message is None:
            return "This server has no gallery. An admin can set one with /gallery."
        title = message.content.split("**")[1] if "**" in message.content else "A dream"
        channel = self.client.get_partial_messageable(gallery)
        author = interaction.user.display_name
        videos = [a for a in message.attachments if a.filename.endswith(".mp4")]
        if videos:
            await channel.send(
                render.shared(title, author, videos[0].url), allowed_mentions=NO_MENTIONS
            )
        else:
            return "The video is no longer attached to this message."
        return "Shared to the gallery."

    def _register(self, tree: app_commands.CommandTree[Any]) -> None:
        app = self

        @tree.command(name="dream", description="Turn a short story into a narrated video")
        @app_commands.describe(story="Your story: a few sentences")
        async def dream(
            interaction: discord.Interaction, story: app_commands.Range[str, 1, 1500]
        ) -> None:
            await app.dream(interaction, story)

        @tree.command(name="quota", description="How many dreams you have left today")
        async def quota(interaction: discord.Interaction) -> None:
            view = await app.engine.books.quota(f"discord:{interaction.user.id}")
            await interaction.response.send_message(
                f"You have {view.remaining} of {view.limit} dreams left today; "
                f"more <t:{int(view.resets_at.timestamp())}:R>.",
                ephemeral=True,
            )

        @tree.command(name="gallery", description="Set this server's gallery channel (admins)")
        @app_commands.describe(channel="Where shared dreams are posted")
        async def gallery(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
            if not app._is_admin(interaction) or interaction.guild_id is None:
                await interaction.response.send_message("That is for admins.", ephemeral=True)
                return
            await app.engine.books.set_chat_setting(
                f"discord:{interaction.guild_id}",
                GALLERY,
                str(channel.id),
                set_by=f"discord:{interaction.user.id}",
            )
            await interaction.response.send_message(
                f"Shared dreams will be posted in {channel.mention}.", ephemeral=True
            )

        async def admin_reply(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )

        @tree.command(name="grant", description="Give a user more dreams today (admins)")
        async def grant(
            interaction: discord.Interaction, user: discord.User, dreams: int = 1
        ) -> None:
            if (books := app._admin_books(interaction)) is None:
                return await admin_reply(interaction, "That is for the bot's admins.")
            await admin_reply(interaction, await admin.grant(books, f"discord:{user.id}", dreams))

        @tree.command(name="reset", description="Give a user a full quota again (admins)")
        async def reset(interaction: discord.Interaction, user: discord.User) -> None:
            if (books := app._admin_books(interaction)) is None:
                return await admin_reply(interaction, "That is for the bot's admins.")
            await admin_reply(interaction, await admin.reset(books, f"discord:{user.id}"))

        @tree.command(name="ban", description="Refuse all dreams from a user (admins)")
        async def ban(interaction: discord.Interaction, user: discord.User) -> None:
            if (books := app._admin_books(interaction)) is None:
                return await admin_reply(interaction, "That is for the bot's admins.")
            await admin_reply(
                interaction, await admin.set_banned(books, f"discord:{user.id}", True)
            )

        @tree.command(name="unban", description="Lift a ban (admins)")
        async def unban(interaction: discord.Interaction, user: discord.User) -> None:
            if (books := app._admin_books(interaction)) is None:
                return await admin_reply(interaction, "That is for the bot's admins.")
            await admin_reply(
                interaction, await admin.set_banned(books, f"discord:{user.id}", False)
            )

        @tree.command(name="stats", description="Jobs, stage times and spend (admins)")
        async def stats(interaction: discord.Interaction) -> None:
            if (books := app._admin_books(interaction)) is None:
                return await admin_reply(interaction, "That is for the bot's admins.")
            await admin_reply(interaction, await admin.stats(books))

    def _is_admin(self, interaction: discord.Interaction) -> bool:
        if f"discord:{interaction.user.id}" in self.options.admins:
            return True
        permissions = interaction.permissions
        return bool(permissions and permissions.manage_guild)

    def _admin_books(self, interaction: discord.Interaction) -> Books | None:
        if f"discord:{interaction.user.id}" not in self.options.admins:
            return None
        return self.engine.books
