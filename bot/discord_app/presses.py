"""What the buttons of a Discord job do: Cancel, Regenerate, Share, Edit, and Send here."""

from __future__ import annotations

from typing import Any

import discord

from bot.chat_jobs import ChatJobs
from bot.discord_app.edits import open_editor
from bot.discord_app.history import send_again
from bot.discord_app.locale import words_of
from bot.discord_app.places import DiscordSurfaces, start_dream
from bot.discord_app.share import Sharing
from bot.discord_app.surface import NO_MENTIONS
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
        self._sharing = Sharing(jobs.engine.books, surfaces)

    async def is_owner(self, interaction: discord.Interaction[Any], job: str) -> bool:
        """Whether the presser asked for the job."""
        return await self._jobs.is_owner(job, discord_user(interaction.user))

    async def press(self, interaction: discord.Interaction[Any], action: Action, job: str) -> None:
        """Cancel the job, dream its story again, or share its video."""
        words = words_of(interaction)
        if action is Action.CANCEL:
            # Answered first: Discord allows 3 s, and a cancel of a job a worker runs goes
            # through the database (docs/decisions.md).
            await interaction.response.defer(ephemeral=True)
            stopped = await self._jobs.cancel(job)
            await interaction.followup.send(
                words._("Cancelling…") if stopped else words._("It has already finished."),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
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
            await self._sharing.share(interaction, job, words, discord_user(interaction.user))
        elif action is Action.EDIT:
            await open_editor(interaction, self._jobs, self._surfaces, job)
        elif action is Action.RESEND:
            await send_again(interaction, self._jobs.engine.books, job)
