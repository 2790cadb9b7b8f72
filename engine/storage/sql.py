"""SQL text with the engine's state enums written in, so Python and SQL share one source.

Statements name states as ``{running}``, ``{unfinished}``, ``{counted}``…, and ``sql()``
writes the enum values in as literals once, at import. Literals rather than parameters,
because SQLite uses a partial index (``jobs_unfinished``) only when the query's own text
implies the index's ``WHERE``; and never user input, so nothing is injected.
"""

from __future__ import annotations

import enum

from engine.models import Charge, JobState


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


def sql(template: str) -> str:
    """``template`` with every ``{name}`` of ``NAMES`` written in as an SQL literal."""
    return template.format_map(NAMES)
