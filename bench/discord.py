"""Benchmark the Discord bot: many /dream interactions arrive at the same moment.

    python bench/discord.py [--users 50] [--width 320 --height 180]

Each interaction goes through discord.py's own dispatch into the bot, which defers,
admits and runs a real job with the offline providers and real ffmpeg, talking to the
test suite's fake Discord API on loopback. Defer latency is from delivering the
interaction to the fake receiving the deferral; the edit rate is the most edits any one
job's message saw in a one-second window. The last line is JSON.
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

# This file is named discord.py: its own folder must not stand first on the path, or it
# would shadow the discord package. The repository root goes there instead (for tests/).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import discord.http

from bench.figures import machine, p99, report
from bot.chat_jobs import ChatJobs
from bot.discord_app import DiscordApp, DiscordOptions
from bot.warm import get_ready
from engine import Engine, EngineConfig, RenderConfig
from engine.books import Books
from engine.media.ffmpeg import FFmpeg, locate_ffmpeg
from engine.providers.local import local_providers
from engine.storage import Storage
from engine.storage.ledger import QuotaPolicy
from tests.fakes import discord_payloads as dp
from tests.fakes.discord_api import FakeDiscordAPI, deliver

STORY = (
    "A lighthouse keeper lived alone on a rocky island. One night a storm rolled in. "
    "He climbed the tower and lit the lamp. By morning the storm had become his friend."
)


async def main(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="dreambot-discord-") as scratch:
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
        async with FakeDiscordAPI() as fake:
            discord.http.Route.BASE = fake.api_base
            jobs = ChatJobs(engine)
            app = DiscordApp(jobs, ffmpeg, DiscordOptions(frozenset(), sync_commands=False))
            await app.client.login("bench-token")
            payloads = [
                fake.command_payload(
                    "dream",
                    {"story": f"{STORY} ({n})"},
                    user_id=dp.USER_ID + n,
                    guild_id=dp.GUILD_ID,
                    channel_id=dp.CHANNEL_ID,
                )
                for n in range(args.users)
            ]
            sent_at: dict[str, float] = {}

            async def send(payload: dict[str, object]) -> None:
                sent_at[str(payload["token"])] = time.monotonic()
                await deliver(app.client, payload)

            began = time.monotonic()
            await asyncio.gather(*(send(p) for p in payloads))
            await jobs.drain()
            elapsed = time.monotonic() - began
            defers = []
            for payload in payloads:
                token = str(payload["token"])
                callback = next(c for c in fake.calls_to("callback") if token in c.path)
                defers.append((callback.at - sent_at[token]) * 1000)
            originals = [fake.original(p) for p in payloads]
            edits = max(fake.edits_per_second_max(m.id) for m in originals)
            finals = sum(
                1 for m in originals if any(a.filename == "dream.mp4" for a in m.attachments)
            )
            await jobs.close()
            await app.close()
        await storage.close()
    defers.sort()
    return {
        "defer_p50_ms": round(statistics.median(defers), 1),
        "defer_p99_ms": round(p99(defers), 1),
        "defer_max_ms": round(defers[-1], 1),
        "edits_per_message_per_s_max": edits,
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
    report("discord.py", asyncio.run(main(arguments)))
