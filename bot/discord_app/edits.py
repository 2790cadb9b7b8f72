"""Edit: a finished dream's story in a modal, filled in; what is sent back is made again.

The new job keeps the dream's seed and look, so the scenes the change left alone come from
the cache, and quickly. The modal answers the Edit press (interaction callback type 9,
docs.discord.com/developers/interactions/receiving-and-responding#interaction-response-
object-interaction-callback-type); its submission is a new interaction, which the job's
message then answers like /dream.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.chat_jobs import ChatJobs
from bot.discord_app.locale import words_of
from bot.discord_app.places import DiscordSurfaces, start_dream
from bot.i18n import Words
from engine import PastDream

STORY_MAX = 1500  # as /dream's story option
TITLE_MAX = 45  # a modal's title and a text input's label: at most 45 characters


class EditModal(discord.ui.Modal):
    """The story of one past dream, to change and send."""

    def __init__(
        self, past: PastDream, jobs: ChatJobs, surfaces: DiscordSurfaces, words: Words
    ) -> None:
        super().__init__(
            title=words._("Edit your dream")[:TITLE_MAX], custom_id=f"edit:{past.job_id}"
        )
        self._past, self._jobs, self._surfaces = past, jobs, surfaces
        self.story: discord.ui.TextInput[EditModal] = discord.ui.TextInput(
            label=words._("Your story")[:TITLE_MAX],
            style=discord.TextStyle.paragraph,
            default=past.story[:STORY_MAX],
            max_length=STORY_MAX,
            custom_id="story",
        )
        self.add_item(self.story)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        """The changed story, made again as the dream was."""
        ask = self._jobs.edited(self._past, self.story.value, self._past.chat)
        await start_dream(interaction, ask, self._jobs, self._surfaces)


async def open_editor(
    interaction: discord.Interaction[Any], jobs: ChatJobs, surfaces: DiscordSurfaces, job: str
) -> None:
    """Answer an Edit press with the modal (the button already checked the owner)."""
    words = words_of(interaction)
    past = await jobs.engine.books.past(job)
    if past is None:
        await interaction.response.send_message(
            words._("That dream is too old to make again."), ephemeral=True
        )
        return
    await interaction.response.send_modal(EditModal(past, jobs, surfaces, words))
