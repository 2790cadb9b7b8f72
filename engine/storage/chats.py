"""Per-chat (or per-server) settings an admin chose, such as the gallery channel."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.storage.backend import Backend


class ChatSettings:
    """Small named values per chat, with who set them."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def get(self, chat: str, name: str) -> str | None:
        """A chat's value, if set."""
        rows = await self.db.fetch(
            "SELECT value FROM chat_settings WHERE chat_key = ? AND name = ?", (chat, name)
        )
        return str(rows[0][0]) if rows else None

    async def put(self, chat: str, name: str, value: str, *, set_by: str) -> None:
        """Set a chat's value."""
        await self.db.fetch(
            """INSERT INTO chat_settings (chat_key, name, value, set_by, set_at)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (chat_key, name) DO UPDATE SET value = excluded.value,
            set_by = excluded.set_by, set_at = excluded.set_at""",
            (chat, name, value, set_by, datetime.now(UTC).isoformat()),
        )
