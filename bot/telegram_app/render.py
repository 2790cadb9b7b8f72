"""The words the Telegram bot shows: plain text, so no story can break a parse mode."""

from __future__ import annotations

from aiogram.types import User

from bot.i18n import Words
from bot.progress_text import failure_line, progress_lines
from engine import N_, DreamResult, JobFailure, Notice, ProgressSnapshot

CAPTION_LIMIT = 1024
MESSAGE_LIMIT = 4096
WORD_JOINER = "\u2060"
NAMED_AT_MOST = 10  # a refusal to more people names these and counts the rest

HELP = N_(
    "Send me a short story and I will turn it into a narrated video.\n\n"
    "In a private chat, just write the story. In a group, use /dream followed by the "
    "story.\n/quota shows how many dreams you have left today."
)
# Said after HELP: what a person can make their own, and how to find a dream again.
HELP_YOURS = N_(
    "/settings chooses your language, voice, shape and captions. /mydreams sends your "
    "latest dreams again. Reply to one of your videos with a changed story to make it again."
)
DREAM_USAGE = N_(
    "Write your story after the command, e.g. /dream A lighthouse keeper befriends a storm."
)


def clip(text: str, limit: int) -> str:
    """Text cut to Telegram's limit (a caption or a message)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def progress(title: str, snapshot: ProgressSnapshot | None, words: Words) -> str:
    """The running job: title, then one line per stage."""
    lines = [f"🌙 “{title}”"]
    if snapshot is not None:
        lines += progress_lines(snapshot, words)
    else:
        lines.append(words._("⏳ starting…"))
    return clip("\n".join(lines), CAPTION_LIMIT)


def final(result: DreamResult, words: Words, *, shrunk: bool, limit_mb: int) -> str:
    """The caption of the finished video, with what the reader should know about it."""
    lines = [
        f"🌙 “{result.title}”",
        words.ngettext(
            "{seconds} s · {count} scene",
            "{seconds} s · {count} scenes",
            len(result.scenes),
            seconds=f"{result.duration_s:.0f}",
        ),
    ]
    lines += [f"ℹ️ {words.notice(notice)}" for notice in result.notices]
    if shrunk:
        lines.append(words._("(compressed to fit Telegram's {size} MB limit)", size=limit_mb))
    return clip("\n".join(lines), CAPTION_LIMIT)


def failure(title: str, failed: JobFailure, words: Words) -> str:
    """What a failed or cancelled job says instead of a video."""
    head = failure_line(failed, words)
    return clip("\n".join([f"🌙 “{title}”", head]), CAPTION_LIMIT)


def refusal(notice: Notice, words: Words) -> str:
    """Why a story was not started."""
    return clip(words.notice(notice), MESSAGE_LIMIT)


def refusals(names: list[str], reason: str, words: Words) -> str:
    """One reason given to several people at once, naming them (the first few)."""
    if len(names) == 1:
        return reason
    shown = ", ".join(names[:NAMED_AT_MOST])
    if len(names) > NAMED_AT_MOST:
        more = len(names) - NAMED_AT_MOST
        shown = words.ngettext(
            "{names} and {count} more", "{names} and {count} more", more, names=shown
        )
    return clip(words._("{names}: {reason}", names=shown, reason=reason), MESSAGE_LIMIT)


def shared(title: str, author: str, words: Words) -> str:
    """The gallery caption, crediting the author."""
    return clip(f"🌙 “{title}”\n" + words._("by {author}", author=author), CAPTION_LIMIT)


def display_name(user: User) -> str:
    """How to credit a user without pinging anyone: the username without its @, or the
    name."""
    return user.username or plain_name(user)


def plain_name(user: User) -> str:
    """The name a chat shows for the user, any @ in it broken: "@name" in text is a
    mention, and a name must not ping."""
    return user.full_name.replace("@", "@" + WORD_JOINER)
