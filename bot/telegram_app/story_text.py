"""A Telegram message's story as words: its entities read, so no id, link or command is left.

Telegram sends formatting beside the text, as entities (core.telegram.org/bots/api#messageentity)
whose offsets and lengths count UTF-16 code units, so an emoji or any other character outside
the Basic Multilingual Plane counts two. Bold, italics, spoilers, code and quotes already are
plain text; only the entities that stand for something else are rewritten:

- ``text_mention`` (a user without a username): that user's first name;
- ``mention`` (``@username``) and ``hashtag`` (``#word``): the word, without its sign;
- ``url`` and ``email``: removed, never spelled out; a ``text_link`` keeps its text;
- ``bot_command``: the command that asked for the dream is removed, others lose their ``/``.

Markdown or HTML the user typed literally is the engine's to reduce (``validate_story``).
"""

from __future__ import annotations

from aiogram.enums import MessageEntityType
from aiogram.types import Message, MessageEntity

_REMOVED = frozenset({MessageEntityType.URL, MessageEntityType.EMAIL})
_SIGNED = {
    MessageEntityType.MENTION: "@",
    MessageEntityType.HASHTAG: "#",
    MessageEntityType.BOT_COMMAND: "/",
}
_REWRITTEN = _REMOVED | set(_SIGNED) | {MessageEntityType.TEXT_MENTION}


def story_text(message: Message) -> str:
    """The message's text with its entities resolved and a leading /command left out."""
    text = message.text or ""
    units = text.encode("utf-16-le")
    pieces: list[str] = []
    at = 0  # in UTF-16 code units, as the entities count
    for entity in sorted(message.entities or [], key=lambda e: e.offset):
        if entity.type not in _REWRITTEN or entity.offset < at:
            continue  # formatting is already plain text; overlaps cannot happen, but skip them
        pieces.append(_units(units, at, entity.offset))
        pieces.append(_rewrite(entity, _units(units, entity.offset, entity.offset + entity.length)))
        at = entity.offset + entity.length
    pieces.append(_units(units, at, len(units) // 2))
    return "".join(pieces).strip()


def _rewrite(entity: MessageEntity, shown: str) -> str:
    if entity.type in _REMOVED:
        return ""
    if entity.type == MessageEntityType.TEXT_MENTION:
        return entity.user.first_name if entity.user is not None else shown
    if entity.type == MessageEntityType.BOT_COMMAND and entity.offset == 0:
        return ""  # /dream or /dream@thisbot: the asking, not the story
    return shown.removeprefix(_SIGNED[MessageEntityType(entity.type)]).split("@", 1)[0]


def _units(units: bytes, start: int, end: int) -> str:
    return units[start * 2 : end * 2].decode("utf-16-le")
