"""The words the Telegram bot shows: plain text, so no story can break a parse mode."""

from __future__ import annotations

from bot.progress_text import progress_lines
from engine import DreamResult, JobFailure, ProgressSnapshot

CAPTION_LIMIT = 1024

HELP = (
    "Send me a short story and I will turn it into a narrated video.\n\n"
    "In a private chat, just write the story. In a group, use /dream followed by the "
    "story.\n/quota shows how many dreams you have left today."
)
DREAM_USAGE = (
    "Write your story after the command, e.g. /dream A lighthouse keeper befriends a storm."
)


def clip(text: str, limit: int) -> str:
    """Text cut to Telegram's limit (a caption or a message)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def progress(title: str, snapshot: ProgressSnapshot | None) -> str:
    """The running job: title, then one line per stage."""
    lines = [f"🌙 “{title}”"]
    if snapshot is not None:
        lines += progress_lines(snapshot)
    else:
        lines.append("⏳ starting…")
    return clip("\n".join(lines), CAPTION_LIMIT)


def final(result: DreamResult, *, shrunk: bool, limit_mb: int) -> str:
    """The caption of the finished video."""
    lines = [f"🌙 “{result.title}”", f"{result.duration_s:.0f} s · {len(result.scenes)} scenes"]
    if shrunk:
        lines.append(f"(compressed to fit Telegram's {limit_mb} MB limit)")
    return clip("\n".join(lines), CAPTION_LIMIT)


def failure(title: str, failed: JobFailure) -> str:
    """What a failed or cancelled job says instead of a video."""
    if failed.cancelled:
        head = "✖ Cancelled. Nothing was charged."
    else:
        head = f"❌ Failed at {failed.stage.value}: {failed.reason}. Nothing was charged."
    return clip(f"🌙 “{title}”\n{head}", CAPTION_LIMIT)


def shared(title: str, author: str) -> str:
    """The gallery caption, crediting the author."""
    return clip(f"🌙 “{title}”\nby {author}", CAPTION_LIMIT)
