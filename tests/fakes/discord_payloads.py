"""Discord gateway payloads shared by the fake REST API and tests: interactions, users, guilds.

The shapes follow what Discord sends in INTERACTION_CREATE and GUILD_CREATE events, with the
keys discord.py 2.7 reads (interactions.py, member.py, channel.py, app_commands/namespace.py).
Snowflakes are strings, as on the wire; ids are made from the current time so that discord.py's
`created_at` and `Interaction.expires_at` (created_at + 15 minutes) are meaningful.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
UPLOAD_LIMIT = 10 * 1024 * 1024  # attachment_size_limit of a guild without boosts
APPLICATION_ID = 1_300_000_000_000_000_001  # the bot user's id is the application's id
GUILD_ID = 1_300_000_000_000_000_100
CHANNEL_ID = 1_300_000_000_000_000_200
USER_ID = 1_300_000_000_000_000_300
# view_channel, send_messages, embed_links, attach_files, read_message_history,
# use_external_emojis, use_application_commands, send_messages_in_threads
APP_PERMISSIONS = sum(1 << bit for bit in (10, 11, 14, 15, 16, 18, 31, 38))
MEMBER_PERMISSIONS = APP_PERMISSIONS
CHANNEL_TEXT, CHANNEL_DM = 0, 1
CONTEXT_GUILD, CONTEXT_BOT_DM = 0, 1
INTERACTION_COMMAND, INTERACTION_COMPONENT, INTERACTION_MODAL_SUBMIT = 2, 3, 5
OPTION_TYPES = {bool: 5, int: 4, float: 10, str: 3}  # bool before int: bool is an int

_counter = itertools.count()


def snowflake(at: float | None = None) -> int:
    """A fresh id whose timestamp is `at` (seconds since the Unix epoch), now by default."""
    ms = int((time.time() if at is None else at) * 1000)
    return ((ms - DISCORD_EPOCH_MS) << 22) | (next(_counter) % 4096)


def snowflake_time(value: int | str) -> float:
    return ((int(value) >> 22) + DISCORD_EPOCH_MS) / 1000


def iso(at: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if at is None else at, UTC).isoformat()


def new_token() -> str:
    """Interaction tokens are long opaque strings, safe in a URL path."""
    return "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)


def user_json(user_id: int, username: str | None = None, *, bot: bool = False) -> dict[str, Any]:
    name = username or f"user{user_id % 100000}"
    user: dict[str, Any] = {
        "id": str(user_id), "username": name, "discriminator": "0", "global_name": name.title(),
        "avatar": None, "public_flags": 0, "avatar_decoration_data": None, "primary_guild": None,
        "collectibles": None,
    }  # fmt: skip
    if bot:
        user |= {"bot": True, "global_name": None}
    return user


def role_json(
    role_id: int, guild_id: int, name: str, *, position: int = 0, permissions: int = 0
) -> dict[str, Any]:
    """A role object (discord.com/developers/docs/topics/permissions#role-object); the
    guild's @everyone role has the guild's id."""
    return {
        "id": str(role_id), "name": name, "color": 0, "hoist": False, "icon": None,
        "unicode_emoji": None, "position": position, "permissions": str(permissions),
        "managed": False, "mentionable": role_id != guild_id, "flags": 0,
    }  # fmt: skip


def member_json(
    user_id: int,
    username: str | None = None,
    *,
    roles: list[int] | None = None,
    permissions: int = MEMBER_PERMISSIONS,
    with_user: bool = True,
) -> dict[str, Any]:
    """A guild member as in an interaction: with `permissions`, the member's in the channel."""
    member: dict[str, Any] = {
        "roles": [str(r) for r in roles or []], "joined_at": iso(time.time() - 86400),
        "premium_since": None, "nick": None, "avatar": None, "banner": None, "deaf": False,
        "mute": False, "pending": False, "flags": 0, "communication_disabled_until": None,
        "unusual_dm_activity_until": None, "permissions": str(permissions),
    }  # fmt: skip
    if with_user:
        member["user"] = user_json(user_id, username)
    return member


def channel_json(
    channel_id: int,
    guild_id: int | None,
    *,
    name: str | None = None,
    channel_type: int = CHANNEL_TEXT,
    permissions: int = APP_PERMISSIONS,
    recipient: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The partial channel Discord puts in interactions (and in resolved.channels)."""
    if guild_id is None:
        return {
            "id": str(channel_id), "type": CHANNEL_DM, "last_message_id": None, "flags": 0,
            "recipients": [recipient] if recipient else [],
        }  # fmt: skip
    return {
        "id": str(channel_id), "type": channel_type, "guild_id": str(guild_id),
        "name": name or f"channel-{channel_id % 1000}", "position": 0, "parent_id": None,
        "topic": None, "nsfw": False, "rate_limit_per_user": 0, "last_message_id": None,
        "flags": 0, "permissions": str(permissions),
    }  # fmt: skip


def guild_json(
    guild_id: int = GUILD_ID,
    *,
    name: str = "Dream Guild",
    channels: list[dict[str, Any]] | None = None,
    everyone_permissions: int = MEMBER_PERMISSIONS,
    owner_id: int = USER_ID,
) -> dict[str, Any]:
    """A GUILD_CREATE payload: feed it with `deliver_event(client, "GUILD_CREATE", ...)` so that
    `interaction.guild.get_channel()` and channel options (`discord.TextChannel`) resolve."""
    everyone = role_json(guild_id, guild_id, "@everyone", permissions=everyone_permissions)
    listed = []
    for channel in channels if channels is not None else [channel_json(CHANNEL_ID, guild_id)]:
        listed.append({k: v for k, v in channel.items() if k != "permissions"})
    return {
        "id": str(guild_id), "name": name, "icon": None, "owner_id": str(owner_id),
        "roles": [everyone], "emojis": [], "stickers": [], "features": [], "channels": listed,
        "threads": [], "members": [], "voice_states": [], "presences": [], "member_count": 2,
        "large": False, "unavailable": False, "preferred_locale": "en-US", "premium_tier": 0,
        "joined_at": iso(), "verification_level": 0, "mfa_level": 0, "nsfw_level": 0,
        "system_channel_flags": 0, "default_message_notifications": 0,
        "explicit_content_filter": 0, "afk_timeout": 300,
    }  # fmt: skip


@dataclass(frozen=True)
class UserOption:
    """A `discord.User`/`discord.Member` option value (type 6), resolved like Discord does."""

    user_id: int
    username: str | None = None


@dataclass(frozen=True)
class ChannelOption:
    """A channel option value (type 7): resolved.channels carries the partial channel."""

    channel_id: int
    name: str | None = None
    channel_type: int = CHANNEL_TEXT


def _options(
    options: dict[str, Any], guild_id: int | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    listed: list[dict[str, Any]] = []
    resolved: dict[str, dict[str, Any]] = {}
    for name, value in options.items():
        if isinstance(value, UserOption):
            key = str(value.user_id)
            resolved.setdefault("users", {})[key] = user_json(value.user_id, value.username)
            if guild_id is not None:
                member = member_json(value.user_id, with_user=False)
                resolved.setdefault("members", {})[key] = member
            listed.append({"name": name, "type": 6, "value": key})
        elif isinstance(value, ChannelOption):
            key = str(value.channel_id)
            channel = channel_json(
                value.channel_id, guild_id, name=value.name, channel_type=value.channel_type
            )
            resolved.setdefault("channels", {})[key] = channel
            listed.append({"name": name, "type": 7, "value": key})
        else:
            kind = next((t for py, t in OPTION_TYPES.items() if isinstance(value, py)), None)
            if kind is None:
                raise TypeError(f"option {name!r}: no Discord option type for {value!r}")
            listed.append({"name": name, "type": kind, "value": value})
    return listed, resolved


def _interaction(
    kind: int,
    data: dict[str, Any],
    *,
    user_id: int,
    username: str | None,
    guild_id: int | None,
    channel_id: int,
    application_id: int,
    attachment_size_limit: int,
    locale: str,
    app_permissions: int,
    interaction_id: int | None,
    token: str | None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(interaction_id or snowflake()), "application_id": str(application_id),
        "type": kind, "data": data, "token": token or new_token(), "version": 1,
        "channel_id": str(channel_id), "app_permissions": str(app_permissions),
        "locale": locale, "entitlements": [], "entitlement_sku_ids": [],
        "attachment_size_limit": attachment_size_limit,
    }  # fmt: skip
    user = user_json(user_id, username)
    if guild_id is None:
        payload |= {
            "user": user,
            "channel": channel_json(channel_id, None, recipient=user),
            "context": CONTEXT_BOT_DM,
            "authorizing_integration_owners": {"0": "0"},
        }
    else:
        payload |= {
            "guild_id": str(guild_id),
            "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
            "guild_locale": "en-US",
            "member": member_json(user_id, username),
            "channel": channel_json(channel_id, guild_id),
            "context": CONTEXT_GUILD,
            "authorizing_integration_owners": {"0": str(guild_id)},
        }
    return payload


def command_payload(
    name: str,
    options: dict[str, Any] | None = None,
    *,
    user_id: int = USER_ID,
    username: str | None = None,
    guild_id: int | None = GUILD_ID,
    channel_id: int = CHANNEL_ID,
    application_id: int = APPLICATION_ID,
    attachment_size_limit: int = UPLOAD_LIMIT,
    command_id: int | None = None,
    locale: str = "en-US",
    app_permissions: int = APP_PERMISSIONS,
    interaction_id: int | None = None,
    token: str | None = None,
    mentioned: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An INTERACTION_CREATE for a slash command (type 2, command type 1 CHAT_INPUT).

    `options` maps option names to values: str, int, float and bool become option types 3, 4,
    10 and 5; `UserOption` and `ChannelOption` become types 6 and 7 with `resolved` data.
    `mentioned` adds what Discord resolves of the mentions typed into a string option:
    `users`, `members` (without `user`), `roles` and `channels` by id, the shapes of the
    resolved data structure (discord.com/developers/docs/interactions/receiving-and-responding
    #interaction-object-resolved-data-structure).
    `guild_id=None` makes it a DM with the bot (`user` instead of `member`).
    """
    listed, resolved = _options(options or {}, guild_id)
    for kind, found in (mentioned or {}).items():
        resolved.setdefault(kind, {}).update(found)
    data: dict[str, Any] = {
        "id": str(command_id or snowflake(time.time() - 3600)), "name": name, "type": 1,
    }  # fmt: skip
    if listed:
        data["options"] = listed
    if resolved:
        data["resolved"] = resolved
    if guild_id is not None:
        data["guild_id"] = str(guild_id)  # a guild command, as the bot syncs them per guild
    return _interaction(
        INTERACTION_COMMAND, data, user_id=user_id, username=username, guild_id=guild_id,
        channel_id=channel_id, application_id=application_id,
        attachment_size_limit=attachment_size_limit, locale=locale,
        app_permissions=app_permissions, interaction_id=interaction_id, token=token,
    )  # fmt: skip


def button_payload(
    custom_id: str,
    *,
    message: dict[str, Any],
    user_id: int = USER_ID,
    username: str | None = None,
    guild_id: int | None = GUILD_ID,
    channel_id: int | None = None,
    application_id: int = APPLICATION_ID,
    attachment_size_limit: int = UPLOAD_LIMIT,
    locale: str = "en-US",
    app_permissions: int = APP_PERMISSIONS,
    interaction_id: int | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """An INTERACTION_CREATE for a button press (type 3, component_type 2) on `message`."""
    data = {"custom_id": custom_id, "component_type": 2}
    payload = _interaction(
        INTERACTION_COMPONENT, data, user_id=user_id, username=username, guild_id=guild_id,
        channel_id=channel_id or int(message["channel_id"]), application_id=application_id,
        attachment_size_limit=attachment_size_limit, locale=locale,
        app_permissions=app_permissions, interaction_id=interaction_id, token=token,
    )  # fmt: skip
    payload["message"] = message
    return payload


def modal_submit_payload(
    custom_id: str,
    values: dict[str, str],
    *,
    message: dict[str, Any] | None = None,
    user_id: int = USER_ID,
    username: str | None = None,
    guild_id: int | None = GUILD_ID,
    channel_id: int = CHANNEL_ID,
    application_id: int = APPLICATION_ID,
    attachment_size_limit: int = UPLOAD_LIMIT,
    locale: str = "en-US",
    app_permissions: int = APP_PERMISSIONS,
) -> dict[str, Any]:
    """An INTERACTION_CREATE for a submitted modal (type 5 MODAL_SUBMIT): each text input's
    value by its custom id, one per action row (the modal submit data structure,
    docs.discord.com/developers/interactions/receiving-and-responding#interaction-object-
    modal-submit-data-structure); `message` is the one whose button opened the modal."""
    rows = [
        {"type": 1, "components": [{"type": 4, "custom_id": key, "value": value}]}
        for key, value in values.items()
    ]
    payload = _interaction(
        INTERACTION_MODAL_SUBMIT, {"custom_id": custom_id, "components": rows},
        user_id=user_id, username=username, guild_id=guild_id, channel_id=channel_id,
        application_id=application_id, attachment_size_limit=attachment_size_limit,
        locale=locale, app_permissions=app_permissions, interaction_id=None, token=None,
    )  # fmt: skip
    if message is not None:
        payload["message"] = message
    return payload
