"""Quotas and spend: atomic admission, commit on delivery, refund on failure, never twice.

A job row is the reservation. Admission is one conditional INSERT that checks the ban,
the running-job limit, the user's daily quota, the chat's daily cap and the global
budget in the same statement that reserves. On SQLite that alone is exact, as SQLite runs
one writer at a time; pending admissions are batched, one transaction and one
``executemany`` serving them all in arrival order, which keeps a burst to a few round trips.

PostgreSQL runs writers side by side, and the same statement there let 50 jobs through a
quota of 5 (each saw the others' rows uncommitted). So on PostgreSQL each admission takes
transaction-scoped advisory locks first — the user's, then the chat's, then the day's
budget, in that order in every transaction, so two never wait on each other in a circle —
and runs the statement after them: under READ COMMITTED each statement sees every
admission committed before its locks were granted. The job rows stay the only record;
there are no counters to keep right on refunds (docs/decisions.md).

Money is counted in whole millionths of the operator's currency (``micros``), so the
budget cap is exact: in floats, three costs of 0.1 overrun a budget of 0.3.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine.errors import AdmissionRefusedError, Refusal
from engine.models import Charge
from engine.notice import N_, NN_, Notice
from engine.storage.backend import Backend, Transaction
from engine.storage.dialect import Dialect, Lock
from engine.storage.patience import Patience, Write
from engine.storage.sql import sql

MICROS = 1_000_000  # millionths of the operator's currency per unit

_USED_UP = NN_(
    "You have used your {limit} dream for today. More at {time}.",
    "You have used all {limit} dreams for today. More at {time}.",
)
# Every rule admission checks, in one WHERE, so no interleaving on SQLite can over-admit.
# Each parameter compared with NULL is cast: PostgreSQL cannot infer its type otherwise.
_RULES = """
WHERE NOT EXISTS (SELECT 1 FROM users WHERE user_key = :user AND banned = 1)
  AND (SELECT count(*) FROM jobs
       WHERE user_key = :user AND state IN {unfinished}) < :max_running
  AND (SELECT count(*) FROM jobs
       WHERE user_key = :user AND day = :day AND charge IN {counted})
      < CAST(:quota AS bigint) + coalesce((SELECT extra FROM quota_adjustments
                           WHERE user_key = :user AND day = :day), 0)
  AND (CAST(:chat_cap AS bigint) IS NULL OR CAST(:chat AS text) IS NULL OR
       (SELECT count(*) FROM jobs
        WHERE chat_key = :chat AND chat_key IS NOT NULL AND day = :day
        AND charge IN {counted}) < :chat_cap)
  AND (CAST(:budget AS bigint) IS NULL OR
       coalesce((SELECT spent_micros FROM daily_spend WHERE day = :day), 0) + :cost <= :budget)
"""
_INTO_JOBS = """INSERT INTO jobs (
    id, user_key, chat_key, day, story, language, look, seed, cost_micros, state, charge,
    created_at
)
"""
_ADMIT = sql(
    _INTO_JOBS
    + """SELECT :id, :user, :chat, :day, :story, :language, :look, :seed, :cost, {admitted},
    {reserved}, :now"""
    + _RULES
)
# The row's values are cast too: PostgreSQL reads an untyped parameter selected into a row
# as text.
_ADMIT_LOCKED = sql(
    _INTO_JOBS
    + """SELECT CAST(:id AS text), CAST(:user AS text), CAST(:chat AS text), CAST(:day AS text),
    CAST(:story AS text), CAST(:language AS text), CAST(:look AS text), CAST(:seed AS bigint),
    CAST(:cost AS bigint), {admitted}, {reserved}, CAST(:now AS text)"""
    + _RULES
    + "RETURNING id"
)
_LOCK = "SELECT pg_advisory_xact_lock(?, hashtext(?))"
# What else an admission writes in its transaction: (the transaction, the job's id).
Then = Callable[[Transaction, str], Awaitable[None]]


_SHOW = sql("""SELECT
    (SELECT count(*) FROM jobs WHERE user_key = :u AND day = :d AND charge IN {counted}),
    coalesce((SELECT extra FROM quota_adjustments WHERE user_key = :u AND day = :d), 0),
    (SELECT count(*) FROM jobs WHERE user_key = :u AND state IN {unfinished}),
    coalesce((SELECT banned FROM users WHERE user_key = :u), 0)""")

_USED_TODAY = sql(
    "SELECT count(*) FROM jobs WHERE user_key = ? AND day = ? AND charge IN {counted}"
)

_SETTLE = sql(
    "UPDATE jobs SET charge = ? WHERE id = ? AND charge = {reserved} RETURNING cost_micros"
)
_SPENT = "SELECT spent_micros FROM daily_spend WHERE day = ?"

_STANDING = sql("""SELECT u.user_key,
    coalesce((SELECT banned FROM users WHERE user_key = u.user_key), 0),
    (SELECT count(*) FROM jobs WHERE user_key = u.user_key AND state IN {unfinished}),
    (SELECT count(*) FROM jobs WHERE user_key = u.user_key AND day = ? AND charge IN {counted}),
    coalesce((SELECT extra FROM quota_adjustments WHERE user_key = u.user_key AND day = ?), 0)
