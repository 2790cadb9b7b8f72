"""Discord in the reader's language: commands localised at sync, replies in the user's locale.

Command and option names, and their descriptions, are sent once with the command sync as
``name_localizations``/``description_localizations``, so every user's client shows them in
its own language. A reply follows ``interaction.locale``, the language of the user's
client (``pt-BR``, ``es-ES``, ``zh-CN``…), negotiated to a catalog.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Location

from bot.i18n import COMMAND_NAME, OPTION_NAME, Words, words

# A name is looked up in its own context: translators must follow Discord's name rules there.
_NAME_CONTEXTS = {Location.command_name: COMMAND_NAME, Location.parameter_name: OPTION_NAME}


def words_of(interaction: discord.Interaction[Any]) -> Words:
    """The words for the user's client language."""
    return words(interaction.locale.value)


class CatalogTranslator(app_commands.Translator):
    """Command names and descriptions from the catalogs, for every Discord locale we have."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """The text in ``locale``, or None where Discord should show the English one."""
        return words(locale.value).own(string.message, _NAME_CONTEXTS.get(context.location))
