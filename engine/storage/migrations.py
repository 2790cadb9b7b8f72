"""The schema as ordered, named steps; each applied step is recorded in ``_migrations``.

Each dialect has its own list: SQLite's grew step by step with the project, PostgreSQL's
starts from the schema SQLite had reached (``001_schema`` is SQLite's 001 to 007).
"""

from __future__ import annotations

from engine.storage.backend import Transaction
from engine.storage.dialect import Dialect

# Never edit or reorder a released step: add a new one (to both lists when the schema both
# dialects share changes). Tests migrate from empty and from every earlier step.
MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "001_quotas",
        (
            """CREATE TABLE users (
                user_key TEXT PRIMARY KEY,
                banned INTEGER NOT NULL DEFAULT 0,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE quota_adjustments (
                user_key TEXT NOT NULL,
                day TEXT NOT NULL,
                extra INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (user_key, day)
            )""",
            """CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                user_key TEXT NOT NULL,
                chat_key TEXT,
                day TEXT NOT NULL,
                story TEXT NOT NULL,
                seed INTEGER,
                cost REAL NOT NULL DEFAULT 0,
                state TEXT NOT NULL,
                charge TEXT NOT NULL,
                created_at TEXT NOT NULL,
                finished_at TEXT
            )""",
            "CREATE INDEX jobs_by_user_day ON jobs (user_key, day, charge)",
            # Partial indexes: admission counts only unfinished jobs and chats with a key,
            # and every index is paid for on every admission.
            """CREATE INDEX jobs_unfinished ON jobs (user_key)
            WHERE state IN ('admitted', 'running')""",
            """CREATE INDEX jobs_by_chat_day ON jobs (chat_key, day, charge)
            WHERE chat_key IS NOT NULL""",
            """CREATE TABLE daily_spend (
                day TEXT PRIMARY KEY,
                spent REAL NOT NULL DEFAULT 0
            )""",
            """CREATE TRIGGER spend_on_reserve AFTER INSERT ON jobs
            WHEN NEW.charge = 'reserved' BEGIN
                INSERT INTO daily_spend (day, spent) VALUES (NEW.day, NEW.cost)
                ON CONFLICT (day) DO UPDATE SET spent = spent + excluded.spent;
            END""",
            """CREATE TRIGGER spend_on_refund AFTER UPDATE OF charge ON jobs
            WHEN OLD.charge = 'reserved' AND NEW.charge = 'refunded' BEGIN
                UPDATE daily_spend SET spent = spent - OLD.cost WHERE day = OLD.day;
            END""",
        ),
    ),
    (
        "002_job_progress",
        (
            "ALTER TABLE jobs ADD COLUMN surface TEXT",
            "ALTER TABLE jobs ADD COLUMN failed_stage TEXT",
            "ALTER TABLE jobs ADD COLUMN failure TEXT",
            "ALTER TABLE jobs ADD COLUMN workdir TEXT",
            """CREATE TABLE job_stages (
                job_id TEXT NOT NULL REFERENCES jobs (id),
                stage TEXT NOT NULL,
                status TEXT NOT NULL,
                elapsed_s REAL,
                PRIMARY KEY (job_id, stage)
            )""",
            """CREATE TABLE job_files (
                job_id TEXT NOT NULL REFERENCES jobs (id),
                name TEXT NOT NULL,
                path TEXT NOT NULL,
                meta TEXT,
                PRIMARY KEY (job_id, name)
            )""",
            """CREATE TABLE provider_requests (
                job_id TEXT NOT NULL REFERENCES jobs (id),
                name TEXT NOT NULL,
                provider TEXT NOT NULL,
                request_id TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (job_id, name)
            )""",
        ),
    ),
    (
        "003_media_cache",
        (
            """CREATE TABLE media_cache (
                key TEXT PRIMARY KEY,
                path TEXT NOT NULL,
                bytes INTEGER NOT NULL,
                created_at TEXT NOT NULL
            )""",
        ),
    ),
    (
        "004_chat_settings",
        (
            """CREATE TABLE chat_settings (
                chat_key TEXT NOT NULL,
                name TEXT NOT NULL,
                value TEXT NOT NULL,
                set_by TEXT NOT NULL,
                set_at TEXT NOT NULL,
                PRIMARY KEY (chat_key, name)
            )""",
        ),
    ),
    (
        "005_job_language",
        # NULL for jobs admitted before languages were told apart: detected again on resume.
        ("ALTER TABLE jobs ADD COLUMN language TEXT",),
    ),
    (
        "006_cost_in_micros",
        # Costs and spend as whole millionths of the operator's currency: sums of REAL drift
        # (0.1 + 0.1 + 0.1 > 0.3), so a budget cap compared in floats was off by one.
        # The day's spend is summed again from the jobs, which are the record.
        (
            "ALTER TABLE jobs ADD COLUMN cost_micros INTEGER NOT NULL DEFAULT 0",
            "UPDATE jobs SET cost_micros = CAST(round(cost * 1000000) AS INTEGER)",
            "DROP TRIGGER spend_on_reserve",
            "DROP TRIGGER spend_on_refund",
            "DROP TABLE daily_spend",
            "ALTER TABLE jobs DROP COLUMN cost",
            """CREATE TABLE daily_spend (
                day TEXT PRIMARY KEY,
                spent_micros INTEGER NOT NULL DEFAULT 0
            )""",
            """INSERT INTO daily_spend (day, spent_micros)
            SELECT day, sum(cost_micros) FROM jobs
            WHERE charge IN ('reserved', 'committed') GROUP BY day""",
            """CREATE TRIGGER spend_on_reserve AFTER INSERT ON jobs
            WHEN NEW.charge = 'reserved' BEGIN
                INSERT INTO daily_spend (day, spent_micros) VALUES (NEW.day, NEW.cost_micros)
                ON CONFLICT (day) DO UPDATE SET spent_micros = spent_micros + excluded.spent_micros;
            END""",
            """CREATE TRIGGER spend_on_refund AFTER UPDATE OF charge ON jobs
            WHEN OLD.charge = 'reserved' AND NEW.charge = 'refunded' BEGIN
                UPDATE daily_spend SET spent_micros = spent_micros - OLD.cost_micros
                WHERE day = OLD.day;
            END""",
        ),
    ),
    (
        "007_looks_and_user_settings",
        (
            # NULL for jobs from before looks: the default look (16:9, first voice, captions).
            "ALTER TABLE jobs ADD COLUMN look TEXT",
            """CREATE TABLE user_settings (
                user_key TEXT PRIMARY KEY,
                language TEXT,
                look TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            # /mydreams and inline mode read a user's newest delivered jobs.
            "CREATE INDEX jobs_by_user ON jobs (user_key, created_at)",
        ),
    ),
)


_SPEND = """CREATE FUNCTION dreambot_spend() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO daily_spend (day, spent_micros) VALUES (NEW.day, NEW.cost_micros)
        ON CONFLICT (day) DO UPDATE
        SET spent_micros = daily_spend.spent_micros + excluded.spent_micros;
    ELSE
        UPDATE daily_spend SET spent_micros = spent_micros - OLD.cost_micros
        WHERE day = OLD.day;
    END IF;
    RETURN NULL;
END
$$"""

POSTGRES_MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "001_schema",
        (
            """CREATE TABLE users (
                user_key TEXT PRIMARY KEY,
                banned INTEGER NOT NULL DEFAULT 0,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE quota_adjustments (
                user_key TEXT NOT NULL,
                day TEXT NOT NULL,
                extra INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (user_key, day)
            )""",
            # seq: the order jobs were admitted in (SQLite's rowid).
            """CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
                user_key TEXT NOT NULL,
                chat_key TEXT,
                day TEXT NOT NULL,
                story TEXT NOT NULL,
                seed BIGINT,
                state TEXT NOT NULL,
                charge TEXT NOT NULL,
                created_at TEXT NOT NULL,
                finished_at TEXT,
                surface TEXT,
                failed_stage TEXT,
                failure TEXT,
                workdir TEXT,
                language TEXT,
                cost_micros BIGINT NOT NULL DEFAULT 0,
                look TEXT
            )""",
            "CREATE INDEX jobs_by_user_day ON jobs (user_key, day, charge)",
            """CREATE INDEX jobs_unfinished ON jobs (user_key)
            WHERE state IN ('admitted', 'running')""",
            """CREATE INDEX jobs_by_chat_day ON jobs (chat_key, day, charge)
            WHERE chat_key IS NOT NULL""",
            "CREATE INDEX jobs_by_user ON jobs (user_key, created_at)",
            """CREATE TABLE job_stages (
                job_id TEXT NOT NULL REFERENCES jobs (id),
                stage TEXT NOT NULL,
                status TEXT NOT NULL,
                elapsed_s DOUBLE PRECISION,
                seq BIGINT GENERATED ALWAYS AS IDENTITY,
                PRIMARY KEY (job_id, stage)
            )""",
            """CREATE TABLE job_files (
                job_id TEXT NOT NULL REFERENCES jobs (id),
                name TEXT NOT NULL,
                path TEXT NOT NULL,
                meta TEXT,
                PRIMARY KEY (job_id, name)
            )""",
            """CREATE TABLE provider_requests (
                job_id TEXT NOT NULL REFERENCES jobs (id),
                name TEXT NOT NULL,
                provider TEXT NOT NULL,
                request_id TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (job_id, name)
            )""",
            """CREATE TABLE media_cache (
                key TEXT PRIMARY KEY,
                path TEXT NOT NULL,
                bytes BIGINT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE chat_settings (
                chat_key TEXT NOT NULL,
                name TEXT NOT NULL,
                value TEXT NOT NULL,
                set_by TEXT NOT NULL,
                set_at TEXT NOT NULL,
                PRIMARY KEY (chat_key, name)
            )""",
            """CREATE TABLE user_settings (
                user_key TEXT PRIMARY KEY,
                language TEXT,
                look TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE daily_spend (
                day TEXT PRIMARY KEY,
                spent_micros BIGINT NOT NULL DEFAULT 0
            )""",
            _SPEND,
            """CREATE TRIGGER spend_on_reserve AFTER INSERT ON jobs
            FOR EACH ROW WHEN (NEW.charge = 'reserved') EXECUTE FUNCTION dreambot_spend()""",
            """CREATE TRIGGER spend_on_refund AFTER UPDATE OF charge ON jobs
            FOR EACH ROW WHEN (OLD.charge = 'reserved' AND NEW.charge = 'refunded')
            EXECUTE FUNCTION dreambot_spend()""",
        ),
    ),
)

STEPS = {Dialect.SQLITE: MIGRATIONS, Dialect.POSTGRES: POSTGRES_MIGRATIONS}

_LEDGER = {
    Dialect.SQLITE: (
        "CREATE TABLE IF NOT EXISTS _migrations "
        "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')))",
        "SELECT name FROM _migrations ORDER BY rowid",
    ),
    Dialect.POSTGRES: (
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, "
        "seq BIGINT GENERATED ALWAYS AS IDENTITY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        "SELECT name FROM _migrations ORDER BY seq",
    ),
}


async def applied_steps(tx: Transaction, dialect: Dialect = Dialect.SQLITE) -> list[str]:
    """Names of the steps this database has, in the order they were applied."""
    create, names = _LEDGER[dialect]
    await tx.fetch(create)
    return [row[0] for row in await tx.fetch(names)]


async def migrate(
    tx: Transaction, *, until: str | None = None, dialect: Dialect = Dialect.SQLITE
) -> list[str]:
    """Apply every step not yet applied (up to and including ``until``); return their names."""
    done = set(await applied_steps(tx, dialect))
    applied = []
    for name, statements in STEPS[dialect]:
        if name not in done:
            for statement in statements:
                await tx.fetch(statement)
            await tx.fetch("INSERT INTO _migrations (name) VALUES (?)", (name,))
            applied.append(name)
        if name == until:
            break
    return applied