FROM (SELECT value AS user_key FROM ({ids_in}) AS ids) AS u""")


@dataclass(frozen=True)
class QuotaPolicy:
    """The limits admission enforces."""

    daily_quota: int = 3
    max_running: int = 1
    chat_daily_cap: int | None = None
    daily_budget: float | None = None

    @classmethod
    def unlimited(cls) -> QuotaPolicy:
        """No quota, cap or budget: for the terminal, whose user is the operator."""
        return cls(daily_quota=2**31 - 1, max_running=2**31 - 1)


@dataclass(frozen=True)
class Ask:
    """One request for admission."""

    job_id: str
    user: str
    story: str
    chat: str | None = None
    seed: int | None = None
    cost: float = 0.0
    language: str | None = None  # a BCP 47 tag
    look: str | None = None  # engine.models.Look, as JSON


@dataclass(frozen=True)
class QuotaView:
    """A user's standing today."""

    user: str
    used: int
    limit: int
    running: int
    banned: bool
    resets_at: datetime

    @property
    def remaining(self) -> int:
        """Dreams left today."""
        return max(0, self.limit - self.used)


def micros(amount: float) -> int:
    """An amount of the operator's currency in whole millionths (rounded to the nearest)."""
    return round(amount * MICROS)


def utc_now() -> datetime:
    """The current time in UTC (the quota day is a UTC day)."""
    return datetime.now(UTC)


def next_reset(now: datetime) -> datetime:
    """The next UTC midnight after ``now``."""
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


