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
from discord.app_commands import Choice

from bot import admin
from bot.chat_jobs import Ask
from bot.discord_app.client import DreamClient
from bot.discord_app.history import list_dreams
from bot.discord_app.locale import words_of
from bot.discord_app.mentions import has_mentions, readable_story
from bot.discord_app.places import Early, start_dream
from bot.discord_app.presses import discord_user
from bot.discord_app.surface import NO_MENTIONS
from bot.i18n import ENGLISH, NP_
from bot.preferences import (
    ASPECT_NAMES,
    AUTO,
    LANGUAGES,
    Field,
    choose,
    language_name,
    summary,
    voice_name,
)
from bot.users import Platform, chat_key
from engine import N_, Aspect, Language
from engine.providers.local.voice import STANDARD_VOICE, LocalVoice
from engine.providers.openai_voices import VOICES as OPENAI_VOICES

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


# The choices of the look's options, shared by /dream (one request) and /settings.
_LOOK_NAMES = {
    "aspect": NP_("option name", "shape"),
    "voice": NP_("option name", "voice"),
    "captions": NP_("option name", "captions"),
}
_LOOK_HELP = {
    "aspect": N_("Wide, tall (for phones) or square"),
    "voice": N_("Who reads the story"),
    "captions": N_("Words on the picture"),
}
_ASPECTS = [Choice(name=ASPECT_NAMES[aspect], value=aspect.value) for aspect in Aspect]
# Every voice any provider offers (Discord fixes choices at the sync); the one this bot's
# voice provider has not got is refused with the list it has.
_VOICES = [
    Choice(name=STANDARD_VOICE if voice == STANDARD_VOICE else voice.capitalize(), value=voice)
    for voice in dict.fromkeys((*LocalVoice.choices, *OPENAI_VOICES))
]
_LANGUAGES = [Choice(name="the story's own", value=AUTO)] + [
    Choice(name=language_name(language, ENGLISH), value=language.tag) for language in LANGUAGES
]


def _voice_offered(interaction: Interaction, voice: str | None) -> bool:
    return voice is None or voice in interaction.client.jobs.engine.providers.voice.choices


async def _refuse_voice(interaction: Interaction) -> None:
    words = words_of(interaction)
    offered = interaction.client.jobs.engine.providers.voice.choices
    names = ", ".join(voice_name(voice, words) for voice in offered)
    await _answer(interaction, words._("This bot speaks with these voices: {names}.", names=names))


@app_commands.command(
    name=NP_("command name", "dream"), description=N_("Turn a short story into a narrated video")
)
@app_commands.rename(
    story=NP_("option name", "story"), language=NP_("option name", "language"), **_LOOK_NAMES
)
@app_commands.describe(
    story=N_("Your story: a few sentences"),
    language=N_("The language stories are read in"),
    **_LOOK_HELP,
)
@app_commands.choices(language=_LANGUAGES, aspect=_ASPECTS, voice=_VOICES)
async def dream(
    interaction: Interaction,
    story: app_commands.Range[str, 1, 1500],
    language: Choice[str] | None = None,
    aspect: Choice[str] | None = None,
    voice: Choice[str] | None = None,
    captions: bool | None = None,
) -> None:
    """/dream STORY [language] [shape] [voice] [captions]: options for this dream only."""
    guild = interaction.guild_id
    chat = chat_key(Platform.DISCORD, guild) if guild else None
    client = interaction.client
    chosen_voice = voice.value if voice else None
    if not _voice_offered(interaction, chosen_voice):
        await _refuse_voice(interaction)
        return

    async def ask() -> Ask:
        # Names, never raw ids, reach the engine; looked up after the defer, so a slow
        # lookup cannot miss Discord's 3 s window.
        return Ask(
            await readable_story(interaction, story),
            discord_user(interaction.user),
            chat,
            # "The story's own" for one dream is what no setting says: detected.
            language=Language.parse(language.value)
            if language and language.value != AUTO
            else None,
            aspect=Aspect(aspect.value) if aspect else None,
            voice=chosen_voice,
            captions=captions,
        )

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
    name=NP_("command name", "settings"),
    description=N_("Your language, voice, shape and captions for new dreams"),
)
@app_commands.rename(language=NP_("option name", "language"), **_LOOK_NAMES)
@app_commands.describe(language=N_("The language stories are read in"), **_LOOK_HELP)
@app_commands.choices(language=_LANGUAGES, aspect=_ASPECTS, voice=_VOICES)
async def settings(
    interaction: Interaction,
    language: Choice[str] | None = None,
    aspect: Choice[str] | None = None,
    voice: Choice[str] | None = None,
    captions: bool | None = None,
) -> None:
    """/settings [language] [shape] [voice] [captions]: show them, or change those given."""
    words, books = words_of(interaction), interaction.client.books
    if not _voice_offered(interaction, voice.value if voice else None):
        await _refuse_voice(interaction)
        return
    user = discord_user(interaction.user)
    voices = interaction.client.jobs.engine.providers.voice.choices
    preferences = await books.preferences(user)
    changes = [
        (Field.LANGUAGE, language.value if language else None),
        (Field.ASPECT, aspect.value if aspect else None),
        (Field.VOICE, voice.value if voice else None),
        (Field.CAPTIONS, None if captions is None else ("on" if captions else "off")),
    ]
    for field, value in changes:
        if value is not None:
            preferences = choose(preferences, field, value, voices)
    changed = any(value is not None for _, value in changes)
    if changed:
        await books.set_preferences(user, preferences)
    head = (
        words._("Saved. Your settings for new dreams:")
        if changed
        else words._("Your settings for new dreams:")
    )
    await _answer(interaction, f"{head}\n{summary(preferences, voices, words)}")


@app_commands.command(
    name=NP_("command name", "mydreams"), description=N_("Your latest dreams, to send again")
)
async def mydreams(interaction: Interaction) -> None:
    """/mydreams: the last ten, each with a button that posts it here."""
    await list_dreams(interaction, interaction.client.books, discord_user(interaction.user))


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
    settings,
    mydreams,
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
