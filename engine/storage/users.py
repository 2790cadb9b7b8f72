"""Each person's own settings: the language to narrate in and how their videos look."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.models import Language, Look, Preferences
from engine.storage.backend import Backend


class UserSettings:
    """One row per person who changed a setting; everyone else has the defaults."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    async def get(self, user: str) -> Preferences:
        """The user's settings, or the defaults."""
        rows = await self.db.fetch(
            "SELECT language, look FROM user_settings WHERE user_key = ?", (user,)
        )
        if not rows:
            return Preferences()
        language, look = rows[0]
        return Preferences(
            language=Language.parse(language) if language else None, look=Look.from_json(look)
        )

    async def put(self, user: str, preferences: Preferences) -> None:
        """Store the user's settings whole."""
        language = preferences.language.tag if preferences.language else None
        await self.db.fetch(
            """INSERT INTO user_settings (user_key, language, look, updated_at)
            VALUES (?, ?, ?, ?)
            ON CONFLICT (user_key) DO UPDATE SET language = excluded.language,
            look = excluded.look, updated_at = excluded.updated_at""",
            (user, language, preferences.look.to_json(), datetime.now(UTC).isoformat()),
        )
