"""Jobs as rows: state, stage timings, produced files, provider requests, surface reference.

Everything a restart needs is written before it is awaited: a provider request id is
stored the moment the provider hands it out, a file the moment it is validated.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from engine.models import JobState, Language, Look, PastDream, Stage, StageStatus
from engine.storage.backend import Backend, Transaction
from engine.storage.ledger import MICROS
from engine.storage.patience import Patience, Write
from engine.storage.sql import sql

_START = sql(
    # The surface the adapter stored meanwhile (its message, once acknowledged) is newer
    # than the one the job started with.
    "UPDATE jobs SET state = {running}, workdir = ?, surface = coalesce(surface, ?) WHERE id = ?"
)
_UNFINISHED = sql(
    "SELECT id, user_key, chat_key, story, language, look, seed, surface, workdir, created_at "
    "FROM jobs WHERE state IN {unfinished} ORDER BY created_at"
)
_UNFINISHED_ONE = sql(
    "SELECT id, user_key, chat_key, story, language, look, seed, surface, workdir, created_at "
    "FROM jobs WHERE id = ? AND state IN {unfinished}"
)
_ONE = (
    "SELECT id, user_key, chat_key, story, language, look, seed, surface, workdir, created_at "
    "FROM jobs WHERE id = ?"
)
_PAST = (
    "SELECT id, user_key, story, chat_key, language, look, seed, state, surface, created_at "
    "FROM jobs"
)
_UNFINISHED_OF = sql(
    "SELECT id FROM jobs WHERE user_key = ? AND state IN {unfinished} ORDER BY created_at"
)
_RECENT_STAGES = sql(
    "SELECT stage, elapsed_s FROM job_stages WHERE job_id IN "
    "(SELECT id FROM jobs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC "
    "LIMIT ?) AND status = ? AND elapsed_s IS NOT NULL ORDER BY {seq}"
)
_HISTORY = sql(
    _PAST + " WHERE user_key = ? AND state = ? ORDER BY created_at DESC, {seq} DESC LIMIT ?"
)
_FINISH_TIMES = sql("SELECT id, finished_at, state FROM jobs WHERE id IN ({ids_in})")
_IS_UNFINISHED = sql("SELECT 1 FROM jobs WHERE id = ? AND state IN {unfinished}")
_DONE_STAGES = "SELECT stage, elapsed_s FROM job_stages WHERE status = ? AND elapsed_s IS NOT NULL"
_FINISH = "UPDATE jobs SET state = ?, failed_stage = ?, failure = ?, finished_at = ? WHERE id = ?"
_RECORD_STAGE = """INSERT INTO job_stages (job_id, stage, status, elapsed_s) VALUES (?, ?, ?, ?)
ON CONFLICT (job_id, stage) DO UPDATE
SET status = excluded.status, elapsed_s = excluded.elapsed_s"""


@dataclass(frozen=True)
class StoredFile:
    """A file a job produced, with what the engine noted about it."""

    path: Path
    meta: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredJob:
    """An unfinished job as the database remembers it."""

    job_id: str
    user: str
    chat: str | None
    story: str
    language: str | None  # a BCP 47 tag; None for jobs from before languages were stored
    look: Look
    seed: int | None
    surface: str | None
    workdir: Path | None
    files: dict[str, StoredFile]
    requests: dict[str, str]
    created_at: datetime


@dataclass(frozen=True)
class JobStats:
    """What `dreambot stats` reports."""

    by_state: dict[str, int]
    median_stage_s: dict[str, float]
    spent_today: float
    admitted_today: int


class JobStore:
    """Reads and writes job rows; every method is one short statement or transaction.

    Writes wait for a database that refuses them for now (``Patience``): what a job made
    and how it ended is recorded, late rather than never.
    """

    def __init__(self, db: Backend, patience: Patience | None = None) -> None:
        self.db = db
        self._patience = patience or Patience()

    async def start(self, job_id: str, workdir: Path, surface: str | None) -> None:
        """Mark a job running, with its folder and the adapter's surface reference."""
        await self._write(Write.JOB, _START, (str(workdir), surface, job_id))

    async def set_surface(self, job_id: str, surface: str) -> None:
        """Store the adapter's reference to where the job shows itself."""
        await self._write(Write.JOB, "UPDATE jobs SET surface = ? WHERE id = ?", (surface, job_id))

    async def unfinished_of(self, user: str) -> list[str]:
        """The ids of a user's jobs that are admitted or running, oldest first."""
        rows = await self.db.fetch(_UNFINISHED_OF, (user,))
        return [str(row[0]) for row in rows]

    async def is_unfinished(self, job_id: str) -> bool:
        """Whether a job is still admitted or running."""
        return bool(await self.db.fetch(_IS_UNFINISHED, (job_id,)))

    async def owner(self, job_id: str) -> str | None:
        """The user key that asked for a job."""
        rows = await self.db.fetch("SELECT user_key FROM jobs WHERE id = ?", (job_id,))
        return str(rows[0][0]) if rows else None

    async def past(self, job_id: str) -> PastDream | None:
        """A job as its owner may find it again (None if unknown)."""
        rows = await self.db.fetch(f"{_PAST} WHERE id = ?", (job_id,))
        return _past(*rows[0]) if rows else None

    async def recent_stage_times(self, *, jobs: int = 50) -> list[tuple[Stage, float]]:
        """The stage times of the newest finished jobs, oldest first (for wait estimates)."""
        rows = await self.db.fetch(
            _RECENT_STAGES,
            (jobs, StageStatus.DONE),
        )
        known = {stage.value for stage in Stage}
        return [(Stage(stage), float(seconds)) for stage, seconds in rows if stage in known]

    async def history(self, user: str, *, limit: int) -> list[PastDream]:
        """A user's newest delivered jobs, newest first."""
        rows = await self.db.fetch(
            _HISTORY,
            (user, JobState.DELIVERED, limit),
        )
        return [_past(*row) for row in rows]

    async def finish(
        self,
        job_id: str,
        state: JobState,
        *,
        stage: Stage | None = None,
        failure: str | None = None,
    ) -> None:
        """Record how a job ended: delivered, failed (with stage and reason) or cancelled."""
        async with self.db.transaction() as tx:
            await self.finish_in(tx, job_id, state, stage=stage, failure=failure)

    @staticmethod
    async def finish_in(
        tx: Transaction,
        job_id: str,
        state: JobState,
        *,
        stage: Stage | None = None,
        failure: str | None = None,
        timings: dict[Stage, float] | None = None,
    ) -> None:
        """Record inside ``tx`` how a job ended and how long its finished stages took."""
        await tx.run_many(
            _RECORD_STAGE,
            [
                (job_id, done, StageStatus.DONE, seconds)
                for done, seconds in (timings or {}).items()
            ],
        )
        finished = datetime.now(UTC).isoformat(timespec="microseconds")  # sorts as it reads
        await tx.fetch(_FINISH, (state, stage, failure, finished, job_id))

    async def record_stage(
        self, job_id: str, stage: Stage, status: StageStatus, elapsed_s: float | None
    ) -> None:
        """Remember a stage's latest status and time."""
        await self._write(Write.JOURNAL, _RECORD_STAGE, (job_id, stage, status, elapsed_s))

    async def record_file(
        self, job_id: str, name: str, path: Path, meta: dict[str, object] | None = None
    ) -> None:
        """Remember a produced file, so a restart does not make it again."""
        await self._write(
            Write.JOURNAL,
            """INSERT INTO job_files (job_id, name, path, meta) VALUES (?, ?, ?, ?)
            ON CONFLICT (job_id, name) DO UPDATE SET path = excluded.path, meta = excluded.meta""",
            (job_id, name, str(path), json.dumps(meta or {})),
        )

    async def record_request(self, job_id: str, name: str, provider: str, request_id: str) -> None:
        """Remember a provider request id before its result is awaited."""
        await self._write(
            Write.JOURNAL,
            """INSERT INTO provider_requests (job_id, name, provider, request_id, created_at)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (job_id, name) DO UPDATE SET request_id = excluded.request_id""",
            (job_id, name, provider, request_id, datetime.now(UTC).isoformat()),
        )

    async def finish_times(self, job_ids: list[str]) -> dict[str, datetime | None]:
        """When each known job finished, None while it is unfinished; unknown ids are absent."""
        rows = await self.db.fetch(
            _FINISH_TIMES,
            (json.dumps(job_ids),),
        )
        return {
            str(job_id): datetime.fromisoformat(finished)
            if finished and state not in JobState.unfinished()
            else None
            for job_id, finished, state in rows
        }

    async def unfinished(self) -> list[StoredJob]:
        """Every job that was admitted or running when the process last stopped."""
        rows = await self.db.fetch(_UNFINISHED)
        return [await self._load(*row) for row in rows]

    async def unfinished_one(self, job_id: str) -> StoredJob | None:
        """One job, if it is admitted or running still."""
        rows = await self.db.fetch(_UNFINISHED_ONE, (job_id,))
        return await self._load(*rows[0]) if rows else None

    async def one(self, job_id: str) -> StoredJob | None:
        """One job, however it ended, as ``unfinished`` would list it."""
        rows = await self.db.fetch(_ONE, (job_id,))
        return await self._load(*rows[0]) if rows else None

    async def stats(self, day: str) -> JobStats:
        """Jobs by state, median stage times and today's spend."""
        by_state: dict[str, int] = {
            str(state): int(count)
            for state, count in await self.db.fetch(
                "SELECT state, count(*) FROM jobs GROUP BY state"
            )
        }
        timings: dict[str, list[float]] = {}
        for stage, elapsed in await self.db.fetch(_DONE_STAGES, (StageStatus.DONE,)):
            timings.setdefault(stage, []).append(elapsed)
        spent = await self.db.fetch("SELECT spent_micros FROM daily_spend WHERE day = ?", (day,))
        admitted = await self.db.fetch("SELECT count(*) FROM jobs WHERE day = ?", (day,))
        return JobStats(
            by_state=by_state,
            median_stage_s={k: statistics.median(v) for k, v in sorted(timings.items())},
            spent_today=spent[0][0] / MICROS if spent else 0.0,
            admitted_today=int(admitted[0][0]),
        )

    async def _write(self, what: Write, statement: str, params: tuple[object, ...]) -> None:
        await self._patience.until_stored(what, lambda: self.db.fetch(statement, params))

    async def _load(
        self,
        job_id: str,
        user: str,
        chat: str | None,
        story: str,
        language: str | None,
        look: str | None,
        seed: int | None,
        surface: str | None,
        workdir: str | None,
        created_at: str,
    ) -> StoredJob:
        files = {
            name: StoredFile(Path(path), json.loads(meta or "{}"))
            for name, path, meta in await self.db.fetch(
                "SELECT name, path, meta FROM job_files WHERE job_id = ?", (job_id,)
            )
        }
        requests: dict[str, str] = {
            str(name): str(request_id)
            for name, request_id in await self.db.fetch(
                "SELECT name, request_id FROM provider_requests WHERE job_id = ?", (job_id,)
            )
        }
        return StoredJob(
            job_id,
            user,
            chat,
            story,
            language,
            Look.from_json(look),
            seed,
            surface,
            Path(workdir) if workdir else None,
            files,
            requests,
            datetime.fromisoformat(created_at),
        )


def _past(
    job_id: str,
    user: str,
    story: str,
    chat: str | None,
    language: str | None,
    look: str | None,
    seed: int | None,
    state: str,
    surface: str | None,
    created_at: str,
) -> PastDream:
    return PastDream(
        job_id=job_id,
        user=user,
        story=story,
        chat=chat,
        language=Language.parse(language) if language else None,
        look=Look.from_json(look),
        seed=seed,
        state=JobState(state),
        surface=surface,
        created_at=datetime.fromisoformat(created_at),
    )
