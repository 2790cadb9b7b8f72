"""Benchmark the Telegram bot: many people send a story at the same moment.

    python bench/telegram.py [--users 50] [--width 320 --height 180]

Each user's story goes through aiogram's dispatcher into the bot, which runs real jobs
with the offline providers and real ffmpeg, talking to the test suite's fake Bot API on
loopback. Acknowledgement latency is from feeding the update to the fake receiving the
bot's reply; the edit rate is the most edits any one chat saw in a one-second window.
Videos are made small by default so 50 jobs fit on a 2-core machine in reasonable time;
the acknowledgement does not depend on the size. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fakes live in tests/

from aiogram.types import Update

from bench.figures import machine, p99, report
from bot.chat_jobs import ChatJobs
from bot.telegram_app import TelegramApp, TelegramOptions
from bot.warm import get_ready
from engine import Engine, EngineConfig, RenderConfig
from engine.books import Books
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.providers.local import local_providers
from engine.storage import Storage
from engine.storage.ledger import QuotaPolicy
from tests.fakes.telegram_api import FakeTelegramAPI

STORY = (
    "A lighthouse keeper lived alone on a rocky island. One night a storm rolled in. "
    "He climbed the tower and lit the lamp. By morning the storm had become his friend."
)


async def main(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="dreambot-telegram-") as scratch:
        root = Path(scratch)
        render = RenderConfig(width=args.width, height=args.height, fps=12)
        config = EngineConfig(work_dir=root / "work", render=render)
        ffmpeg = FFmpeg(locate_ffmpeg(), max_procs=config.limits.ffmpeg, timeout_s=600)
        storage = await Storage.open(root / "db.sqlite3", QuotaPolicy(daily_quota=3))
        engine = Engine(
            config,
            local_providers(ffmpeg, render),
            ffmpeg,
            books=Books(storage),
            use_cache=True,
        )
        loading = time.monotonic()
        await get_ready(engine)  # as `dreambot run` does at start, before any update
        detector_load_s = round(time.monotonic() - loading, 2)
        async with FakeTelegramAPI() as fake:
            bot = fake.bot()
            jobs = ChatJobs(engine)
            app = TelegramApp(bot, jobs, ffmpeg, TelegramOptions(frozenset(), None, 50 * 2**20))
            users = [1000 + n for n in range(args.users)]
            updates = [
                Update.model_validate(
                    fake.message_update(n + 1, user, user, f"{STORY} ({n})"),
                    context={"bot": bot},
                )
                for n, user in enumerate(users)
            ]
            sent_at: dict[int, float] = {}

            async def send(user: int, update: Update) -> None:
                sent_at[user] = time.monotonic()
                await app.dispatcher.feed_update(bot, update)

            began = time.monotonic()
            await asyncio.gather(*(send(u, up) for u, up in zip(users, updates, strict=True)))
            await jobs.drain()
            elapsed = time.monotonic() - began
            acks = []
            for user in users:
                first = next(c for c in fake.chat_calls(user) if c.method == "sendMessage")
                acks.append((first.at - sent_at[user]) * 1000)
            edits = max(fake.edits_per_second_max(user) for user in users)
            finals = sum(
                1 for user in users if fake.chat_calls(user)[-1].method == "editMessageMedia"
            )
            await jobs.close()
            await bot.session.close()
        await storage.close()
    acks.sort()
    return {
        "ack_p50_ms": round(statistics.median(acks), 1),
        "ack_p99_ms": round(p99(acks), 1),
        "ack_max_ms": round(acks[-1], 1),
        "edits_per_chat_per_s_max": edits,
        "finals_delivered": finals,
        "users": args.users,
        "all_done_s": round(elapsed, 1),
        "render": f"{args.width}x{args.height}@12",
        "language_detector_load_s": detector_load_s,
        "machine": machine(),
    }


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=180)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args(sys.argv[1:])
    report("telegram.py", asyncio.run(main(arguments)))
