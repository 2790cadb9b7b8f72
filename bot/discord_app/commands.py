"""Slash commands to engine calls: parse, call one method, answer (ephemeral, no mentions).

Commands reach the job flow through ``interaction.client`` (a DreamClient), so they are
defined once here and added to any client's tree. Who may run the admin commands is an
``app_commands.check``; a failed check is answered in ``on_command_error``.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot import admin
from bot.chat_jobs import Ask
from bot.discord_app.client import DreamClient
from bot.discord_app.mentions import readable_story
from bot.discord_app.places import start_dream
from bot.discord_app.presses import discord_user
from bot.discord_app.surface import NO_MENTIONS
from bot.users import Platform, chat_key

log = logging.getLogger(__name__)

Interaction = discord.Interaction[DreamClient]


class NotAdminError(app_commands.CheckFailure):
    """An admin command from someone who is not one; the message is the answer."""


def is_bot_admin(interaction: Interaction) -> bool:
    """The settings name the user as an admin of the bot."""
    if discord_user(interaction.user) in interaction.client.options.admins:
        return True
    raise NotAdminError("That is for the bot's admins.")


def is_server_admin(interaction: Interaction) -> bool:
    """In a server, a bot admin or anyone who may manage the server."""
    permissions = interaction.permissions
    allowed = discord_user(interaction.user) in interaction.client.options.admins or bool(
        permissions and permissions.manage_guild
    )
    if allowed and interaction.guild_id is not None:
        return True
    raise NotAdminError("That is for admins.")


async def on_command_error(interaction: Interaction, error: app_commands.AppCommandError) -> None:
    """The one place a command's failure becomes an answer."""
    if isinstance(error, NotAdminError):
        await interaction.response.send_message(
            str(error), ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        return
    log.error("command %s failed", interaction.command and interaction.command.name, exc_info=error)


async def _answer(interaction: Interaction, text: str) -> None:
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


@app_commands.command(name="dream", description="Turn a short story into a narrated video")
@app_commands.describe(story="Your story: a few sentences")
async def dream(interaction: Interaction, story: app_commands.Range[str, 1, 1500]) -> None:
    """/dream STORY."""
    guild = interaction.guild_id
    chat = chat_key(Platform.DISCORD, guild) if guild else None
    client = interaction.client
    story = await readable_story(interaction, story)  # names, never raw ids, reach the engine
    await start_dream(
        interaction, Ask(story, discord_user(interaction.user), chat), client.jobs, client.surfaces
    )


@app_commands.command(name="quota", description="How many dreams you have left today")
async def quota(interaction: Interaction) -> None:
    """/quota: what is left today."""
    view = await interaction.client.books.quota(discord_user(interaction.user))
    await interaction.response.send_message(
        f"You have {view.remaining} of {view.limit} dreams left today; "
        f"more <t:{int(view.resets_at.timestamp())}:R>.",
        ephemeral=True,
    )


@app_commands.command(name="gallery", description="Set this server's gallery channel (admins)")
@app_commands.describe(channel="Where shared dreams are posted")
@app_commands.check(is_server_admin)
async def gallery(interaction: Interaction, channel: discord.TextChannel) -> None:
    """/gallery CHANNEL."""
    if interaction.guild_id is None:  # is_server_admin lets none through; mypy cannot know
        return
    await interaction.client.surfaces.set_gallery(
        interaction.guild_id, channel.id, set_by=discord_user(interaction.user)
    )
    await interaction.response.send_message(
        f"Shared dreams will be posted in {channel.mention}.", ephemeral=True
    )


@app_commands.command(name="grant", description="Give a user more dreams today (admins)")
@app_commands.check(is_bot_admin)
async def grant(interaction: Interaction, user: discord.User, dreams: int = 1) -> None:
    """/grant USER [N]."""
    books = interaction.client.books
    await _answer(interaction, await admin.grant(books, discord_user(user), dreams))


@app_commands.command(name="reset", description="Give a user a full quota again (admins)")
@app_commands.check(is_bot_admin)
async def reset(interaction: Interaction, user: discord.User) -> None:
    """/reset USER."""
    books = interaction.client.books
    await _answer(interaction, await admin.reset(books, discord_user(user)))


@app_commands.command(name="ban", description="Refuse all dreams from a user (admins)")
@app_commands.check(is_bot_admin)
async def ban(interaction: Interaction, user: discord.User) -> None:
    """/ban USER."""
    books = interaction.client.books
    await _answer(interaction, await admin.set_banned(books, discord_user(user), True))


@app_commands.command(name="unban", description="Lift a ban (admins)")
@app_commands.check(is_bot_admin)
async def unban(interaction: Interaction, user: discord.User) -> None:
    """/unban USER."""
    books = interaction.client.books
    await _answer(interaction, await admin.set_banned(books, discord_user(user), False))


@app_commands.command(name="stats", description="Jobs, stage times and spend (admins)")
@app_commands.check(is_bot_admin)
async def stats(interaction: Interaction) -> None:
    """/stats."""
    await _answer(interaction, await admin.stats(interaction.client.books))


COMMANDS: tuple[app_commands.Command[Any, ..., None], ...] = (
    dream,
    quota,
    gallery,
    grant,
    reset,
    ban,
    unban,
    stats,
)


def add_commands(tree: app_commands.CommandTree[DreamClient]) -> None:
    """Every command, and the error handler that answers a failed check."""
    for command in COMMANDS:
        tree.add_command(command)
    tree.error(on_command_error)
