"""The two SQL dialects the storage speaks, and statements written once for both.

Statements are written in SQLite's form (``?`` and ``:name`` parameters), which the SQLite
backend runs as they are. PostgreSQL (psycopg) takes ``%s`` and ``%(name)s``: ``Statement``
carries that form too, made once when the module is imported, and ``to_pyformat`` makes it
for plain strings.
"""

from __future__ import annotations

import enum
import functools
import re


class Lock(enum.IntEnum):
    """What a PostgreSQL advisory lock guards: the first of its two integer keys (the
    second is ``hashtext`` of what it names).

    A key space per kind, so a user's key can never equal a chat's: two admissions then
    always take their locks in the same order (user, chat, budget) and cannot deadlock.
    The two-integer key space is apart from the one-bigint locks procrastinate takes
    (https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-ADVISORY-LOCKS).
    """

    MIGRATION = 0x64726D00  # "drm\0": one process migrates at a time
    USER = 0x64726D01  # a user's admissions, one at a time
    CHAT = 0x64726D02  # a capped chat's admissions
    BUDGET = 0x64726D03  # a day's budget
    JOB = 0x64726D04  # a running job, held for its process's life (session-level)
    BOT = 0x64726D05  # a bot token (and shard share) one process serves; others stand by


class Dialect(enum.StrEnum):
    """Which database a backend runs on."""

    SQLITE = "sqlite"
    POSTGRES = "postgres"


class Statement(str):
    """SQL text in SQLite's form (the ``str`` itself) that also knows its PostgreSQL form."""

    postgres: str

    def __new__(cls, sqlite: str, postgres: str) -> Statement:
        made = super().__new__(cls, sqlite)
        made.postgres = to_pyformat(postgres)
        return made


# Outside string literals, quoted names, dollar-quoted bodies (PL/pgSQL) and `--` comments,
# `?` and `:name` are parameters ('::' is PostgreSQL's cast, not one). psycopg reads `%`
# as a placeholder everywhere, in all of those too, so every `%` is doubled.
_TOKENS = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|\$\$.*?\$\$|--[^\n]*|::|\?|:([A-Za-z_]\w*)|%""",
    re.DOTALL,
)


@functools.lru_cache(maxsize=512)
def to_pyformat(text: str) -> str:
    """``text`` with SQLite's parameters written the way psycopg takes them."""

    def rewrite(match: re.Match[str]) -> str:
        found = match.group(0)
        if found[0] in "'\"$" or found.startswith("--"):
            return found.replace("%", "%%")
        if found == "?":
            return "%s"
        if found == "%":
            return "%%"
        if match.group(1):
            return f"%({match.group(1)})s"
        return found

    return _TOKENS.sub(rewrite, text)
