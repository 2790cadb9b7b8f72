"""Waiting in line: first come first served, each waiter told its place, and the job says so."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from engine import Books, Engine, EngineConfig, Providers, Role, Stage
from engine.media.ffmpeg import FFmpeg
from engine.models import Wait, WaitReason
from engine.progress import ProgressSnapshot
from engine.waiting import ENCODER_WAIT, TURN, URGENT, Line, Typical, next_turn
from tests.fakes.providers import FakeMedia, FakeProviders
from tests.surfaces import RecordingSurface

STORY = "A lighthouse keeper befriends a storm. The storm visits every night. They sing."


async def test_a_line_serves_in_arrival_order_and_tells_each_waiter_its_place() -> None:
    line = Line(1)
    heard: dict[str, list[int | None]] = {"b": [], "c": [], "d": []}
    served: list[str] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with line.place():
            await release.wait()

    async def waiter(name: str) -> None:
        async with line.place(heard[name].append):
            served.append(name)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)  # let it take the place
    tasks = {name: asyncio.create_task(waiter(name)) for name in "bcd"}
    while line.waiting < 3:
        await asyncio.sleep(0)
    assert heard == {"b": [1], "c": [2], "d": [3]}

    tasks["c"].cancel()  # leaving the line moves those behind
    with pytest.raises(asyncio.CancelledError):
        await tasks["c"]
    assert heard["d"][-1] == 2 and heard["c"][-1] is None

    release.set()
    await asyncio.gather(first, tasks["b"], tasks["d"])
    assert served == ["b", "d"]
    assert heard["b"][-1] is None and heard["d"] == [3, 2, 1, None]


async def test_an_older_jobs_work_goes_ahead_of_a_newer_ones_that_came_first() -> None:
    line = Line(1)
    older, newer = next_turn(), next_turn()  # two jobs, in the order they were made
    heard: dict[str, list[int | None]] = {"newer": [], "older": [], "outside": []}
    served: list[str] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with line.place():
            await release.wait()

    async def waiter(name: str, turn: int | None) -> None:
        if turn is not None:
            TURN.set(turn)
        async with line.place(heard[name].append):
            served.append(name)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(waiter("newer", newer))]
    while line.waiting < 1:
        await asyncio.sleep(0)
    tasks.append(asyncio.create_task(waiter("outside", None)))  # no job: its turn is now
    while line.waiting < 2:
        await asyncio.sleep(0)
    tasks.append(asyncio.create_task(waiter("older", older)))
    while line.waiting < 3:
        await asyncio.sleep(0)
    # The older job's wait joins ahead, and the newer one hears it has moved back.
    assert heard == {"newer": [1, 2], "outside": [2, 3], "older": [1]}

    release.set()
    await asyncio.gather(first, *tasks)
    assert served == ["older", "newer", "outside"]


async def test_a_jobs_calls_carry_its_turn_and_its_preview_goes_ahead_of_every_job(
    books: Books, config: EngineConfig, ffmpeg: FFmpeg, media: FakeMedia
) -> None:
    turns: dict[str, set[int | None]] = {}

    async def note(role: str, scene: int | None) -> None:
        turns.setdefault(role, set()).add(TURN.get())

    fake = FakeProviders(media, hook=note)
    providers = Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake)
    engine = Engine(config, providers, ffmpeg, books=books)
    ahead = next_turn()
    await engine.dream(await engine.admit(STORY, requester="test:1"), RecordingSurface())

    assert turns.pop("preview") == {URGENT}
    (turn,) = set().union(*turns.values())  # script, images, clips, voice: one turn
    assert turn is not None and turn > ahead
    assert TURN.get() is None  # and the caller's own context is as it was


async def test_jobs_admitted_together_reach_their_first_provider_in_arrival_order(
    books: Books, config: EngineConfig, ffmpeg: FFmpeg, media: FakeMedia
) -> None:
    # One script call at a time: whichever job asks first while it is free goes first, so
    # the jobs must start in the order they came (a burst from a crowd, as bench/load.py).
    roles = dict(config.roles)
    roles[Role.SCRIPT] = replace(roles[Role.SCRIPT], concurrency=1)
    asked: list[int | None] = []  # the turn of each script call, in the order they were made

    async def note(role: str, scene: int | None) -> None:
        if role == "script":
            asked.append(TURN.get())

    fake = FakeProviders(media, scenes=1, hook=note)
    providers = Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake)
    engine = Engine(replace(config, roles=roles), providers, ffmpeg, books=books)
    tickets = [await engine.admit(f"{STORY} Night {n}.", requester=f"test:{n}") for n in range(8)]
    # Started in arrival order, each job takes its turn as it starts: turns rise with arrival.
    await asyncio.gather(*(engine.dream(t, RecordingSurface()) for t in tickets))

    assert len(asked) == len(tickets)
    assert asked == sorted(asked)


async def test_a_waiter_cancelled_as_it_is_served_passes_the_place_on() -> None:
    line = Line(1)
    release = asyncio.Event()

    async def holder() -> None:
        async with line.place():
            await release.wait()

    async def waiter() -> None:
        async with line.place():
            pass

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    second, third = asyncio.create_task(waiter()), asyncio.create_task(waiter())
    while line.waiting < 2:
        await asyncio.sleep(0)
    release.set()
    await first  # the place is handed to `second`, which has not run yet...
    second.cancel()  # ...and is cancelled before it does
    await asyncio.gather(second, third, return_exceptions=True)
    assert third.done() and not third.cancelled()
    async with asyncio.timeout(1):
        async with line.place():  # and the place is free again
            pass


def test_a_wait_is_estimated_from_typical_stage_times() -> None:
    typical = Typical()
    assert typical.wait(Stage.CLIPS, 1, 2) is None  # nothing timed yet: no promise
    typical.note({Stage.CLIPS: 30.0})
    typical.note({Stage.CLIPS: 10.0})
    typical.note({Stage.CLIPS: 20.0})
    assert typical.wait(Stage.CLIPS, 1, 2) == 20.0
    assert typical.wait(Stage.CLIPS, 3, 2) == 40.0  # a second round of two


async def test_clips_waiting_for_a_provider_slot_show_their_place_and_an_estimate(
    books: Books, config: EngineConfig, ffmpeg: FFmpeg, media: FakeMedia
) -> None:
    release = asyncio.Event()

    async def hold(role: str, scene: int | None) -> None:
        if role == "clips":
            await release.wait()

    seen: list[Wait] = []

    def watch(progress: ProgressSnapshot) -> None:
        wait = progress.of(Stage.CLIPS).waiting
        if wait is not None:
            seen.append(wait)
            if wait.place == 1:
                release.set()

    roles = dict(config.roles)
    roles[Role.CLIPS] = replace(roles[Role.CLIPS], concurrency=1)
    fake = FakeProviders(media, hook=hold)
    providers = Providers(script=fake, preview=fake, images=fake, clips=fake, voice=fake)
    engine = Engine(replace(config, roles=roles), providers, ffmpeg, books=books)
    engine.typical.note({Stage.CLIPS: 12.0})

    surface = RecordingSurface(watch=watch)
    await engine.dream(await engine.admit(STORY, requester="test:1"), surface)

    # Three scenes, one clip at a time: the stage shows the first of the two waiting, and
    # one typical clip-stage time for it.
    assert seen[0] == Wait(WaitReason.PROVIDER, 1, 12.0)
    finals = [p for kind, p in surface.events if isinstance(p, ProgressSnapshot)]
    assert finals[-1].of(Stage.CLIPS).waiting is None


async def test_an_encode_waiting_for_a_free_ffmpeg_slot_says_so(ffmpeg_exe: str) -> None:
    runner = FFmpeg(ffmpeg_exe, max_procs=1, timeout_s=60)
    # Read in real time, so it holds the only slot until it is cancelled.
    slow = asyncio.create_task(
        runner.run(["-re", "-f", "lavfi", "-i", "anullsrc", "-t", "60", "-f", "null", "-"])
    )
    heard: list[Wait | None] = []
    waiting = asyncio.Event()

    def told(wait: Wait | None) -> None:
        heard.append(wait)
        waiting.set()

    async def quick() -> None:
        ENCODER_WAIT.set(told)
        await runner.run(["-f", "lavfi", "-i", "anullsrc", "-t", "0.1", "-f", "null", "-"])

    while not runner._slots.waiting and not slow.done():
        await asyncio.sleep(0)
        break
    second = asyncio.create_task(quick())
    async with asyncio.timeout(10):
        await waiting.wait()
    slow.cancel()
    await asyncio.gather(slow, return_exceptions=True)
    await second
    assert heard == [Wait(WaitReason.ENCODER, 1, None), None]
