"""The bots' words in the reader's language: gettext catalogs, domain ``dreambot``.

English is the language of the message ids, so it needs no catalog; every other language
has a ``.po`` file under ``bot/locales/<locale>/LC_MESSAGES/``. The ``.po`` files are
compiled in memory with Babel when first asked for, so no binary ``.mo`` file is kept in
the repository and an editable install or the Docker image needs no build step.

A platform's language tag (Telegram's ``pt-br``, Discord's ``es-ES``) is matched to a
catalog by ``negotiate``: the exact locale, then its base language, else English.
"""

from __future__ import annotations

import functools
import gettext
import io
import os
from collections.abc import Mapping
from pathlib import Path

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from engine import Notice

DOMAIN = "dreambot"
DEFAULT_LOCALE = "en"
LOCALES_DIR = Path(__file__).parent / "locales"
# What the extractor looks for beyond Babel's defaults (``_``, ``N_``, ``ngettext``,
# ``pgettext``…): ``NP_`` marks a message with a context and ``NN_`` one with its plural,
# neither translating it there. A context must be a string literal for the extractor.
EXTRA_KEYWORDS = {"NP_": ((1, "c"), 2), "NN_": (1, 2)}
# A base language with one catalog stands for every region of it (Portugal reads pt_BR
# rather than English).
_BASE_ALIASES = {"pt": "pt_BR"}

COMMAND_NAME = "command name"  # contexts: these translations follow Discord's name rules
OPTION_NAME = "option name"


def NP_(context: str, message: str) -> str:  # noqa: N802 - the name the extractor looks for
    """Mark a message with a context (``pgettext``'s) for the catalogs, untranslated."""
    return message


def _compile(po: Path) -> gettext.GNUTranslations:
    with po.open("rb") as source:
        catalog = read_po(source, locale=po.parent.parent.name, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@functools.cache
def catalogs() -> Mapping[str, gettext.GNUTranslations]:
    """Every translated locale's catalog, compiled once per process."""
    return {
        po.parent.parent.name: _compile(po)
        for po in sorted(LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    }


def available_locales() -> tuple[str, ...]:
    """English and every locale with a catalog, e.g. ``("en", "es", "pt_BR", …)``."""
    return (DEFAULT_LOCALE, *catalogs())


def negotiate(tag: str | None) -> str:
    """The catalog for a platform's language tag: exact, then by base language, else English."""
    if not tag:
        return DEFAULT_LOCALE
    wanted = tag.strip().replace("-", "_")
    available = available_locales()
    found = negotiate_locale(
        [wanted, wanted.split("_", 1)[0]], available, sep="_", aliases=_BASE_ALIASES
    )
    canonical = {locale.lower(): locale for locale in available}
    return canonical.get((found or "").lower(), DEFAULT_LOCALE)


def process_locale(environ: Mapping[str, str] = os.environ) -> str:
    """The terminal's language, by gettext's order: LANGUAGE, LC_ALL, LC_MESSAGES, LANG."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        if value := environ.get(name, ""):
            tag = value.split(":", 1)[0].split(".", 1)[0].split("@", 1)[0]
            return DEFAULT_LOCALE if tag in {"C", "POSIX"} else negotiate(tag)
    return DEFAULT_LOCALE


class Words:
    """One reader's language: translate a message, fill its values, or render a Notice."""

    def __init__(self, locale: str, translations: gettext.NullTranslations) -> None:
        self.locale = locale
        self._t = translations

    def _(self, message: str, **values: object) -> str:
        """``message`` translated, its ``str.format`` fields filled from ``values``."""
        text = self._t.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, count: int, **values: object) -> str:
        """The plural form for ``count`` (also given to the text as ``{count}``)."""
        return self._t.ngettext(singular, plural, count).format(count=count, **values)

    def pgettext(self, context: str, message: str) -> str:
        """``message`` translated in ``context`` (e.g. a command's name)."""
        return self._t.pgettext(context, message)

    def own(self, message: str, context: str | None = None) -> str | None:
        """This language's own text for ``message``, or None where it would be English."""
        text = self._t.gettext(message) if context is None else self.pgettext(context, message)
        return text if self.locale != DEFAULT_LOCALE and text != message else None

    def notice(self, notice: Notice) -> str:
        """An engine notice in this language."""
        return notice.render(self._t.gettext, self._t.ngettext, self.locale)


@functools.cache
def words(locale: str | None = None) -> Words:
    """The words for a locale or a platform's language tag (negotiated; English if unknown)."""
    chosen = negotiate(locale)
    return Words(chosen, catalogs().get(chosen, gettext.NullTranslations()))


ENGLISH = Words(DEFAULT_LOCALE, gettext.NullTranslations())
