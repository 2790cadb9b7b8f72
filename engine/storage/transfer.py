"""Moving the books from one database to another (an SQLite file to a PostgreSQL server).

What moves is what belongs to people and to the bot's accounts: bans, grants, each
person's and each chat's settings, and every finished job with its stage times (history,
today's quota, the day's spend, wait estimates). What stays is what names this machine's
files: produced files, provider request ids and the media cache index, which mean nothing
on another host. Unfinished jobs cannot move (their files are here): the bot is stopped
first and its jobs finish or are cancelled.
"""

from __future__ import annotations

from engine.errors import UsageError
from engine.storage.backend import Backend
from engine.storage.sql import DIALECT_NAMES, sql

_JOB_COLUMNS = (
    "id", "user_key", "chat_key", "day", "story", "seed", "state", "charge", "created_at",
    "finished_at", "surface", "failed_stage", "failure", "workdir", "language", "cost_micros",
    "look",
)  # fmt: skip
# In an order that keeps every foreign key satisfied; the columns both schemas share.
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("users", ("user_key", "banned", "updated_at")),
    ("quota_adjustments", ("user_key", "day", "extra")),
    ("user_settings", ("user_key", "language", "look", "updated_at")),
    ("chat_settings", ("chat_key", "name", "value", "set_by", "set_at")),
    ("jobs", _JOB_COLUMNS),
    ("job_stages", ("job_id", "stage", "status", "elapsed_s")),
    ("daily_spend", ("day", "spent_micros")),
)
_UNFINISHED = sql("SELECT count(*) FROM jobs WHERE state IN {unfinished}")
_SPEND_AGAIN = " ON CONFLICT (day) DO UPDATE SET spent_micros = excluded.spent_micros"
_IN_ORDER = {"jobs", "job_stages"}  # copied in the order they were made, which history reads


async def copy_books(source: Backend, target: Backend) -> dict[str, int]:
    """Copy every table's rows into ``target``, which must hold none yet, in one
    transaction; the number of rows copied per table. A ``UsageError`` says why not."""
    # One transaction on the source too: a bot still running cannot admit a job between
    # the check and the copy (on SQLite it waits until the copy is done).
    async with source.transaction() as read:
        unfinished = (await read.fetch(_UNFINISHED))[0][0]
        if unfinished:
            raise UsageError(
                f"{unfinished} jobs are still admitted or running here: stop the bot, let "
                "them finish (or restart it without tokens) and move the books then"
            )
        for table, _ in TABLES:
            if (await target.fetch(f"SELECT count(*) FROM {table}"))[0][0]:  # noqa: S608
                raise UsageError(f"the target already has {table}: move the books to an empty one")
        seq = DIALECT_NAMES[source.dialect]["seq"]
        copied: dict[str, int] = {}
        async with target.transaction() as write:
            for table, columns in TABLES:
                names = ", ".join(columns)
                order = f" ORDER BY {seq}" if table in _IN_ORDER else ""
                rows = await read.fetch(f"SELECT {names} FROM {table}{order}")  # noqa: S608
                marks = ", ".join("?" for _ in columns)
                insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
                if table == "daily_spend":
                    # The jobs just copied were settled: no trigger wrote their spend.
                    insert += (
                        " ON CONFLICT (day) DO UPDATE SET spent_micros = excluded.spent_micros"
                    )
                await write.run_many(insert, rows)
                copied[table] = len(rows)
    return copied
