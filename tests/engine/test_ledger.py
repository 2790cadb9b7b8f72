"""Quotas under concurrency: nobody gets more than their quota, nobody pays twice.

A contract: every test runs on SQLite and on PostgreSQL (the ``location`` fixture).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import AdmissionRefusedError, Refusal
from engine.storage import open_backend
from engine.storage.db import Database
from engine.storage.ledger import Ask, Ledger, QuotaPolicy
from engine.storage.sql import sql

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


@pytest.fixture
async def db(location):
    database = await open_backend(location)
    yield database
    await database.close()


def ask(user: str = "telegram:1", chat: str | None = None, cost: float = 0.0) -> Ask:
    return Ask(job_id=uuid.uuid4().hex, user=user, story="a story", chat=chat, cost=cost)


async def outcomes(ledger: Ledger, asks: list[Ask]) -> list[AdmissionRefusedError | None]:
    async def one(a: Ask) -> AdmissionRefusedError | None:
        try:
            await ledger.admit(a)
        except AdmissionRefusedError as refused:
            return refused
        return None

    return await asyncio.gather(*(one(a) for a in asks))


async def test_200_concurrent_admissions_admit_exactly_the_quota(db) -> None:
    ledger = Ledger(db, QuotaPolicy(daily_quota=5, max_running=1000), clock=lambda: NOON)
    results = await outcomes(ledger, [ask() for _ in range(200)])

    assert results.count(None) == 5
    refusals = [r for r in results if r is not None]
    assert {r.refusal for r in refusals} == {Refusal.QUOTA}
    assert {r.resets_at for r in refusals} == {MIDNIGHT}
    assert "00:00 UTC" in refusals[0].reason
    assert (await ledger.show("telegram:1")).used == 5


async def test_one_running_job_per_user(db) -> None:
    ledger = Ledger(db, QuotaPolicy(daily_quota=5), clock=lambda: NOON)
    results = await outcomes(ledger, [ask() for _ in range(5)])

    assert results.count(None) == 1
    assert {r.refusal for r in results if r} == {Refusal.RUNNING}
    assert "already have a dream running" in next(r for r in results if r).reason


async def test_refunds_and_commits_happen_exactly_once(db) -> None:
    ledger = Ledger(db, QuotaPolicy(daily_quota=1, max_running=5), clock=lambda: NOON)
    failed, delivered = ask(cost=0.5), ask(cost=0.25)
    await ledger.admit(failed)

    assert await ledger.refund(failed.job_id) == 0.5
    assert await ledger.refund(failed.job_id) is None
    assert await ledger.commit(failed.job_id) is None
    assert (await ledger.show("telegram:1")).used == 0

    await ledger.admit(delivered)
    assert await ledger.commit(delivered.job_id) == 0.25
    assert await ledger.refund(delivered.job_id) is None
    assert (await ledger.show("telegram:1")).remaining == 0


async def test_a_banned_user_is_refused_until_unbanned(db) -> None:
    ledger = Ledger(db, QuotaPolicy(), clock=lambda: NOON)
    await ledger.set_banned("discord:9", True)
    with pytest.raises(AdmissionRefusedError) as refused:
        await ledger.admit(ask("discord:9"))
    assert refused.value.refusal is Refusal.BANNED

    await ledger.set_banned("discord:9", False)
    await ledger.admit(ask("discord:9"))


async def test_the_chat_cap_holds_under_concurrency(db) -> None:
    ledger = Ledger(db, QuotaPolicy(chat_daily_cap=5), clock=lambda: NOON)
    asks = [ask(f"telegram:{n}", chat="telegram:-100") for n in range(50)]
    results = await outcomes(ledger, asks)

    assert results.count(None) == 5
    assert {r.refusal for r in results if r} == {Refusal.CHAT_CAP}


async def test_the_global_budget_holds_under_concurrency_and_refunds_free_it(db) -> None:
    ledger = Ledger(db, QuotaPolicy(daily_budget=10.0), clock=lambda: NOON)
    asks = [ask(f"discord:{n}", cost=1.5) for n in range(40)]
    results = await outcomes(ledger, asks)

    assert results.count(None) == 6  # 6 * 1.5 = 9.0; a seventh would make 10.5
    assert {r.refusal for r in results if r} == {Refusal.BUDGET}
    assert await ledger.spent_today() == pytest.approx(9.0)
    admitted = [a for a, r in zip(asks, results, strict=True) if r is None]
    assert await ledger.refund(admitted[0].job_id) is not None
    assert await ledger.spent_today() == pytest.approx(7.5)
    await ledger.admit(ask("discord:99", cost=1.5))


async def test_a_budget_is_exact_where_floats_would_drift(db) -> None:
    # 0.1 + 0.1 + 0.1 == 0.30000000000000004 in floats: a cap of 0.3 admitted only two.
    ledger = Ledger(db, QuotaPolicy(daily_budget=0.3), clock=lambda: NOON)
    results = await outcomes(ledger, [ask(f"discord:{n}", cost=0.1) for n in range(4)])

    # Which three is up to who takes the budget's lock first (on PostgreSQL, not the order
    # the asks were made in).
    assert results.count(None) == 3
    assert [r.refusal for r in results if r is not None] == [Refusal.BUDGET]
    assert await ledger.spent_today() == 0.3


async def test_two_processes_admitting_at_once_still_admit_exactly_the_quota(location) -> None:
    # Two opens are two processes' worth of connections: SQLite's own lock, or PostgreSQL's.
    first, second = await open_backend(location), await open_backend(location)
    policy = QuotaPolicy(daily_quota=4, max_running=100)
    try:
        ledgers = [Ledger(db, policy, clock=lambda: NOON) for db in (first, second)]
        results = await asyncio.gather(
            *(outcomes(ledger, [ask() for _ in range(60)]) for ledger in ledgers)
        )
        assert sum(r.count(None) for r in results) == 4
    finally:
        await first.close()
        await second.close()


async def test_grant_and_reset_and_a_new_day(db) -> None:
    now = [NOON]
    ledger = Ledger(db, QuotaPolicy(daily_quota=2, max_running=10), clock=lambda: now[0])
    for _ in range(2):
        await ledger.admit(ask())
    assert (await ledger.show("telegram:1")).remaining == 0

    assert (await ledger.grant("telegram:1", 3)).remaining == 3
    assert (await ledger.reset("telegram:1")).remaining == 2

    now[0] = NOON + timedelta(days=1)
    view = await ledger.show("telegram:1")
    assert (view.used, view.remaining, view.running) == (0, 2, 2)


async def test_refusal_reasons_are_counted_per_kind(db) -> None:
    ledger = Ledger(db, QuotaPolicy(daily_quota=2, max_running=1), clock=lambda: NOON)
    results = await outcomes(ledger, [ask() for _ in range(10)])
    kinds = Counter(r.refusal if r else "admitted" for r in results)
    assert kinds == {"admitted": 1, Refusal.RUNNING: 9}


async def test_1000_users_against_a_budget_admit_what_a_sequential_replay_admits(db) -> None:
    # Costs that do not divide the budget, so where it runs out depends on who came first.
    costs = [0.25 + (n * 37 % 11) / 4 for n in range(1000)]
    policy = QuotaPolicy(daily_quota=1, daily_budget=700.0)
    asks = [ask(f"discord:{n}", cost=cost) for n, cost in enumerate(costs)]
    results = await outcomes(Ledger(db, policy, clock=lambda: NOON), asks)

    refused = [a for a, r in zip(asks, results, strict=True) if r is not None]
    assert {r.refusal for r in results if r is not None} == {Refusal.BUDGET}
    order = [row[0] for row in await db.fetch(sql("SELECT id FROM jobs ORDER BY {seq}"))]
    by_id = {a.job_id: a for a in asks}
    # One admission at a time, in the order they were admitted, then everyone refused.
    replay_db = await Database.open(":memory:")
    try:
        replay = Ledger(replay_db, policy, clock=lambda: NOON)
        again = await outcomes_in_turn(replay, [by_id[i] for i in order] + refused)
    finally:
        await replay_db.close()
    assert again[: len(order)] == [None] * len(order)
    assert all(r is not None for r in again[len(order) :])
    assert len(order) + len(refused) == 1000 and 0 < len(refused) < 1000
    spent = await Ledger(db, policy, clock=lambda: NOON).spent_today()
    assert spent == pytest.approx(sum(by_id[i].cost for i in order)) and spent <= 700.0


async def outcomes_in_turn(ledger: Ledger, asks: list[Ask]) -> list[AdmissionRefusedError | None]:
    return [(await outcomes(ledger, [a]))[0] for a in asks]
