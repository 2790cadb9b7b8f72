"""Admin operations on users and quotas, shared by the terminal and the chat adapters."""

from __future__ import annotations

from bot.i18n import ENGLISH, Words
from engine import Books, QuotaView


def describe_quota(view: QuotaView, words: Words = ENGLISH) -> str:
    """One line on a user's standing today."""
    user = words._("{user} (banned)", user=view.user) if view.banned else view.user
    return words._(
        "{user}: {used} of {limit} dreams used today, {remaining} left, {running} running; "
        "resets {time} UTC",
        user=user,
        used=view.used,
        limit=view.limit,
        remaining=view.remaining,
        running=view.running,
        time=f"{view.resets_at:%Y-%m-%d %H:%M}",
    )


async def show(books: Books, user: str, words: Words = ENGLISH) -> str:
    """A user's quota today."""
    return describe_quota(await books.quota(user), words)


async def grant(books: Books, user: str, dreams: int, words: Words = ENGLISH) -> str:
    """Give a user more dreams today."""
    return describe_quota(await books.grant(user, dreams), words)


async def reset(books: Books, user: str, words: Words = ENGLISH) -> str:
    """Give a user their whole daily quota again."""
    return describe_quota(await books.reset_quota(user), words)


async def set_banned(books: Books, user: str, banned: bool, words: Words = ENGLISH) -> str:
    """Ban or unban a user."""
    await books.set_banned(user, banned)
    if banned:
        return words._("{user} is banned", user=user)
    return words._("{user} is no longer banned", user=user)


async def stats(books: Books, words: Words = ENGLISH) -> str:
    """Jobs by state, median stage times and today's spend, as a few lines."""
    figures = await books.stats()
    states = ", ".join(f"{state} {count}" for state, count in sorted(figures.by_state.items()))
    stages = ", ".join(f"{stage} {secs:.1f} s" for stage, secs in figures.median_stage_s.items())
    none_yet = words._("none yet")
    return "\n".join(
        [
            words._("jobs: {states}", states=states or none_yet),
            words._("median stage times: {stages}", stages=stages or none_yet),
            words._(
                "today: {admitted} admitted, spend {spent}",
                admitted=figures.admitted_today,
                spent=f"{figures.spent_today:g}",
            ),
        ]
    )
