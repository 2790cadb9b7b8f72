"""Inline buttons under a job's message; callback data names the job, never trusts the presser."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Words
from engine import Action


class JobButton(CallbackData, prefix="job"):
    """A button press: what to do, to which job."""

    action: Action
    job: str


def _button(text: str, action: Action, job: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=JobButton(action=action, job=job).pack())


def running(job: str, words: Words) -> InlineKeyboardMarkup:
    """While a job runs: Cancel."""
    return InlineKeyboardMarkup(
        inline_keyboard=[[_button(words._("✖ Cancel"), Action.CANCEL, job)]]
    )


def finished(job: str, words: Words, *, can_share: bool) -> InlineKeyboardMarkup:
    """After delivery: Regenerate, and Share when a gallery is set."""
    row = [_button(words._("🔁 Regenerate"), Action.REGENERATE, job)]
    if can_share:
        row.append(_button(words._("📣 Share"), Action.SHARE, job))
    return InlineKeyboardMarkup(inline_keyboard=[row])


def failed(job: str, words: Words) -> InlineKeyboardMarkup:
    """After a failure or cancel: Regenerate."""
    return InlineKeyboardMarkup(
        inline_keyboard=[[_button(words._("🔁 Try again"), Action.REGENERATE, job)]]
    )
