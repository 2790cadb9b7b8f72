"""Benchmark admission: many users admitting at once, on SQLite and on PostgreSQL.

    python bench/quota.py [--users 1000] [--rounds 3] [--backend sqlite|postgres|both]
                          [--database-url URL]

Each round starts every user's admission at the same instant (asyncio.gather) against a
fresh database (a new SQLite file in WAL mode; a new schema on PostgreSQL) with a daily
budget set, so every admission also takes the budget's lock, and times each admission from
call to answer; the figures are over all rounds. One more round spreads the same users'
arrivals evenly over one second, for comparison. PostgreSQL is the server at
``--database-url``, or else a throwaway cluster this script starts on loopback with the
server's default durability (fsync and synchronous commit on) and stops. Figures are
prefixed by backend. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for bench.figures

from bench.figures import machine, p99, report
from engine.errors import AdmissionRefusedError
from engine.storage import open_backend
from engine.storage.ledger import Ask, Ledger, QuotaPolicy

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def postgres_server(url: str | None) -> Iterator[str]:
    """``url``, or a durable throwaway cluster's (.ci/postgres), stopped afterwards."""
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="dreambot-pg-") as folder:
        script = str(ROOT / ".ci" / "postgres")
        started = subprocess.run(
            [script, "start", folder, "durable"], capture_output=True, text=True, check=False
        )
        if started.returncode != 0:
            raise SystemExit(
                f"bench: no PostgreSQL to measure ({started.stderr.strip()}): install Debian's "
                "postgresql, pass --database-url, or measure --backend sqlite alone"
            )
        try:
            yield started.stdout.strip()
        finally:
            subprocess.run([script, "stop", folder], check=False)


def fresh_location(backend: str, folder: Path, server: str | None) -> str | Path:
    """A new, empty database: a file, or a schema of its own on the server."""
    if backend == "sqlite" or server is None:
        return folder / f"{uuid.uuid4().hex}.sqlite3"
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in server else "?"
    return f"{server}{separator}options={quote(f'-csearch_path={schema}')}"


async def one_round(
    location: str | Path, users: int, spread_s: float = 0.0
) -> tuple[list[float], float, int]:
    db = await open_backend(location)
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


async def measure(backend: str, users: int, rounds: int, server: str | None) -> dict[str, object]:
    latencies: list[float] = []
    elapsed = 0.0
    admitted = 0
    with tempfile.TemporaryDirectory(prefix="dreambot-quota-") as scratch:
        for _ in range(rounds):
            location = fresh_location(backend, Path(scratch), server)
            round_latencies, round_elapsed, round_admitted = await one_round(location, users)
            latencies += round_latencies
            elapsed += round_elapsed
            admitted += round_admitted
        latencies.sort()
        location = fresh_location(backend, Path(scratch), server)
        steady, _, _ = await one_round(location, users, spread_s=1.0)
    steady.sort()
    return {
        f"{backend}_admissions_per_s": round(len(latencies) / elapsed, 1),
        f"{backend}_p50_admit_ms": round(statistics.median(latencies) * 1000, 2),
        f"{backend}_p99_admit_ms": round(p99(latencies) * 1000, 2),
        f"{backend}_max_admit_ms": round(latencies[-1] * 1000, 2),
        f"{backend}_p99_admit_ms_spread_over_1s": round(p99(steady) * 1000, 2),
        f"{backend}_admitted": admitted,
    }


async def main(args: argparse.Namespace) -> dict[str, object]:
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    figures: dict[str, object] = {}
    with contextlib.ExitStack() as stack:
        server = (
            stack.enter_context(postgres_server(args.database_url))
            if "postgres" in backends
            else None
        )
        for backend in backends:
            figures |= await measure(backend, args.users, args.rounds, server)
    return figures | {"users": args.users, "rounds": args.rounds, "machine": machine()}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--database-url", help="a PostgreSQL server to use (default: start one)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    report("quota.py", asyncio.run(main(arguments)))
