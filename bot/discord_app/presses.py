"""What the buttons under a Discord job's message do: Cancel, Regenerate, Share."""

from __future__ import annotations

from typing import Any

import discord

from bot.chat_jobs import ChatJobs
from bot.discord_app import render
from bot.discord_app.locale import words_of
from bot.discord_app.places import DiscordSurfaces, start_dream
from bot.discord_app.surface import NO_MENTIONS
from bot.i18n import Words
from bot.users import Platform, user_key
from engine import Action


def discord_user(user: discord.abc.User) -> str:
    """The engine's key for a Discord user."""
    return user_key(Platform.DISCORD, user.id)


class DiscordPresses:
    """Button presses to the shared flow (the owner check runs before, in the button)."""

    def __init__(self, jobs: ChatJobs, surfaces: DiscordSurfaces) -> None:
        self._jobs = jobs
        self._surfaces = surfaces

    async def is_owner(self, interaction: discord.Interaction[Any], job: str) -> bool:
        """Whether the presser asked for the job."""
        return await self._jobs.is_owner(job, discord_user(interaction.user))

    async def press(self, interaction: discord.Interaction[Any], action: Action, job: str) -> None:
        """Cancel the job, dream its story again, or share its video."""
        words = words_of(interaction)
        if action is Action.CANCEL:
            stopped = self._jobs.engine.cancel(job)
            await interaction.response.send_message(
                words._("Cancelling…") if stopped else words._("It has already finished."),
                ephemeral=True,
            )
        elif action is Action.REGENERATE:
            ask = await self._jobs.again(job, discord_user(interaction.user))
            if ask is None:
                await interaction.response.send_message(
                    words._("That dream is too old to make again."), ephemeral=True
                )
                return
            await start_dream(interaction, ask, self._jobs, self._surfaces)
        elif action == Action.SHARE:
            shared = await self._share(interaction, words)
            await interaction.response.send_message(shared, ephemeral=True)

    async def _share(self, interaction: discord.Interaction[Any], words: Words) -> str:
        """Post the clip to the server's gallery by its URL; re-upload only if it must.

        The post is in the sharer's language: a gallery has readers of every one.
        """
        gallery = await self._surfaces.gallery_of(interaction.guild_id)
        message = interaction.message
        if gallery is None or message is None:
            return words._("This server has no gallery. An admin can set one with /gallery.")
        videos = [a for a in message.attachments if a.filename.endswith(".mp4")]
        if not videos:
            return words._("The video is no longer attached to this message.")
        title = render.title_of(message.content) or words._("A dream")
        author = interaction.user.display_name
        await interaction.client.get_partial_messageable(gallery).send(
            render.shared(title, author, videos[0].url, words), allowed_mentions=NO_MENTIONS
        )
        return words._("Shared to the gallery.")
