"""Buttons under a job's message, matched by custom id so they work after a restart.

A press is handled by whatever the client offers as ``presses`` (the ``Presses`` protocol),
so this module knows nothing of the app above it.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, cast

import discord

from bot.actions import NOT_YOURS
from bot.discord_app.locale import words_of
from bot.i18n import ENGLISH, Words
from engine import N_, Action

LABELS: dict[Action, tuple[str, discord.ButtonStyle]] = {
    Action.CANCEL: (N_("✖ Cancel"), discord.ButtonStyle.secondary),
    Action.REGENERATE: (N_("🔁 Regenerate"), discord.ButtonStyle.primary),
    Action.SHARE: (N_("📣 Share"), discord.ButtonStyle.secondary),
    Action.EDIT: (N_("✏️ Edit"), discord.ButtonStyle.secondary),
    Action.RESEND: (N_("▶ Send here"), discord.ButtonStyle.secondary),
}


class Presses(Protocol):
    """What a button needs from the bot: who may press, and what a press does."""

    async def is_owner(self, interaction: discord.Interaction[Any], job: str) -> bool:
        """Whether the presser asked for the job."""
        ...

    async def press(self, interaction: discord.Interaction[Any], action: Action, job: str) -> None:
        """Do what the button says."""
        ...


class _Pressable(Protocol):
    presses: Presses


def _presses(interaction: discord.Interaction[Any]) -> Presses:
    return cast("_Pressable", interaction.client).presses


class JobButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"dream:(?P<action>{'|'.join(tuple(Action))}):(?P<job>[0-9a-f]{{12}})",
):
    """A press names an action and a job; who may press is checked against the job's owner."""

    def __init__(self, action: Action, job: str, words: Words = ENGLISH) -> None:
        label, style = LABELS[action]
        super().__init__(
            discord.ui.Button(label=words._(label), style=style, custom_id=f"dream:{action}:{job}")
        )
        self.action, self.job = action, job

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> JobButton:
        """Rebuild the button from a press (also after a restart)."""
        return cls(Action(match["action"]), match["job"])

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Only the person who asked may press; anyone else gets an ephemeral note."""
        if await _presses(interaction).is_owner(interaction, self.job):
            return True
        await interaction.response.send_message(words_of(interaction)._(NOT_YOURS), ephemeral=True)
        return False

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to the bot."""
        await _presses(interaction).press(interaction, self.action, self.job)


def _view(*buttons: JobButton) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for button in buttons:
        view.add_item(button)
    return view


def running_view(job: str, words: Words) -> discord.ui.View:
    """While a job runs: Cancel."""
    return _view(JobButton(Action.CANCEL, job, words))


def finished_view(job: str, words: Words, *, can_share: bool) -> discord.ui.View:
    """After delivery: Regenerate, Edit, and Share when the server has a gallery."""
    buttons = [JobButton(Action.REGENERATE, job, words), JobButton(Action.EDIT, job, words)]
    if can_share:
        buttons.append(JobButton(Action.SHARE, job, words))
    return _view(*buttons)


def failed_view(job: str, words: Words) -> discord.ui.View:
    """After a failure or cancel: Regenerate."""
    return _view(JobButton(Action.REGENERATE, job, words))
