"""Refusals in a group, said together and at the group's pace.

Sixty people asking at once in a group with room for ten must not get fifty replies: a
group takes twenty messages a minute, and the jobs' own messages need them. A refusal
waits for the chat's next slot; every refusal that arrived meanwhile with the same words
goes out in one reply naming whom it answers (names as text, so nobody is pinged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import ReplyParameters

from bot.i18n import Words
from bot.pacing import ChatPacer
from bot.telegram_app import render

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refused:
    """One person's refusal in a group, waiting to be said."""

    name: str  # as shown, never a mention
    reason: str  # in the asker's language
    words: Words
    message_id: int  # what they asked in
    thread_id: int | None

    def key(self) -> tuple[str, str, int | None]:
        """Refusals said in one reply: the same words in the same topic."""
        return self.words.locale, self.reason, self.thread_id


class GroupRefusals:
    """Each group's waiting refusals, and one sender per group that has any."""

    def __init__(self, bot: Bot, pacer_of: Callable[[int], ChatPacer]) -> None:
        self._bot = bot
        self._pacer_of = pacer_of
        self._waiting: dict[int, list[Refused]] = {}
        self._senders: dict[int, asyncio.Task[None]] = {}

    def add(self, chat_id: int, refused: Refused) -> None:
        """Say it with the next reply this group gets; returns at once."""
        self._waiting.setdefault(chat_id, []).append(refused)
        if chat_id not in self._senders:
            sender = asyncio.create_task(self._send_all(chat_id), name=f"refusals-{chat_id}")
            self._senders[chat_id] = sender

    async def drain(self) -> None:
        """Wait until every waiting refusal was said (or given up on)."""
        while self._senders:
            await asyncio.gather(*self._senders.values(), return_exceptions=True)

    async def close(self) -> None:
        """Stop sending: refusals not yet said are dropped (nothing was charged for them)."""
        for sender in list(self._senders.values()):
            sender.cancel()
        await asyncio.gather(*self._senders.values(), return_exceptions=True)

    async def _send_all(self, chat_id: int) -> None:
        pacer = self._pacer_of(chat_id)
        try:
            while self._waiting.get(chat_id):
                # Someone waits for this answer, as for a job's acknowledgement.
                async with pacer.turn(final=True, new_message=True):
                    # Taken once the slot has come, so that all who were refused while it
                    # was awaited share this one reply.
                    batch = self._take(chat_id)
                    if not await self._send(chat_id, batch, pacer):
                        self._waiting[chat_id][:0] = batch  # said again at the next slot
        finally:
            self._senders.pop(chat_id, None)
            if not self._waiting.get(chat_id):
                self._waiting.pop(chat_id, None)

    def _take(self, chat_id: int) -> list[Refused]:
        waiting = self._waiting[chat_id]
        key = waiting[0].key()
        batch = [refused for refused in waiting if refused.key() == key]
        self._waiting[chat_id] = [refused for refused in waiting if refused.key() != key]
        return batch

    async def _send(self, chat_id: int, batch: list[Refused], pacer: ChatPacer) -> bool:
        """Whether the batch is done with (said, or refused for good)."""
        first = batch[0]
        try:
            await self._bot.send_message(
                chat_id,
                render.refusals([refused.name for refused in batch], first.reason, first.words),
                message_thread_id=first.thread_id,
                reply_parameters=ReplyParameters(
                    message_id=first.message_id, allow_sending_without_reply=True
                ),
            )
        except TelegramRetryAfter as exc:
            pacer.back_off(exc.retry_after)
            return False
        except TelegramAPIError as exc:  # network errors included
            # A refusal is a courtesy: one that cannot land is not worth a retry loop.
            log.info("a refusal in chat %s could not be sent: %s", chat_id, exc)
        return True
