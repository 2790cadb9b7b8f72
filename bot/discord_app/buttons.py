"""Buttons under a job's message, matched by custom id so they work after a restart."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    from bot.discord_app.app import DiscordApp

LABELS = {
    "cancel": ("✖ Cancel", discord.ButtonStyle.secondary),
    "regenerate": ("🔁 Regenerate", discord.ButtonStyle.primary),
    "share": ("📣 Share", discord.ButtonStyle.secondary),
}


class JobButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"dream:(?P<action>cancel|regenerate|share):(?P<job>[0-9a-f]{12})",
):
    """A press names an action and a job; who may press is checked against the job's owner."""

    def __init__(self, action: str, job: str) -> None:
        label, style = LABELS[action]
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=f"dream:{action}:{job}")
        )
        self.action, self.job = action, job

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> JobButton:
        """Rebuild the button from a press (also after a restart)."""
        return cls(match["action"], match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Hand the press to the app that owns the client."""
        app: DiscordApp = interaction.client.app  # type: ignore[attr-defined]
        await app.press(interaction, self.action, self.job)


def _view(*buttons: JobButton) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for button in buttons:
        view.add_item(button)
    return view


def running_view(job: str) -> discord.ui.View:
    """While a job runs: Cancel."""
    return _view(JobButton("cancel", job))


def finished_view(job: str, *, can_share: bool) -> discord.ui.View:
    """After delivery: Regenerate, and Share when the server has a gallery."""
    buttons = [JobButton("regenerate", job)]
    if can_share:
        buttons.append(JobButton("share", job))
    return _view(*buttons)


def failed_view(job: str) -> discord.ui.View:
    """After a failure or cancel: Regenerate."""
    return _view(JobButton("regenerate", job))
