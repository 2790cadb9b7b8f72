"""Discord at scale: shards, from Discord or set, split between `dreambot run` processes.

Real processes against the fake gateway, which routes each guild's events to the shard
Discord's rule gives it (tests/fakes/discord_api.py, `GatewayConnection.receives`).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

from engine.storage import open_backend
from tests.bot.test_run import discord_final, show_log
from tests.fakes.discord_api import FakeDiscordAPI
from tests.fakes.discord_payloads import GUILD_ID
from tests.postgres import fresh_schema
from tests.runs import run_environment, start_run

STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."


def guild_on(shard_id: int, num_shards: int = 2) -> int:
    """A guild id whose events go to ``shard_id`` (Discord's ``(guild_id >> 22) % n``)."""
    base = GUILD_ID >> 22
    return ((base - base % num_shards + shard_id) << 22) | (GUILD_ID & (2**22 - 1))


def interactions_sent(fake: FakeDiscordAPI) -> list[tuple[tuple[int, int], str]]:
    """(shard, interaction token) for every INTERACTION_CREATE the fake sent, per connection."""
    return [
        (conn.shard, frame["d"]["token"])
        for conn in fake.connections
        for frame in conn.sent
        if frame.get("t") == "INTERACTION_CREATE"
    ]


def answered(fake: FakeDiscordAPI, payload: dict[str, Any], text: str) -> bool:
    return any(
        text in str(call.body)
        for call in fake.calls
        if payload["token"] in call.path or call.path.endswith(f"/{payload['id']}/callback")
    )


async def settled(url: str, jobs: int) -> None:
    """Wait until ``jobs`` jobs are delivered and charged (a final is shown just before)."""
    books = await open_backend(url)
    try:
        query = "SELECT count(*) FROM jobs WHERE charge = 'committed'"
        while (await books.fetch(query))[0][0] < jobs:
            await asyncio.sleep(0.05)
    finally:
        await books.close()


async def stop(processes: list[asyncio.subprocess.Process], folders: list[Path]) -> list[int]:
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    codes = [await asyncio.wait_for(p.wait(), timeout=60) for p in processes]
    for folder in folders:
        show_log(folder)
    return codes


async def test_two_processes_split_the_shards_and_share_one_users_quota(tmp_path) -> None:
    folders = [tmp_path / "shard0", tmp_path / "shard1"]
    for folder in folders:
        folder.mkdir()
    with fresh_schema() as url:
        async with FakeDiscordAPI(shards=2) as fake:
            processes = [
                await start_run(
                    folder,
                    run_environment(
                        folder,
                        discord_api=fake,
                        DREAMBOT_DATABASE_URL=url,
                        DISCORD_SHARDS="2",
                        DISCORD_SHARD_IDS=str(shard_id),
                        DREAMBOT_DAILY_QUOTA="1",
                    ),
                )
                for shard_id, folder in enumerate(folders)
            ]
            try:
                await fake.wait_connected(timeout=60, count=2)
                first = fake.command_payload("dream", {"story": STORY}, guild_id=guild_on(0))
                other = fake.command_payload(
                    "dream", {"story": STORY}, guild_id=guild_on(1), user_id=dp_user(2)
                )
                await fake.send_interaction(first)
                await fake.send_interaction(other)
                await fake.wait_until(lambda: discord_final(fake, first), timeout=180)
                await fake.wait_until(lambda: discord_final(fake, other), timeout=180)
                await asyncio.wait_for(settled(url, 2), timeout=30)
                # The first user again, in a guild the other process serves: its books
                # (on the server) already hold the first dream.
                again = fake.command_payload("dream", {"story": STORY}, guild_id=guild_on(1))
                await fake.send_interaction(again)
                await fake.wait_until(
                    lambda: answered(fake, again, "You have used your 1 dream for today"),
                    timeout=30,
                )
            finally:
                codes = await stop(processes, folders)

    assert codes == [0, 0]
    assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
    assert sorted(interactions_sent(fake)) == sorted(
        [((0, 2), first["token"]), ((1, 2), other["token"]), ((1, 2), again["token"])]
    )
    for folder in folders:
        assert "must-not-leak" not in (folder / "run.log").read_text()


async def test_shards_auto_takes_discords_count_and_serves_every_shard(tmp_path) -> None:
    async with FakeDiscordAPI(shards=2) as fake:
        process = await start_run(
            tmp_path, run_environment(tmp_path, discord_api=fake, DISCORD_SHARDS="auto")
        )
        try:
            await fake.wait_connected(timeout=60, count=2)
            payload = fake.command_payload("dream", {"story": STORY}, guild_id=guild_on(1))
            await fake.send_interaction(payload)
            await fake.wait_until(lambda: discord_final(fake, payload), timeout=180)
        finally:
            [code] = await stop([process], [tmp_path])

    assert code == 0
    assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
    assert fake.calls_to("gateway"), "the count came from GET /gateway/bot"
    assert interactions_sent(fake) == [((1, 2), payload["token"])]


def dp_user(n: int) -> int:
    return 1_200_000_000_000_000_000 + n
