"""The message rules Discord enforces on every create and edit, each cited from its docs.

Used by the fake Discord API (tests/fakes/discord_api.py) on messages, interaction responses,
followups and their edits. Each check returns the form error Discord answers with (400, code
50035 "Invalid Form Body", the offending field's path in ``errors``), or None; the error codes
are the ones Discord's own form errors carry.
"""

from __future__ import annotations

from typing import Any

Problem = tuple[list[str], str, str]  # path, form-error code, message

# docs.discord.com/developers/resources/message#create-message-jsonform-params: "content: Message
# contents (up to 2000 characters)"; "embeds: Up to 10 rich embeds (up to 6000 characters)".
EMBEDS_LIMIT = 10

# docs.discord.com/developers/components/reference#action-row: "Action Rows ... can contain up
# to 5 contextually grouped buttons"; "a message can have up to 5 action rows" (without the
# IS_COMPONENTS_V2 flag, which this bot never sets).
ROWS_LIMIT = 5
ROW_BUTTONS_LIMIT = 5
# docs.discord.com/developers/components/reference#button: "custom_id: Developer-defined
# identifier for the button; max 100 characters"; "label: Text that appears on the button;
# max 80 characters"; styles 1 Primary, 2 Secondary, 3 Success, 4 Danger, 5 Link, 6 Premium.
CUSTOM_ID_MAX = 100
LABEL_MAX = 80
STYLE_LINK, STYLE_PREMIUM = 5, 6
BUTTON_STYLES = frozenset({1, 2, 3, 4, STYLE_LINK, STYLE_PREMIUM})
ACTION_ROW, BUTTON = 1, 2

# docs.discord.com/developers/resources/message#allowed-mentions-object: parse is an array of
# "roles", "users", "everyone"; roles and users are arrays of snowflakes, "max size of 100"
# each; "parse" naming a type and the matching id list together is a validation error
# ("mutually exclusive").
MENTION_TYPES = frozenset({"roles", "users", "everyone"})
MENTION_KEYS = frozenset({"parse", "roles", "users", "replied_user"})
MENTION_IDS_MAX = 100


def embeds_problem(embeds: Any) -> Problem | None:
    """More than ten embeds."""
    if isinstance(embeds, list) and len(embeds) > EMBEDS_LIMIT:
        return ["embeds"], "BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_LIMIT} or fewer in length."
    return None


def components_problem(rows: Any) -> Problem | None:
    """The first breach of the action-row and button rules, in the order Discord reports."""
    if not isinstance(rows, list):
        return ["components"], "MODEL_TYPE_CONVERT", "Only iterables may be used in a ListType"
    if len(rows) > ROWS_LIMIT:
        return ["components"], "BASE_TYPE_MAX_LENGTH", f"Must be {ROWS_LIMIT} or fewer in length."
    seen: set[str] = set()
    for r, row in enumerate(rows):
        path = ["components", str(r)]
        if not isinstance(row, dict) or row.get("type") != ACTION_ROW:
            return [*path, "type"], "UNION_TYPE_CHOICES", 'Value of field "type" must be 1.'
        buttons = row.get("components") or []
        if not buttons:
            return [*path, "components"], "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length."
        if len(buttons) > ROW_BUTTONS_LIMIT:
            return (
                path,
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        for b, button in enumerate(buttons):
            if (
                problem := _button_problem(button, [*path, "components", str(b)], seen)
            ) is not None:
                return problem
    return None


def _button_problem(button: Any, path: list[str], seen: set[str]) -> Problem | None:
    if not isinstance(button, dict) or button.get("type") != BUTTON:
        return [*path, "type"], "UNION_TYPE_CHOICES", "Only buttons are used by this bot."
    style = button.get("style")
    if style not in BUTTON_STYLES:
        return (
            [*path, "style"],
            "BASE_TYPE_CHOICES",
            f"Value must be one of {sorted(BUTTON_STYLES)}.",
        )
    label = button.get("label") or ""
    if len(label) > LABEL_MAX:
        return [*path, "label"], "BASE_TYPE_MAX_LENGTH", f"Must be {LABEL_MAX} or fewer in length."
    custom_id, url = button.get("custom_id"), button.get("url")
    # "Non-link buttons must have a custom_id, and cannot have a url"; "Link buttons must have a
    # url, and cannot have a custom_id" (components/reference#button).
    if style == STYLE_LINK:
        if not url:
            return [*path, "url"], "BUTTON_COMPONENT_URL_REQUIRED", "A url is required"
        if custom_id is not None:
            return (
                [*path, "custom_id"],
                "BUTTON_COMPONENT_INVALID_CUSTOM_ID",
                "Link buttons cannot have a custom_id",
            )
        return None
    if style == STYLE_PREMIUM:
        if not button.get("sku_id") or custom_id is not None or url is not None or label:
            return (
                [*path, "sku_id"],
                "BUTTON_COMPONENT_SKU_ID_REQUIRED",
                "A sku_id, and nothing else, is required",
            )
        return None
    if url is not None:
        return [*path, "url"], "BUTTON_COMPONENT_INVALID_URL", "Only link buttons can have a url"
    if not isinstance(custom_id, str) or not custom_id:
        return (
            [*path, "custom_id"],
            "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED",
            "A custom id is required",
        )
    if len(custom_id) > CUSTOM_ID_MAX:
        return (
            [*path, "custom_id"],
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {CUSTOM_ID_MAX} or fewer in length.",
        )
    # "custom_id ... must be unique per component" (components/reference#anatomy-of-a-component)
    if custom_id in seen:
        return (
            [*path, "custom_id"],
            "COMPONENT_CUSTOM_ID_DUPLICATED",
            "Component custom id cannot be duplicated",
        )
    seen.add(custom_id)
    return None


def allowed_mentions_problem(value: Any) -> Problem | None:
    """An allowed_mentions object of the wrong shape."""
    path = ["allowed_mentions"]
    if value is None:
        return None
    if not isinstance(value, dict) or not set(value) <= MENTION_KEYS:
        return path, "MODEL_TYPE_CONVERT", "Must be an allowed mentions object."
    parse = value.get("parse", [])
    if not isinstance(parse, list) or not set(parse) <= MENTION_TYPES:
        return (
            [*path, "parse"],
            "BASE_TYPE_CHOICES",
            f"Value must be one of {sorted(MENTION_TYPES)}.",
        )
    for kind in ("users", "roles"):
        ids = value.get(kind)
        if ids is None:
            continue
        if not isinstance(ids, list) or not all(str(i).isdigit() for i in ids):
            return [*path, kind], "NUMBER_TYPE_COERCE", "Value is not snowflake."
        if len(ids) > MENTION_IDS_MAX:
            return (
                [*path, kind],
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MENTION_IDS_MAX} or fewer in length.",
            )
        if kind in parse:
            return (
                [*path, kind],
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids] are mutually exclusive.',
            )
    return None
