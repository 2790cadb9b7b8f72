"""SQL text with the engine's state enums written in, so Python and SQL share one source.

Statements name states as ``{running}``, ``{unfinished}``, ``{counted}``…, and ``sql()``
writes the enum values in as literals once, at import. Literals rather than parameters,
because SQLite uses a partial index (``jobs_unfinished``) only when the query's own text
implies the index's ``WHERE``; and never user input, so nothing is injected.

Where the dialects differ, a template names the difference and each dialect writes its own:
``{ids_in}`` is the set of values in one JSON-array parameter, ``{seq}`` the order rows
were inserted in (SQLite's ``rowid``, PostgreSQL's identity column ``seq``).
"""

from __future__ import annotations

import enum

from engine.models import Charge, JobState
from engine.storage.dialect import Dialect, Statement


def _literal(value: enum.StrEnum) -> str:
    return "'" + value.value.replace("'", "''") + "'"


def _values(members: tuple[enum.StrEnum, ...]) -> str:
    return "(" + ", ".join(_literal(member) for member in members) + ")"


NAMES: dict[str, str] = {
    **{state.value: _literal(state) for state in JobState},
    **{charge.value: _literal(charge) for charge in Charge},
    "unfinished": _values(JobState.unfinished()),
    "counted": _values(Charge.counted()),
}
DIALECT_NAMES: dict[Dialect, dict[str, str]] = {
    Dialect.SQLITE: {"ids_in": "SELECT value FROM json_each(?)", "seq": "rowid"},
    Dialect.POSTGRES: {
        "ids_in": "SELECT value FROM json_array_elements_text(CAST(? AS json))",
        "seq": "seq",
    },
}


def sql(template: str) -> Statement:
    """``template`` with every ``{name}`` written in, once for each dialect."""
    return Statement(
        template.format_map({**NAMES, **DIALECT_NAMES[Dialect.SQLITE]}),
        template.format_map({**NAMES, **DIALECT_NAMES[Dialect.POSTGRES]}),
    )
