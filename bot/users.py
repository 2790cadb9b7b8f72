"""User and chat keys: the one place a platform's id becomes the engine's ``platform:id``."""

from __future__ import annotations

import enum
import re

from engine import UsageError


class Platform(enum.StrEnum):
    """The chat platforms whose people the books know."""

    TELEGRAM = "telegram"
    DISCORD = "discord"


_KEY = re.compile(rf"^({'|'.join(Platform)}):-?\d{{1,20}}$")


def user_key(platform: Platform, user_id: int) -> str:
    """The engine's key for a person on a platform, e.g. ``telegram:123``."""
    return f"{platform}:{user_id}"


def chat_key(platform: Platform, chat_id: int) -> str:
    """The engine's key for a group chat or a server, e.g. ``discord:456``."""
    return f"{platform}:{chat_id}"


def id_of(key: str) -> int:
    """The platform's own id inside a user or chat key."""
    return int(key.rsplit(":", 1)[1])


def parse_user(text: str) -> str:
    """A user key like ``telegram:123`` or ``discord:456`` (raises UsageError)."""
    user = text.strip().lower()
    if not _KEY.match(user):
        raise UsageError(f"USER must look like telegram:123 or discord:456, not {text!r}")
    return user
