"""Discord's raw mentions in a story become the names people see, before the engine has it.

A slash command's string option arrives as typed: ``<@123>`` for a member, ``<#123>`` for a
channel, ``<@&123>`` for a role, ``<:owl:123>`` for a custom emoji
(discord.com/developers/docs/reference#message-formatting). Each is replaced by its name, as
the Discord client shows it: a member's server nickname, else their global display name, else
their username; a channel's or a role's name (``@everyone`` without its sign); a custom
emoji's name. Names come from the interaction's resolved data when Discord sent it, else
discord.py's caches, else REST (``guild.fetch_member``, ``guild.fetch_roles``,
``client.fetch_channel``, ``client.fetch_user``), all lookups together bounded by
``LOOKUP_S`` so the answer still comes inside Discord's 3-second window. What cannot be
resolved is dropped. The names are plain text; the bot never sends them as mentions.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Mapping
from typing import Any, Literal

import discord

log = logging.getLogger(__name__)

LOOKUP_S = 1.0  # every REST lookup of one story together; then the story goes on without them
MOST_LOOKUPS = 10  # distinct ids looked up by REST for one story; the rest are dropped
MENTION = re.compile(r"<(?P<kind>@!?|@&|#)(?P<id>\d{15,21})>|<a?:(?P<emoji>\w{2,32}):\d{15,21}>")

Kind = Literal["user", "role", "channel"]
Key = tuple[Kind, int]
_KINDS: dict[str, Kind] = {"@": "user", "@!": "user", "@&": "role", "#": "channel"}
_DROPPED = "\ufdd0"  # where an unknown mention was, until the spaces around it are tidied
_DROPPED_BEFORE_MARK = re.compile(rf"[^\S\n]*{_DROPPED}(?=[,.;:!?)])")


def has_mentions(story: str) -> bool:
    """Whether ``readable_story`` would change the story (raw mentions or custom emoji)."""
    return MENTION.search(story) is not None


async def readable_story(interaction: discord.Interaction[Any], story: str) -> str:
    """The story with each raw mention replaced by its name (or dropped when unknown)."""
    wanted = {_key(m) for m in MENTION.finditer(story) if m["kind"]}
    names = _from_resolved(interaction.data or {}, wanted)
    for key in wanted - names.keys():
        if (name := _from_cache(interaction, key)) is not None:
            names[key] = name
    names |= await _from_rest(interaction, sorted(wanted - names.keys())[:MOST_LOOKUPS])

    def name_of(match: re.Match[str]) -> str:
        if match["emoji"]:
            return match["emoji"]
        return names.get(_key(match), _DROPPED).lstrip("@")

    text = _DROPPED_BEFORE_MARK.sub("", MENTION.sub(name_of, story))
    return text.replace(_DROPPED, "")


def _key(match: re.Match[str]) -> Key:
    return _KINDS[match["kind"]], int(match["id"])


def _from_resolved(data: Mapping[str, Any], wanted: set[Key]) -> dict[Key, str]:
    """Names from `data.resolved`, which Discord fills with what a command mentions."""
    resolved = data.get("resolved") or {}
    found: dict[Key, str] = {}
    for kind, ident in wanted:
        if kind == "user" and (user := resolved.get("users", {}).get(str(ident))):
            nick = (resolved.get("members", {}).get(str(ident)) or {}).get("nick")
            found[kind, ident] = nick or user.get("global_name") or user["username"]
        elif kind in ("role", "channel"):
            named = resolved.get(f"{kind}s", {}).get(str(ident)) or {}
            if named.get("name"):
                found[kind, ident] = named["name"]
    return found


def _from_cache(interaction: discord.Interaction[Any], key: Key) -> str | None:
    kind, ident = key
    guild, client = interaction.guild, interaction.client
    if kind == "user":
        member = guild.get_member(ident) if guild is not None else None
        user = member or client.get_user(ident)
        return user.display_name if user is not None else None
    if kind == "role":
        role = guild.get_role(ident) if guild is not None else None
        return role.name if role is not None else None
    channel = guild.get_channel_or_thread(ident) if guild is not None else None
    return getattr(channel or client.get_channel(ident), "name", None)


async def _from_rest(interaction: discord.Interaction[Any], keys: list[Key]) -> dict[Key, str]:
    """Look the rest up at once; what has not answered within LOOKUP_S is given up."""
    guild, client = interaction.guild, interaction.client
    lookups: list[Awaitable[dict[Key, str]]] = []
    if any(kind == "role" for kind, _ in keys) and guild is not None:
        lookups.append(_roles(guild))
    for kind, ident in keys:
        if kind == "user":
            lookups.append(_user(guild, client, ident))
        elif kind == "channel":
            lookups.append(_channel(client, ident))
    if not lookups:
        return {}
    tasks = [asyncio.ensure_future(lookup) for lookup in lookups]
    done, pending = await asyncio.wait(tasks, timeout=LOOKUP_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    found: dict[Key, str] = {}
    for task in done:
        if (error := task.exception()) is not None:
            log.warning("a mention lookup failed: %r", error)
        else:
            found |= task.result()
    if pending:
        log.info("%d mention lookups did not answer within %.1f s", len(pending), LOOKUP_S)
    return found


async def _roles(guild: discord.Guild) -> dict[Key, str]:
    try:
        return {("role", role.id): role.name for role in await guild.fetch_roles()}
    except discord.DiscordException:
        return {}


async def _user(guild: discord.Guild | None, client: discord.Client, ident: int) -> dict[Key, str]:
    try:
        if guild is not None:
            member = await guild.fetch_member(ident)
            return {("user", ident): member.display_name}
        return {("user", ident): (await client.fetch_user(ident)).display_name}
    except discord.DiscordException:
        return {}  # not a member of this server, or no such user: dropped


async def _channel(client: discord.Client, ident: int) -> dict[Key, str]:
    try:
        channel = await client.fetch_channel(ident)
    except discord.DiscordException:
        return {}
    name = getattr(channel, "name", None)
    return {("channel", ident): name} if name else {}
