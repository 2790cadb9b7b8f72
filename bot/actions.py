"""The buttons a chat job offers: the engine's actions, and Share until the engine has it."""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

from engine import Action

NOT_YOURS = "Only the person who asked for this dream can do that."
# engine.Action has no SHARE yet (asked for); until it has, this is the one place the word is.
SHARE: Final = "share"
ButtonAction: TypeAlias = Action | Literal["share"]
BUTTON_ACTIONS: Final[tuple[ButtonAction, ...]] = (*Action, SHARE)


def parse_action(value: str) -> ButtonAction:
    """A button's action from the value it carries (ValueError if it names none)."""
    return SHARE if value == SHARE else Action(value)
