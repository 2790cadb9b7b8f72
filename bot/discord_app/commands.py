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
from bot.discord_app.locale import words_of
from bot.discord_app.mentions import has_mentions, readable_story
from bot.discord_app.places import Early, start_dream
from bot.discord_app.presses import discord_user
from bot.discord_app.surface import NO_MENTIONS
from bot.i18n import NP_
from bot.users import Platform, chat_key
from engine import N_

log = logging.getLogger(__name__)

Interaction = discord.Interaction[DreamClient]


class NotAdminError(app_commands.CheckFailure):
    """An admin command from someone who is not one; the message is the answer."""


def is_bot_admin(interaction: Interaction) -> bool:
    """The settings name the user as an admin of the bot."""
    if discord_user(interaction.user) in interaction.client.options.admins:
        return True
    raise NotAdminError(N_("That is for the bot's admins."))


def is_server_admin(interaction: Interaction) -> bool:
    """In a server, a bot admin or anyone who may manage the server."""
    permissions = interaction.permissions
    allowed = discord_user(interaction.user) in interaction.client.options.admins or bool(
        permissions and permissions.manage_guild
    )
    if allowed and interaction.guild_id is not None:
        return True
    raise NotAdminError(N_("That is for admins."))


async def on_command_error(interaction: Interaction, error: app_commands.AppCommandError) -> None:
    """The one place a command's failure becomes an answer."""
    if isinstance(error, NotAdminError):
        await _answer(interaction, words_of(interaction)._(str(error)))
        return
    log.error("command %s failed", interaction.command and interaction.command.name, exc_info=error)


async def _answer(interaction: Interaction, text: str) -> None:
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


@app_commands.command(
    name=NP_("command name", "dream"), description=N_("Turn a short story into a narrated video")
)
@app_commands.rename(story=NP_("option name", "story"))
@app_commands.describe(story=N_("Your story: a few sentences"))
async def dream(interaction: Interaction, story: app_commands.Range[str, 1, 1500]) -> None:
    """/dream STORY."""
    guild = interaction.guild_id
    chat = chat_key(Platform.DISCORD, guild) if guild else None
    client = interaction.client

    async def ask() -> Ask:
        # Names, never raw ids, reach the engine; looked up after the defer, so a slow
        # lookup cannot miss Discord's 3 s window.
        return Ask(await readable_story(interaction, story), discord_user(interaction.user), chat)

    # The story is checked before the defer only when the lookups cannot change it.
    early = Early(discord_user(interaction.user), None if has_mentions(story) else story)
    await start_dream(interaction, ask, client.jobs, client.surfaces, early=early)


@app_commands.command(
    name=NP_("command name", "quota"), description=N_("How many dreams you have left today")
)
async def quota(interaction: Interaction) -> None:
    """/quota: what is left today (Discord shows the reset time in the reader's own clock)."""
    view = await interaction.client.books.quota(discord_user(interaction.user))
    await interaction.response.send_message(
        words_of(interaction)._(
            "You have {remaining} of {limit} dreams left today; more {when}.",
            remaining=view.remaining,
            limit=view.limit,
            when=f"<t:{int(view.resets_at.timestamp())}:R>",
        ),
        ephemeral=True,
    )


@app_commands.command(
    name=NP_("command name", "gallery"),
    description=N_("Set this server's gallery channel (admins)"),
)
@app_commands.rename(channel=NP_("option name", "channel"))
@app_commands.describe(channel=N_("Where shared dreams are posted"))
@app_commands.check(is_server_admin)
async def gallery(interaction: Interaction, channel: discord.TextChannel) -> None:
    """/gallery CHANNEL."""
    if interaction.guild_id is None:  # is_server_admin lets none through; mypy cannot know
        return
    await interaction.client.surfaces.set_gallery(
        interaction.guild_id, channel.id, set_by=discord_user(interaction.user)
    )
    await interaction.response.send_message(
        words_of(interaction)._(
            "Shared dreams will be posted in {channel}.", channel=channel.mention
        ),
        ephemeral=True,
    )


# The user option of the admin commands, named and described once for all of them.
_USER = {"user": NP_("option name", "user")}
_USER_HELP = {"user": N_("Whose dreams")}


@app_commands.command(
    name=NP_("command name", "grant"), description=N_("Give a user more dreams today (admins)")
)
@app_commands.rename(**_USER, dreams=NP_("option name", "dreams"))
@app_commands.describe(**_USER_HELP, dreams=N_("How many more dreams"))
@app_commands.check(is_bot_admin)
async def grant(interaction: Interaction, user: discord.User, dreams: int = 1) -> None:
    """/grant USER [N]."""
    books, words = interaction.client.books, words_of(interaction)
    await _answer(interaction, await admin.grant(books, discord_user(user), dreams, words))


@app_commands.command(
    name=NP_("command name", "reset"), description=N_("Give a user a full quota again (admins)")
)
@app_commands.rename(**_USER)
@app_commands.describe(**_USER_HELP)
@app_commands.check(is_bot_admin)
async def reset(interaction: Interaction, user: discord.User) -> None:
    """/reset USER."""
    books, words = interaction.client.books, words_of(interaction)
    await _answer(interaction, await admin.reset(books, discord_user(user), words))


@app_commands.command(
    name=NP_("command name", "ban"), description=N_("Refuse all dreams from a user (admins)")
)
@app_commands.rename(**_USER)
@app_commands.describe(**_USER_HELP)
@app_commands.check(is_bot_admin)
async def ban(interaction: Interaction, user: discord.User) -> None:
    """/ban USER."""
    books, words = interaction.client.books, words_of(interaction)
    await _answer(interaction, await admin.set_banned(books, discord_user(user), True, words))


@app_commands.command(name=NP_("command name", "unban"), description=N_("Lift a ban (admins)"))
@app_commands.rename(**_USER)
@app_commands.describe(**_USER_HELP)
@app_commands.check(is_bot_admin)
async def unban(interaction: Interaction, user: discord.User) -> None:
    """/unban USER."""
    books, words = interaction.client.books, words_of(interaction)
    await _answer(interaction, await admin.set_banned(books, discord_user(user), False, words))


@app_commands.command(
    name=NP_("command name", "stats"), description=N_("Jobs, stage times and spend (admins)")
)
@app_commands.check(is_bot_admin)
async def stats(interaction: Interaction) -> None:
    """/stats."""
    words = words_of(interaction)
    await _answer(interaction, await admin.stats(interaction.client.books, words))


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
