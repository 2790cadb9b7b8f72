"""The chat pacer: spacing, the group's minute, and calls someone waits for going first."""

from __future__ import annotations

import asyncio

from bot.pacing import ChatPacer


async def test_a_final_goes_before_progress_still_waiting_for_its_slot() -> None:
    pacer = ChatPacer(0.3)
    order: list[str] = []

    async def call(name: str, *, final: bool = False) -> None:
        async with pacer.turn(final=final):
            order.append(name)

    await call("first progress")  # the next progress slot is now 0.3 s away
    waiting = asyncio.create_task(call("second progress"))
    await asyncio.sleep(0)  # one loop turn: it finds its slot 0.3 s away and waits
    await call("final", final=True)
    await waiting
    assert order == ["first progress", "final", "second progress"]


async def test_a_full_minute_holds_new_messages_but_not_edits() -> None:
    now = [0.0]
    pacer = ChatPacer(0.0, clock=lambda: now[0], messages_per_minute=3)
    for _ in range(3):
        async with pacer.turn(final=True, new_message=True):
            now[0] += 2.0  # each call takes 2 s of the fake clock, past the hard spacing
    fourth = asyncio.create_task(_enter(pacer, new_message=True))
    await asyncio.sleep(0)  # one loop turn: it finds the minute full and waits
    async with pacer.turn():  # an edit meanwhile is not held by the minute
        pass
    assert not fourth.done()
    fourth.cancel()


async def _enter(pacer: ChatPacer, *, new_message: bool) -> None:
    async with pacer.turn(new_message=new_message):
        pass
