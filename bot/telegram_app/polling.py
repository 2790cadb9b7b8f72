"""Taking updates by long polling, as the only taker of this bot token's updates."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramConflictError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bot.telegram_app.menu import set_menu

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)

CONFLICT = (
    "telegram: another process is taking this bot's updates (409 Conflict: %s). Two "
    "instances cannot share one token: stop the other one (or its webhook); dreambot keeps "
    "trying and takes over when it is gone"
)


class ConflictNotice(BaseRequestMiddleware):
    """Says plainly, once per stretch, that another poller or a webhook holds the token.

    getUpdates answers 409 while another getUpdates is open or a webhook is set
    (https://core.telegram.org/bots/api#getupdates); aiogram only logs the raw error
    and retries, so an operator sees a loop of errors without the cause.
    """

    def __init__(self) -> None:
        self._said = False

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        polling = isinstance(method, GetUpdates)  # a flag: narrowing would lose the type
        if not polling:
            return await make_request(bot, method)
        try:
            answer = await make_request(bot, method)
        except TelegramConflictError as conflict:
            if not self._said:
                log.error(CONFLICT, conflict.message)
                self._said = True
            raise
        self._said = False
        return answer


async def take_updates_by_polling(bot: Bot, start_polling: Any) -> None:
    """Check the token, drop a webhook that would refuse polling, then poll until stopped.

    A webhook set earlier (by another deployment, or a webhook mode tried once) makes
    getUpdates answer 409 forever; deleteWebhook ends it and keeps the updates waiting
    (``drop_pending_updates`` false), so stories sent meanwhile are still answered.
    """
    await bot.me()
    await set_menu(bot)
    await bot.delete_webhook(drop_pending_updates=False)
    await start_polling(bot, handle_signals=False)
