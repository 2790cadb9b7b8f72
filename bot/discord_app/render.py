"""The words the Discord bot shows (sent with every mention suppressed)."""

from __future__ import annotations

import re

from bot.progress_text import progress_lines
from engine import DreamResult, JobFailure, ProgressSnapshot

CONTENT_LIMIT = 2000
_MARKS = ("\\", "*", "_", "~", "`", "|", ">", "#", "-", "[", "]", "(", ")")
_TITLE = re.compile(r"^🌙 \*\*((?:\\.|[^\\*])+)\*\*", re.DOTALL)  # escaped text has no bare *
_ESCAPED = re.compile(r"\\(.)")


def clip(text: str) -> str:
    """Text cut to Discord's message limit."""
    return text if len(text) <= CONTENT_LIMIT else text[: CONTENT_LIMIT - 1] + "…"


def progress(title: str, snapshot: ProgressSnapshot | None) -> str:
    """The running job: title, then one line per stage, in a code block so it aligns."""
    lines = progress_lines(snapshot) if snapshot is not None else ["⏳ starting…"]
    body = "\n".join(lines).replace("`", "'")
    return clip(f"🌙 **{escape(title)}**\n```\n{body}\n```")


def final(result: DreamResult, *, shrunk: bool, limit_mb: float) -> str:
    """The message under the finished video."""
    scenes = len(result.scenes)
    text = f"🌙 **{escape(result.title)}** · {result.duration_s:.0f} s · {scenes} scenes"
    if shrunk:
        text += f"\n-# compressed to fit this server's {limit_mb:g} MB upload limit"
    return clip(text)


def failure(title: str, failed: JobFailure) -> str:
    """What a failed or cancelled job says instead of a video."""
    if failed.cancelled:
        return clip(f"🌙 **{escape(title)}**\n✖ Cancelled. Nothing was charged.")
    return clip(
        f"🌙 **{escape(title)}**\n❌ Failed at {failed.stage.value}: {failed.reason}. "
        "Nothing was charged."
    )


def moved(title: str) -> str:
    """Left in the original response when a long job moves to a channel message."""
    return clip(f"🌙 **{escape(title)}** continues in a new message below.")


def shared(title: str, author: str, url: str) -> str:
    """The gallery post: title, credit, and the clip's URL (Discord embeds it)."""
    return clip(f"🌙 **{escape(title)}** by {escape(author)}\n{url}")


def escape(text: str) -> str:
    """Markdown and mentions made inert (mentions are also suppressed when sending)."""
    for mark in _MARKS:
        text = text.replace(mark, "\\" + mark)
    return text.replace("@", "@\u200b")


def unescape(text: str) -> str:
    """The text that ``escape`` was given."""
    return _ESCAPED.sub(r"\1", text.replace("@\u200b", "@"))


def title_of(content: str) -> str | None:
    """The title a job's message shows, as it was before escaping (None if it shows none)."""
    found = _TITLE.match(content)
    return unescape(found[1]) if found else None