class Ledger:
    """Admission, commit and refund of jobs against quotas, caps and the budget."""

    def __init__(
        self,
        db: Backend,
        policy: QuotaPolicy,
        patience: Patience | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.db = db
        self.policy = policy
        self._patience = patience or Patience()
        self._clock = clock
        self._pending: list[tuple[Ask, asyncio.Future[None]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def admit(self, ask: Ask, then: Then | None = None) -> None:
        """Reserve one dream for ``ask`` or raise AdmissionRefusedError.

        ``then`` runs inside the admitting transaction, once the job is admitted (to queue
        it for a worker in the same commit); only PostgreSQL has workers to queue for.
        """
        if self.db.dialect is Dialect.POSTGRES:
            return await self._admit_locked(ask, then)
        if then is not None:
            raise ValueError("only PostgreSQL admits for workers")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((ask, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        await future

    async def precheck(self, user: str) -> None:
        """Refuse early, without writing, when the user plainly cannot be admitted now.

        Lets callers skip paid work (moderation) for a flood of requests; admission itself
        still decides atomically.
        """
        view = await self.show(user)
        if view.banned or view.running >= self.policy.max_running or view.used >= view.limit:
            ask = Ask(job_id="", user=user, story="")
            raise self._explain(
                ask, view.banned, view.running, view.used, view.limit, 0, view.resets_at
            )

    async def commit(self, job_id: str) -> float | None:
        """Charge a reserved job for good (on delivery): its cost, or None if not reserved.

        Waits for a database that refuses writes until the charge is recorded.
        """
        return await self._settle_alone(job_id, Charge.COMMITTED)

    async def refund(self, job_id: str) -> float | None:
        """Give a reserved job back (on failure or cancel): its cost, or None if not reserved.

        Waits for a database that refuses writes until the refund is recorded.
        """
        return await self._settle_alone(job_id, Charge.REFUNDED)

    @staticmethod
    async def settle_in(tx: Transaction, job_id: str, charge: Charge) -> float | None:
        """Commit or refund a reserved job inside ``tx``: its cost, or None if not reserved."""
        rows = await tx.fetch(_SETTLE, (charge, job_id))
        return rows[0][0] / MICROS if rows else None

    async def show(self, user: str) -> QuotaView:
        """A user's usage, limit and running jobs today."""
        now = self._clock()
        day = now.date().isoformat()
        rows = await self.db.fetch(_SHOW, {"u": user, "d": day})
        used, extra, running, banned = rows[0]
        limit = self.policy.daily_quota + extra
        return QuotaView(user, used, limit, running, bool(banned), next_reset(now))

    async def grant(self, user: str, dreams: int) -> QuotaView:
        """Give a user ``dreams`` more today (negative takes away)."""
        day = self._clock().date().isoformat()
        await self.db.fetch(
            """INSERT INTO quota_adjustments (user_key, day, extra) VALUES (?, ?, ?)
            ON CONFLICT (user_key, day) DO UPDATE
            SET extra = quota_adjustments.extra + excluded.extra""",
            (user, day, dreams),
        )
        return await self.show(user)

    async def reset(self, user: str) -> QuotaView:
        """Give a user their full daily quota again, whatever they used today."""
        day = self._clock().date().isoformat()
        async with self.db.transaction() as tx:
            (used,) = (
                await tx.fetch(
                    _USED_TODAY,
                    (user, day),
                )
            )[0]
            await tx.fetch(
                """INSERT INTO quota_adjustments (user_key, day, extra) VALUES (?, ?, ?)
                ON CONFLICT (user_key, day) DO UPDATE SET extra = excluded.extra""",
                (user, day, used),
            )
        return await self.show(user)

    async def set_banned(self, user: str, banned: bool) -> None:
        """Ban or unban a user."""
        await self.db.fetch(
            """INSERT INTO users (user_key, banned, updated_at) VALUES (?, ?, ?)
            ON CONFLICT (user_key) DO UPDATE SET banned = excluded.banned,
            updated_at = excluded.updated_at""",
            (user, int(banned), self._clock().isoformat()),
        )

    async def spent_today(self) -> float:
        """Cost units reserved or committed today."""
        day = self._clock().date().isoformat()
        rows = await self.db.fetch(_SPENT, (day,))
        return rows[0][0] / MICROS if rows else 0.0

    async def _settle_alone(self, job_id: str, charge: Charge) -> float | None:
        async def settle() -> float | None:
            async with self.db.transaction() as tx:
                return await self.settle_in(tx, job_id, charge)

        return await self._patience.until_stored(Write.SETTLE, settle)

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                refused = await self._admit_batch([ask for ask, _ in batch])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for ask, future in batch:
                if future.done():
                    continue
                if ask.job_id in refused:
                    future.set_exception(refused[ask.job_id])
                else:
                    future.set_result(None)

    async def _admit_locked(self, ask: Ask, then: Then | None) -> None:
        """Admit one ask on PostgreSQL, under the locks that make its checks exact."""
        now = self._clock()
        day = now.date().isoformat()
        async with self.db.transaction() as tx:
            # A stalled holder (a paused process) refuses this admission after a while
            # rather than holding every user's in every process.
            await tx.fetch("SET LOCAL lock_timeout = '10s'")
            await tx.fetch(_LOCK, (Lock.USER, ask.user))
            if self.policy.chat_daily_cap is not None and ask.chat is not None:
                await tx.fetch(_LOCK, (Lock.CHAT, ask.chat))
            if self.policy.daily_budget is not None:
                await tx.fetch(_LOCK, (Lock.BUDGET, day))
            if await tx.fetch(_ADMIT_LOCKED, self._params(ask, now)):
                if then is not None:
                    await then(tx, ask.job_id)
                return
            refusals = await self._diagnose(tx, [ask], day, next_reset(now))
        raise refusals[ask.job_id]

    def _params(self, ask: Ask, now: datetime) -> dict[str, object]:
        policy = self.policy
        return {
            "id": ask.job_id,
            "user": ask.user,
            "chat": ask.chat,
            "day": now.date().isoformat(),
            "story": ask.story,
            "language": ask.language,
            "look": ask.look,
            "seed": ask.seed,
            "cost": micros(ask.cost),
            # Always with microseconds: text timestamps then sort as the times do.
            "now": now.isoformat(timespec="microseconds"),
            "max_running": policy.max_running,
            "quota": policy.daily_quota,
            "chat_cap": policy.chat_daily_cap,
            "budget": None if policy.daily_budget is None else micros(policy.daily_budget),
        }

    async def _admit_batch(self, asks: list[Ask]) -> dict[str, AdmissionRefusedError]:
        now = self._clock()
        day = now.date().isoformat()
        params = [self._params(ask, now) for ask in asks]
        async with self.db.transaction() as tx:
            await tx.run_many(_ADMIT, params)
            ids = json.dumps([ask.job_id for ask in asks])
            rows = await tx.fetch(
                "SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each(?))", (ids,)
            )
            admitted = {row[0] for row in rows}
            refused_asks = [ask for ask in asks if ask.job_id not in admitted]
            if not refused_asks:
                return {}
            return await self._diagnose(tx, refused_asks, day, next_reset(now))

    async def _diagnose(
        self, tx: Transaction, asks: list[Ask], day: str, resets_at: datetime
    ) -> dict[str, AdmissionRefusedError]:
        """Say why each refused ask was refused, from the state the batch left."""
        users = json.dumps(sorted({ask.user for ask in asks}))
        standing = {
            row[0]: row[1:]
            for row in await tx.fetch(
                _STANDING,
                (day, day, users),
            )
        }
        spent_rows = await tx.fetch(_SPENT, (day,))
        spent = int(spent_rows[0][0]) if spent_rows else 0
        refusals = {}
        for ask in asks:
            banned, running, used, extra = standing[ask.user]
            refusals[ask.job_id] = self._explain(
                ask, bool(banned), running, used, self.policy.daily_quota + extra, spent, resets_at
            )
        return refusals

    def _explain(
        self,
        ask: Ask,
        banned: bool,
        running: int,
        used: int,
        limit: int,
        spent: int,
        resets_at: datetime,
    ) -> AdmissionRefusedError:
        reset = {"time": resets_at.strftime("%H:%M UTC")}
        if banned:
            return AdmissionRefusedError(
                Refusal.BANNED, Notice(N_("You cannot make dreams here.")), None
            )
        if running >= self.policy.max_running:
            return AdmissionRefusedError(
                Refusal.RUNNING,
                Notice(N_("You already have a dream running. Wait for it to finish or cancel it.")),
                None,
            )
        if used >= limit:
            return AdmissionRefusedError(
                Refusal.QUOTA,
                Notice(_USED_UP[0], {"limit": limit, **reset}, plural=_USED_UP[1], count=limit),
                resets_at,
            )
        budget = self.policy.daily_budget
        if budget is not None and spent + micros(ask.cost) > micros(budget):
            return AdmissionRefusedError(
                Refusal.BUDGET,
                Notice(
                    N_("The bot has reached its spending limit for today. Try again after {time}."),
                    reset,
                ),
                resets_at,
            )
        return AdmissionRefusedError(
            Refusal.CHAT_CAP,
            Notice(N_("This chat has used all its dreams for today. More at {time}."), reset),
            resets_at,
        )
