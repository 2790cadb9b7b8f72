"""Share: a job's video posted to its server's gallery, once, with the press answered first.

The press is acknowledged before the gallery post (an ephemeral deferral, interaction
callback type 5 with flag 64), because Discord wants the first answer within 3 s
(docs.discord.com/developers/interactions/receiving-and-responding#responding-to-an-
interaction) and a post may be slow or refused; the outcome then comes as an ephemeral
followup. A job is posted at most once: presses of one job take turns, and a post that
went out is remembered in the books, so a second press (or one after a restart) says so
instead of posting again. A post that failed is not remembered: pressing again retries.
"""

from __future__ import annotations

import logging
import weakref
from asyncio import Lock
from typing import Any

import discord

from bot.discord_app import render
from bot.discord_app.places import DiscordSurfaces
from bot.discord_app.surface import NO_MENTIONS
from bot.i18n import Words
from bot.users import Platform, chat_key
from engine import Books

log = logging.getLogger(__name__)

_SHARED = "shared:{job}"  # the chat setting naming a job's gallery post


class Sharing:
    """Posts jobs to galleries, once per job."""

    def __init__(self, books: Books, surfaces: DiscordSurfaces) -> None:
        self._books = books
        self._surfaces = surfaces
        # One lock per job being shared; a lock goes when no press holds it.
        self._turns: weakref.WeakValueDictionary[str, Lock] = weakref.WeakValueDictionary()

    async def share(
        self, interaction: discord.Interaction[Any], job: str, words: Words, sharer: str
    ) -> None:
        """Answer the press at once, post the video if it was not, then say how it went."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        turn = self._turns.setdefault(job, Lock())
        async with turn:
            note = await self._post_once(interaction, job, words, sharer)
        await interaction.followup.send(note, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _post_once(
        self, interaction: discord.Interaction[Any], job: str, words: Words, sharer: str
    ) -> str:
        guild = interaction.guild_id
        gallery = await self._surfaces.gallery_of(guild)
        message = interaction.message
        if guild is None or gallery is None or message is None:
            return words._("This server has no gallery. An admin can set one with /gallery.")
        chat = chat_key(Platform.DISCORD, guild)
        if await self._books.chat_setting(chat, _SHARED.format(job=job)):
            return words._("This dream is already in the gallery.")
        videos = [a for a in message.attachments if a.filename.endswith(".mp4")]
        if not videos:
            return words._("The video is no longer attached to this message.")
        # The post is in the sharer's language: a gallery has readers of every one.
        title = render.title_of(message.content) or words._("A dream")
        author = interaction.user.display_name
        try:
            posted = await interaction.client.get_partial_messageable(gallery).send(
                render.shared(title, author, videos[0].url, words), allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as exc:
            # The job is unaffected; the sharer hears why, and may press again.
            log.warning("gallery post for job %s failed: %s", job, exc)
            return words._(
                "Could not post to the gallery. An admin can check that I may write there."
            )
        await self._books.set_chat_setting(
            chat, _SHARED.format(job=job), str(posted.id), set_by=sharer
        )
        return words._("Shared to the gallery.")
