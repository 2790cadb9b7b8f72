"""Logging set up once in main(): readable lines, or one JSON object per line."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from bot import redaction

FIELDS = ("job_id", "stage", "status", "duration_s", "provider")


class JsonFormatter(logging.Formatter):
    """A JSON object per record, with the engine's structured fields when present."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data |= {name: getattr(record, name) for name in FIELDS if hasattr(record, name)}
        if record.exc_info:
            data["error"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(level: str, fmt: str) -> None:
    """Send logs to stderr as text or JSON, without credentials; libraries' chatter at WARNING."""
    redaction.install()
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    for noisy in ("aiogram.event", "discord.gateway", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
