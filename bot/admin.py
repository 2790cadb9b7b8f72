"""Admin operations on users and quotas, shared by the terminal and the chat adapters."""

from __future__ import annotations

from engine import Books, QuotaView


def describe_quota(view: QuotaView) -> str:
    """One line on a user's standing today."""
    banned = " (banned)" if view.banned else ""
    return (
        f"{view.user}{banned}: {view.used} of {view.limit} dreams used today, "
        f"{view.remaining} left, {view.running} running; resets "
        f"{view.resets_at:%Y-%m-%d %H:%M} UTC"
    )


async def show(books: Books, user: str) -> str:
    """A user's quota today."""
    return describe_quota(await books.quota(user))


async def grant(books: Books, user: str, dreams: int) -> str:
    """Give a user more dreams today."""
    return describe_quota(await books.grant(user, dreams))


async def reset(books: Books, user: str) -> str:
    """Give a user their whole daily quota again."""
    return describe_quota(await books.reset_quota(user))


async def set_banned(books: Books, user: str, banned: bool) -> str:
    """Ban or unban a user."""
    await books.set_banned(user, banned)
    return f"{user} is {'banned' if banned else 'no longer banned'}"


async def stats(books: Books) -> str:
    """Jobs by state, median stage times and today's spend, as a few lines."""
    figures = await books.stats()
    states = ", ".join(f"{state} {count}" for state, count in sorted(figures.by_state.items()))
    stages = ", ".join(f"{stage} {secs:.1f} s" for stage, secs in figures.median_stage_s.items())
    return "\n".join(
        [
            f"jobs: {states or 'none yet'}",
            f"median stage times: {stages or 'none yet'}",
            f"today: {figures.admitted_today} admitted, spend {figures.spent_today:g}",
        ]
    )
