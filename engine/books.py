"""The engine's books as adapters and the terminal may ask of them: quotas, bans, stats, chats.

Adapters never reach into ``engine.storage``; everything they may know or change about
users, jobs and chats goes through here, so the storage behind it can change (tables, a
second backend) without touching a chat adapter.
"""

from __future__ import annotations

from pathlib import Path

from engine.models import PastDream, Preferences
from engine.storage import Refused, Storage, is_server_url
from engine.storage import describe as describe_database
from engine.storage.jobs import JobStats
from engine.storage.ledger import QuotaPolicy, QuotaView, utc_now
from engine.storage.transfer import copy_books

__all__ = [
    "HISTORY_SIZE",
    "Books",
    "JobStats",
    "QuotaPolicy",
    "QuotaView",
    "describe_database",
    "is_server_url",
]

HISTORY_SIZE = 10  # dreams /mydreams lists


class Books:
    """One database's users, jobs and chat settings, for reading and for admin changes."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    @classmethod
    async def open(
        cls,
        location: Path | str,
        policy: QuotaPolicy,
        *,
        create: bool = True,
        on_refused: Refused | None = None,
    ) -> Books:
        """Open, check and migrate the database: an SQLite file (``:memory:`` works too) or a
        ``postgresql://`` URL.

        A missing file is made, unless ``create`` is False (``DatabaseMissingError``); a
        damaged or unreadable one, or a server that cannot be reached, is a
        ``DatabaseUnusableError`` that names it.
        ``on_refused`` hears of every job write the database refused for now (telemetry).
        """
        return cls(await Storage.open(location, policy, create=create, on_refused=on_refused))

    async def copy_into(self, target: Books) -> dict[str, int]:
        """Copy these books into ``target``, which must be empty (``dreambot db migrate-to``):
        rows copied per table. A ``UsageError`` says why not (unfinished jobs here, or a
        target that is not empty)."""
        return await copy_books(self.storage.db, target.storage.db)

    async def hold_bot(self, name: str) -> bool:
        """Whether this process may serve the bot ``name`` (a token and shard share): False
        while another live process on the same books serves it, or the books cannot say."""
        return await self.storage.db.hold(name) is True

    async def bots_lost(self, names: list[str]) -> list[str]:
        """Which of the bots ``names`` this process served and another process serves now
        (the server dropped this one's hold on them meanwhile)."""
        return [name for name in await self.storage.db.lost() if name in names]

    async def close(self) -> None:
        """Close the database."""
        await self.storage.close()

    async def quota(self, user: str) -> QuotaView:
        """A user's standing today: used, limit, running, banned, when it resets."""
        return await self.storage.ledger.show(user)

    async def grant(self, user: str, dreams: int) -> QuotaView:
        """Give a user ``dreams`` more today (negative takes away)."""
        return await self.storage.ledger.grant(user, dreams)

    async def reset_quota(self, user: str) -> QuotaView:
        """Give a user their full daily quota again."""
        return await self.storage.ledger.reset(user)

    async def set_banned(self, user: str, banned: bool) -> None:
        """Ban or unban a user."""
        await self.storage.ledger.set_banned(user, banned)

    async def stats(self) -> JobStats:
        """Jobs by state, median stage times and today's spend."""
        return await self.storage.jobs.stats(utc_now().date().isoformat())

    async def unfinished_of(self, user: str) -> list[str]:
        """The user's jobs that are admitted or running (for a /cancel without a button)."""
        return await self.storage.jobs.unfinished_of(user)

    async def owner_of(self, job_id: str) -> str | None:
        """The user who asked for a job (None if unknown)."""
        return await self.storage.jobs.owner(job_id)

    async def past(self, job_id: str) -> PastDream | None:
        """A job as its owner may find it again, to make it again or edit it (None if
        unknown)."""
        return await self.storage.jobs.past(job_id)

    async def history(self, user: str, *, limit: int = HISTORY_SIZE) -> list[PastDream]:
        """The user's newest delivered dreams, newest first (/mydreams, inline mode)."""
        return await self.storage.jobs.history(user, limit=limit)

    async def preferences(self, user: str) -> Preferences:
        """The user's settings (the defaults until they change one)."""
        return await self.storage.users.get(user)

    async def set_preferences(self, user: str, preferences: Preferences) -> None:
        """Store the user's settings."""
        await self.storage.users.put(user, preferences)

    async def chat_setting(self, chat: str, name: str) -> str | None:
        """A value an admin set for a chat or server (the gallery channel, say)."""
        return await self.storage.chats.get(chat, name)

    async def set_chat_setting(self, chat: str, name: str, value: str, *, set_by: str) -> None:
        """Set a chat's value, noting who set it."""
        await self.storage.chats.put(chat, name, value, set_by=set_by)
