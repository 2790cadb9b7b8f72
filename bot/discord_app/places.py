"""Where Discord jobs show themselves: the interaction's response for a new job, a channel
message for a rebuilt one; and the server's gallery, which decides whether Share is offered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from bot.chat_jobs import Ask, ChatJobs, Remember
from bot.discord_app.locale import words_of
from bot.discord_app.surface import HANDOVER_AFTER_S, NO_MENTIONS, DiscordSurface, Place
from bot.pacing import ChatPacer
from bot.users import Platform, chat_key, id_of
from engine import AdmissionRefusedError, Books, Notice, StoredJob, StoryRejectedError
from engine.media.ffmpeg import FFmpeg

EDIT_INTERVAL_S = 1.05  # per message: a calm, steady update, well inside Discord's buckets
GALLERY = "gallery_channel"
_REBUILT_UPLOAD_LIMIT = 10 * 2**20  # without an interaction, the smallest limit any server has


@dataclass(frozen=True)
class DiscordOptions:
    """What the Discord adapter needs from the settings."""

    admins: frozenset[str]
    guild_ids: tuple[int, ...] = ()
    sync_commands: bool = True
    handover_after_s: float = HANDOVER_AFTER_S
    # None: one connection. 0: AutoShardedClient with Discord's count; else the count, with
    # ``shard_ids`` this process's share (empty: every shard).
    shard_count: int | None = None
    shard_ids: tuple[int, ...] = ()

    @property
    def sharded(self) -> bool:
        """Whether the client connects as shards (AutoShardedClient)."""
        return self.shard_count is not None

    @property
    def syncs_commands(self) -> bool:
        """Whether this process syncs the slash commands: the one that runs shard 0, so
        processes sharing a bot do not all sync the same commands."""
        return self.sync_commands and (not self.shard_ids or 0 in self.shard_ids)


class DiscordSurfaces:
    """Makes each job's DiscordSurface for the shared flow."""

    def __init__(
        self, client: discord.Client, books: Books, ffmpeg: FFmpeg, options: DiscordOptions
    ) -> None:
        self.client = client
        self._books = books
        self._ffmpeg = ffmpeg
        self._handover_after_s = options.handover_after_s

    def reply_to(self, interaction: discord.Interaction) -> InteractionReply:
        """Where a story asked by ``interaction`` is answered."""
        return InteractionReply(self, interaction)

    async def rebuild(self, stored: StoredJob, remember: Remember) -> DiscordSurface | None:
        """The surface of a job interrupted by a restart: it continues in a channel message."""
        place = Place.from_ref(stored.surface or "")
        if place is None or not place.channel_id:
            return None
        guild = id_of(stored.chat) if stored.chat else None
        return await self.surface_at(place, None, guild, remember)

    async def surface_at(
        self,
        place: Place,
        interaction: discord.Interaction | None,
        guild: int | None,
        remember: Remember,
    ) -> DiscordSurface:
        """A surface for a job's message: the interaction's response while there is one."""
        limit = interaction.filesize_limit if interaction is not None else _REBUILT_UPLOAD_LIMIT
        return DiscordSurface(
            self.client,
            place,
            interaction=interaction,
            pacer=ChatPacer(EDIT_INTERVAL_S),
            ffmpeg=self._ffmpeg,
            upload_limit_bytes=limit,
            can_share=await self.gallery_of(guild) is not None,
            remember=remember,
            handover_after_s=self._handover_after_s,
        )

    async def gallery_of(self, guild: int | None) -> int | None:
        """The channel a server's admins chose for shared dreams, if any."""
        if guild is None:
            return None
        value = await self._books.chat_setting(chat_key(Platform.DISCORD, guild), GALLERY)
        return int(value) if value else None

    async def set_gallery(self, guild: int, channel: int, *, set_by: str) -> None:
        """Choose a server's gallery channel."""
        await self._books.set_chat_setting(
            chat_key(Platform.DISCORD, guild), GALLERY, str(channel), set_by=set_by
        )


class InteractionReply:
    """A story asked by a slash command or a button: its job edits the interaction's response."""

    says_every_refusal = True

    def __init__(self, surfaces: DiscordSurfaces, interaction: discord.Interaction) -> None:
        self._surfaces = surfaces
        self._interaction = interaction
        self._words = words_of(interaction)

    async def refuse(self, notice: Notice) -> None:
        """A refusal decided after the defer (moderation, the atomic admission): the
        deferred response becomes the refusal, in the asker's language.

        Editing the original response is the documented way on from a deferral
        (docs.discord.com/developers/interactions/receiving-and-responding#edit-original-
        interaction-response); it is public, as the defer was (docs/decisions.md, "Discord
        for real (issue 14)"). Refusals known before the defer are ephemeral: start_dream.
        """
        await self._interaction.edit_original_response(
            content=self._words.notice(notice), allowed_mentions=NO_MENTIONS
        )

    async def open_surface(self, job_id: str, remember: Remember) -> DiscordSurface:
        """The job's message: the deferred response, later a channel message."""
        place = Place(channel_id=self._interaction.channel_id or 0, locale=self._words.locale)
        guild = self._interaction.guild_id
        return await self._surfaces.surface_at(place, self._interaction, guild, remember)


async def start_dream(
    interaction: discord.Interaction,
    ask: Ask | Callable[[], Awaitable[Ask]],
    jobs: ChatJobs,
    surfaces: DiscordSurfaces,
    *,
    early: Early | None = None,
) -> None:
    """Refuse what is known at once, else defer inside Discord's 3 s window, then ask.

    A refusal the local checks find (ban, quota, the story's text rules: milliseconds) is the
    interaction's initial response, ephemeral (type 4 CHANNEL_MESSAGE_WITH_SOURCE with flag
    64, docs.discord.com/developers/interactions/receiving-and-responding#interaction-
    response-object-interaction-callback-type): nothing public is shown for it. ``ask`` may be
    made after the defer (a story whose mentions take REST lookups); ``early`` then says
    what is known before it.
    """
    if early is None:
        if not isinstance(ask, Ask):
            raise TypeError("a story made after the defer needs `early`")
        early = Early(ask.requester, ask.story)
    try:
        await jobs.engine.precheck(early.story, requester=early.requester)
    except (StoryRejectedError, AdmissionRefusedError) as refusal:
        await interaction.response.send_message(
            words_of(interaction).notice(refusal.notice),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        return
    await interaction.response.defer(thinking=True)
    await jobs.start(ask if isinstance(ask, Ask) else await ask(), surfaces.reply_to(interaction))


@dataclass(frozen=True)
class Early:
    """What is known of a story before the defer: who asks, and its text if it is final."""

    requester: str
    story: str | None  # None: it changes after the defer (mentions become names)
