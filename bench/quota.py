"""Benchmark admission: many users admitting at once against one SQLite file.

    python bench/quota.py [--users 1000] [--rounds 3]

Each round starts every user's admission at the same instant (asyncio.gather) against a
fresh database file in WAL mode, and times each admission from call to answer; the
figures are over all rounds. One more round spreads the same users' arrivals evenly over
one second, for comparison. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for bench.figures

from bench.figures import machine, p99, report
from engine.errors import AdmissionRefusedError
from engine.storage.db import Database
from engine.storage.ledger import Ask, Ledger, QuotaPolicy


async def one_round(
    folder: Path, users: int, spread_s: float = 0.0
) -> tuple[list[float], float, int]:
    db = await Database.open(folder / f"{uuid.uuid4().hex}.sqlite3")
    ledger = Ledger(db, QuotaPolicy(daily_quota=3, daily_budget=1_000_000.0))
    latencies: list[float] = []
    admitted = 0

    async def admit(n: int) -> None:
        nonlocal admitted
        if spread_s:
            await asyncio.sleep(spread_s * n / users)  # arrivals spread evenly, not a burst
        started = time.perf_counter()
        try:
            await ledger.admit(Ask(uuid.uuid4().hex, f"telegram:{n}", "a story", cost=0.1))
            admitted += 1
        except AdmissionRefusedError:
            pass
        latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(admit(n) for n in range(users)))
    elapsed = time.perf_counter() - began
    await db.close()
    return latencies, elapsed, admitted


async def main(args: argparse.Namespace) -> dict[str, object]:
    latencies: list[float] = []
    elapsed = 0.0
    admitted = 0
    with tempfile.TemporaryDirectory(prefix="dreambot-quota-") as scratch:
        for _ in range(args.rounds):
            round_latencies, round_elapsed, round_admitted = await one_round(
                Path(scratch), args.users
            )
            latencies += round_latencies
            elapsed += round_elapsed
            admitted += round_admitted
    latencies.sort()
    with tempfile.TemporaryDirectory(prefix="dreambot-quota-") as scratch:
        steady, _, _ = await one_round(Path(scratch), args.users, spread_s=1.0)
    steady.sort()
    return {
        "admissions_per_s": round(len(latencies) / elapsed, 1),
        "p50_admit_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_admit_ms": round(p99(latencies) * 1000, 2),
        "max_admit_ms": round(latencies[-1] * 1000, 2),
        "p99_admit_ms_spread_over_1s": round(p99(steady) * 1000, 2),
        "admitted": admitted,
        "users": args.users,
        "rounds": args.rounds,
        "machine": machine(),
    }


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    report("quota.py", asyncio.run(main(arguments)))
