"""A person's past dreams on Discord: /mydreams, and sending one again by its video's URL.

Nothing is uploaded or made again: Discord shows a video from its own attachment URL. The
URL stored at delivery is signed and expires, so the message is read again for a fresh one
first; the stored URL is the fallback when the message cannot be read.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.discord_app import render
from bot.discord_app.buttons import JobButton
from bot.discord_app.locale import words_of
from bot.discord_app.surface import NO_MENTIONS, Place
from engine import Action, Books, PastDream

log = logging.getLogger(__name__)

TITLE_CHARS = 60


def place_of(dream: PastDream) -> Place | None:
    """Where a past dream's video was delivered, if it was kept."""
    place = Place.from_ref(dream.surface or "")
    return place if place is not None and place.video_url else None


def headline(dream: PastDream) -> str:
    """A past dream by the first words of its story, on one line, markdown escaped."""
    text = " ".join(dream.story.split())
    return render.escape(text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…")


async def list_dreams(interaction: discord.Interaction[Any], books: Books, user: str) -> None:
    """The last ten, newest first, each with a button that sends it to this channel."""
    words = words_of(interaction)
    dreams = [dream for dream in await books.history(user) if place_of(dream) is not None]
    if not dreams:
        await interaction.response.send_message(
            words._("You have no dreams yet. Use /dream to make one."), ephemeral=True
        )
        return
    lines = [words._("Your latest dreams:")]
    view = discord.ui.View(timeout=None)
    for number, dream in enumerate(dreams, start=1):
        when = f"<t:{int(dream.created_at.timestamp())}:d>"
        lines.append(f"{number}. {headline(dream)} · {when}")
        button = JobButton(Action.RESEND, dream.job_id, words)
        button.item.label = f"▶ {number}"
        view.add_item(button)
    await interaction.response.send_message(
        render.clip("\n".join(lines)), view=view, ephemeral=True, allowed_mentions=NO_MENTIONS
    )


async def send_again(interaction: discord.Interaction[Any], books: Books, job: str) -> None:
    """Post a past dream's video in the channel where the button was pressed."""
    words = words_of(interaction)
    dream = await books.past(job)
    place = place_of(dream) if dream is not None else None
    if dream is None or place is None:
        await interaction.response.send_message(
            words._("That dream can no longer be sent."), ephemeral=True
        )
        return
    url = await _fresh_url(interaction.client, place)
    await interaction.response.send_message(
        f"🌙 {headline(dream)}\n{url}", allowed_mentions=NO_MENTIONS
    )


async def _fresh_url(client: discord.Client, place: Place) -> str:
    """The video's URL as the message has it now (signed afresh), else the stored one."""
    stored = place.video_url or ""
    if place.video_message_id is None:
        return stored
    channel = client.get_partial_messageable(place.channel_id)
    try:
        message = await channel.fetch_message(place.video_message_id)
    except discord.HTTPException as exc:
        log.info("the message of a past dream could not be read: %s", exc)
        return stored
    videos = [a.url for a in message.attachments if a.filename.endswith(".mp4")]
    return videos[0] if videos else stored
