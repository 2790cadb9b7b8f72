"""Credentials taken out of every log record as it is made, whatever its level or handler.

discord.py logs each webhook request at DEBUG with its URL, and an interaction's token is
in that URL's path (``/interactions/{id}/{token}/callback``, ``/webhooks/{app}/{token}/…``):
for 15 minutes the token edits and sends messages as the bot. Telegram's bot token is in
every Bot API URL (``/bot<token>/method``). A record factory, unlike a handler's filter,
also covers handlers added later (a test's capture, an error tracker) and records of every
library logger, without naming them.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "<redacted>"
_SECRETS = (
    re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/\s?#'\"]+"),
    re.compile(r"(/bot)\d+:[\w-]+"),
    # A payload printed as a dict or JSON: IDENTIFY, INTERACTION_CREATE.
    re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+"""),
)
_TRACEBACKS = logging.Formatter()


def redact(text: str) -> str:
    """``text`` with every token and webhook secret replaced by ``<redacted>``."""
    for secret in _SECRETS:
        text = secret.sub(rf"\g<1>{REDACTED}", text)
    return text


def scrub(record: logging.LogRecord) -> None:
    """Redact a record's message (its arguments merged in), traceback and stack."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: its handler reports it when formatting, as before
        return
    clean = redact(message)
    if clean != message:
        # Arguments can be any object whose str() holds a URL, so the text replaces them.
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # Formatters print exc_text when it is set, so the traceback is rendered once, clean.
        record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install() -> None:
    """Make every log record of this process without credentials (installing twice is once)."""
    made = logging.getLogRecordFactory()
    if getattr(made, "redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = made(*args, **kwargs)
        scrub(record)
        return record

    factory.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
