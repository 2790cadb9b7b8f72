"""Words the engine has for a user, kept untranslated until an adapter knows the reader.

The engine never picks a language for its messages: it hands the adapters a ``Notice``,
an English gettext message id plus its values, and each adapter translates the id with
the reader's catalog and fills the values in. ``N_`` marks ids for the catalog extractor,
``NN_`` a message with its plural.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias, runtime_checkable


@runtime_checkable
class Named(Protocol):
    """A value whose name depends on the reader's language (a Language, say)."""

    def display_name(self, locale: str) -> str: ...


Value: TypeAlias = "str | int | float | Named | Notice"


def N_(message: str) -> str:  # noqa: N802 - the name gettext's extractor looks for
    """Mark an English message for the catalogs without translating it here."""
    return message


def NN_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 - the extractor's name
    """Mark a message and its plural as one catalog entry (``Notice(one, plural=many)``)."""
    return singular, plural


@dataclass(frozen=True)
class Notice:
    """A message id (``str.format`` fields allowed), its values, and a plural if it has one."""

    message: str
    values: Mapping[str, Value] = field(default_factory=dict)
    plural: str | None = None
    count: int | None = None

    def render(
        self,
        gettext: Callable[[str], str] = lambda text: text,
        ngettext: Callable[[str, str, int], str] = lambda one, many, n: one if n == 1 else many,
        locale: str = "en",
    ) -> str:
        """The message in a catalog's language (English with the default functions);
        ``locale`` names the values that have names, such as languages."""
        if self.plural is not None and self.count is not None:
            template = ngettext(self.message, self.plural, self.count)
        else:
            template = gettext(self.message)
        # A nested notice (a reason inside a sentence) is read in the same language, and
        # a named value (a language) is named in it.
        values = {
            key: value.render(gettext, ngettext, locale)
            if isinstance(value, Notice)
            else value.display_name(locale)
            if isinstance(value, Named)
            else value
            for key, value in self.values.items()
        }
        return template.format(**values)

    def __str__(self) -> str:
        return self.render()


CHECK_UNAVAILABLE = Notice(
    N_(
        "The content check is unavailable right now. Please try again in a minute; "
        "nothing was charged."
    )
)
