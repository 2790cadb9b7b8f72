"""Telegram payloads shared by the fake Bot API and tests: incoming updates, chats, parse modes."""

from __future__ import annotations

import html
import re
import time
from typing import Any

# Tags Telegram's HTML parse mode understands; anything else is "Unsupported start tag".
HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
     "code", "pre", "blockquote", "tg-emoji", "tg-time"}
)  # fmt: skip
HTML_TOKEN = re.compile(r"<(/?)([^\s<>/]*)[^<>]*>|<|&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);|&")
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024  # in UTF-16 units, after entities are parsed
MD_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
MD_NAMES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough",
            "||": "spoiler", "`": "code", "```": "pre", "[": "text URL"}  # fmt: skip


def chat_json(chat_id: int, chat_type: str | None = None) -> dict[str, Any]:
    """Without a known type, the id's sign decides, as in Telegram: users > 0, groups < 0."""
    if chat_type is None:
        chat_type = "private" if chat_id > 0 else "supergroup" if chat_id < -(10**12) else "group"
    if chat_type == "private":
        return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
    return {"id": chat_id, "type": chat_type, "title": f"Chat {chat_id}"}


def user_json(user_id: int, username: str | None = None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
    if username is not None:
        user["username"] = username
    return user


def utf16_len(text: str) -> int:
    """Telegram counts lengths and entity offsets in UTF-16 code units, not code points."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict[str, Any]]:
    """A leading /command (with its @botname) is a bot_command entity, as clients send it."""
    if not text.startswith("/"):
        return []
    token = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(token)}]


def entity(kind: str, text: str, part: str, **extra: Any) -> dict[str, Any]:
    """A MessageEntity of `kind` over the first `part` in `text`, measured as Telegram does."""
    start = text.index(part)
    return {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(part)} | extra


# What the Bot API promises of the entities it sends (core.telegram.org/bots/api#messageentity):
# offset and length in UTF-16 code units, inside the text; `url` for "text_link" only, `user`
# for "text_mention" only, `custom_emoji_id` for "custom_emoji" only.
ENTITY_EXTRAS = {"text_link": "url", "text_mention": "user", "custom_emoji": "custom_emoji_id"}


def check_entities(text: str, entities: list[dict[str, Any]]) -> None:
    """Raise ValueError for an entity Telegram would never send with `text`."""
    for found in entities:
        end = found["offset"] + found["length"]
        if found["offset"] < 0 or found["length"] <= 0 or end > utf16_len(text):
            raise ValueError(f"entity {found} is outside the text's UTF-16 code units")
        for kind, key in ENTITY_EXTRAS.items():
            if (key in found) != (found["type"] == kind):
                raise ValueError(f"entity {found}: {key!r} belongs to {kind!r} entities only")


def message_update(
    update_id: int,
    chat_id: int,
    user_id: int,
    text: str,
    chat_type: str = "private",
    username: str | None = None,
    message_id: int = 1,
    reply_to: int | dict[str, Any] | None = None,
    thread_id: int | None = None,
    entities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An Update for `Update.model_validate(d, context={"bot": bot})` or dp.feed_raw_update.

    `entities` are added after the leading /command's (see `entity()` to make them)."""
    chat = chat_json(chat_id, chat_type)
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat,
        "from": user_json(user_id, username),
        "text": text,
    }
    listed = command_entities(text) + list(entities or [])
    check_entities(text, listed)
    if listed:
        message["entities"] = listed
    if isinstance(reply_to, int):  # only the id is known: the smallest valid Message
        reply_to = {"message_id": reply_to, "date": int(time.time()), "chat": chat}
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    if thread_id is not None:
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
    return {"update_id": update_id, "message": message}


def inline_update(update_id: int, user_id: int, query: str) -> dict[str, Any]:
    """An inline query: someone typing "@bot QUERY" in any chat (Bot API, InlineQuery)."""
    inline = {
        "id": f"iq-{update_id}",
        "from": user_json(user_id),
        "query": query[:256],  # "Text of the query (up to 256 characters)"
        "offset": "",
        "chat_type": "private",
    }
    return {"update_id": update_id, "inline_query": inline}


