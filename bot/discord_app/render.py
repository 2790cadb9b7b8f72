"""The words the Discord bot shows (sent with every mention suppressed)."""

from __future__ import annotations

import re

from bot.i18n import Words
from bot.progress_text import failure_line, progress_lines
from engine import DreamResult, JobFailure, Notice, ProgressSnapshot

CONTENT_LIMIT = 2000
_MARKS = ("\\", "*", "_", "~", "`", "|", ">", "#", "-", "[", "]", "(", ")")
_TITLE = re.compile(r"^🌙 \*\*((?:\\.|[^\\*])+)\*\*", re.DOTALL)  # escaped text has no bare *
_ESCAPED = re.compile(r"\\(.)")


def clip(text: str) -> str:
    """Text cut to Discord's message limit."""
    return text if len(text) <= CONTENT_LIMIT else text[: CONTENT_LIMIT - 1] + "…"


def progress(title: str, snapshot: ProgressSnapshot | None, words: Words) -> str:
    """The running job: title, then one line per stage, in a code block so it aligns."""
    lines = progress_lines(snapshot, words) if snapshot is not None else [words._("⏳ starting…")]
    body = "\n".join(lines).replace("`", "'")
    return clip(f"🌙 **{escape(title)}**\n```\n{body}\n```")


def _notes(notices: tuple[Notice, ...], words: Words) -> str:
    return "".join(f"\nℹ️ {escape(words.notice(notice))}" for notice in notices)


def final(result: DreamResult, words: Words, *, shrunk: bool, limit_mb: float) -> str:
    """The message under the finished video, with what the reader should know about it."""
    summary = words.ngettext(
        "{seconds} s · {count} scene",
        "{seconds} s · {count} scenes",
        len(result.scenes),
        seconds=f"{result.duration_s:.0f}",
    )
    text = f"🌙 **{escape(result.title)}** · {summary}" + _notes(result.notices, words)
    if shrunk:
        text += "\n-# " + words._(
            "compressed to fit this server's {size} MB upload limit", size=f"{limit_mb:g}"
        )
    return clip(text)


def failure(title: str, failed: JobFailure, words: Words) -> str:
    """What a failed or cancelled job says instead of a video."""
    head = failure_line(failed, words)
    return clip(f"🌙 **{escape(title)}**\n{head}")


def moved(title: str, words: Words) -> str:
    """Left in the original response when a long job moves to a channel message."""
    return clip(words._("🌙 **{title}** continues in a new message below.", title=escape(title)))


def shared(title: str, author: str, url: str, words: Words) -> str:
    """The gallery post: title, credit, and the clip's URL (Discord embeds it)."""
    credit = words._("by {author}", author=escape(author))
    return clip(f"🌙 **{escape(title)}** {credit}\n{url}")


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
