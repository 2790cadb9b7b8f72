"""Each Telegram update in its sender's language: aiogram's i18n on the bot's own catalogs.

aiogram's ``I18n`` reads compiled ``.mo`` files from a folder; ours are compiled in memory
from the ``.po`` files (bot/i18n.py), so ``find_locales`` hands it those. The middleware
negotiates the sender's ``language_code`` (``pt-br``, ``en-US``…) to a catalog, enters
aiogram's i18n context for it, and gives handlers the matching ``words``.
"""

from __future__ import annotations

import gettext
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.i18n import DEFAULT_LOCALE, DOMAIN, LOCALES_DIR, catalogs, negotiate, words


class CatalogI18n(I18n):
    """aiogram's I18n over the catalogs compiled from the package's ``.po`` files."""

    def __init__(self) -> None:
        super().__init__(path=LOCALES_DIR, default_locale=DEFAULT_LOCALE, domain=DOMAIN)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        """The compiled catalogs, instead of ``.mo`` files on disk."""
        return dict(catalogs())


class SenderLocale(I18nMiddleware):
    """The locale of whoever sent the update; English for an unknown language or no sender."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        """The sender's ``language_code``, negotiated to a catalog."""
        user = data.get("event_from_user")
        return negotiate(user.language_code if isinstance(user, User) else None)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Handlers get ``words`` for the sender as workflow data."""
        data["words"] = words(await self.get_locale(event, data))
        return await super().__call__(handler, event, data)