def callback_update(
    update_id: int,
    chat_id: int,
    user_id: int,
    message_id: int,
    data: str,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A button press; without the message's JSON it arrives as an InaccessibleMessage."""
    if message is None:
        message = {"chat": chat_json(chat_id), "message_id": message_id, "date": 0}
    query = {
        "id": f"cb-{update_id}",
        "from": user_json(user_id),
        "chat_instance": str(chat_id),
        "message": message,
        "data": data,
    }
    return {"update_id": update_id, "callback_query": query}


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def text_problem(text: str, parse_mode: str | None, caption: bool = False) -> str | None:
    """Why Telegram would refuse a message text or caption, in its words after "Bad Request: "."""
    error = {"HTML": _html_error, "MarkdownV2": _markdown_v2_error}.get(parse_mode or "")
    if error is not None and (why := error(text)):
        return f"can't parse entities: {why}"
    plain = plain_text(text, parse_mode)
    if utf16_len(plain) > (CAPTION_LIMIT if caption else TEXT_LIMIT):
        return "message caption is too long" if caption else "message is too long"
    if not caption and not plain.strip():
        return "message text is empty"
    return None


def _html_error(text: str) -> str | None:
    # Stricter than Telegram on a bare '&' (it keeps one literally): escaping it is always right.
    stack: list[str] = []
    for match in HTML_TOKEN.finditer(text):
        found, at = match.group(0), _offset(text, match.start())
        if found == "&":
            return f"Can't find end of the entity starting at byte offset {at}"
        if found == "<":
            return f"Unclosed start tag at byte offset {at}"
        if found.startswith("&"):
            continue
        closing, name = match.group(1), match.group(2).lower()
        if not closing:
            if name not in HTML_TAGS:
                return f'Unsupported start tag "{name}" at byte offset {at}'
            stack.append(name)
        elif not stack:
            return f"Unexpected end tag at byte offset {at}"
        elif stack[-1] != name:
            expected = f'expected "</{stack[-1]}>", found "</{name}>"'
            return f"Unmatched end tag at byte offset {at}, {expected}"
        else:
            stack.pop()
    if stack:
        return f'Can\'t find end tag corresponding to start tag "{stack[-1]}"'
    return None


def _markdown_v2_error(text: str) -> str | None:
    stack: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if stack and stack[-1][0] in ("`", "```"):  # inside code only ` and \ are special
            if text.startswith(stack[-1][0], i):
                i += len(stack.pop()[0])
            else:
                i += 1
            continue
        mark = next((m for m in ("```", "__", "||", char) if text.startswith(m, i)), char)
        if mark in MD_NAMES and mark != "[":
            if stack and stack[-1][0] == mark:
                stack.pop()
            else:
                stack.append((mark, i))
            i += len(mark)
            continue
        if char == "[":
            stack.append(("[", i))
        elif char == "]" and stack and stack[-1][0] == "[":
            stack.pop()
            if text.startswith("(", i + 1):
                end = re.compile(r"(?:\\.|[^\\)])*\)").match(text, i + 2)
                if end is None:
                    return f"Can't find end of a URL at byte offset {_offset(text, i + 1)}"
                i = end.end()
                continue
        elif char == ">" and (i == 0 or text[i - 1] == "\n"):
            pass  # a blockquote
        elif char in MD_RESERVED:
            return f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        i += 1
    if stack:
        mark, at = stack[-1]
        return f"Can't find end of {MD_NAMES[mark]} entity at byte offset {_offset(text, at)}"
    return None


def plain_text(text: str, parse_mode: str | None) -> str:
    """The text a user sees, whose length the 4096/1024 limits apply to."""
    if parse_mode == "HTML":
        return html.unescape(re.sub(r"<[^<>]*>", "", text))
    if parse_mode == "MarkdownV2":
        text = re.sub(r"\]\((?:\\.|[^\\)])*\)", "]", text)
        text = re.sub(r"(?m)^>", "", text)
        return re.sub(r"\\(.)|[*_~|`\[\]]", lambda m: m.group(1) or "", text)
    return text
