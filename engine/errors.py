"""The one error hierarchy of the engine.

    EngineError
     ├── StoryRejectedError      bad input: refused before anything is charged
     ├── AdmissionRefusedError   a quota, cap, budget, ban or running job says no (nothing charged)
     ├── UsageError              a command or setting is malformed (a user key, a provider choice)
     ├── TransientError          worth retrying (timeouts, 5xx, rate limits); may carry retry_after
     ├── PermanentError          retrying will not help
     │    ├── ProviderError      a provider failed or returned something unusable
     │    │    ├── VoiceUnavailableError  the voice does not speak the story's language
     │    │    └── ReplyTooLargeError     a provider API's reply body is over its cap
     │    ├── ContentRejectedError  a provider or moderation refused the content
     │    ├── MediaError         a media file could not be made or read
     │    │    └── FFmpegError   ffmpeg failed; carries the tail of its stderr
     │    └── SurfaceGoneError   the chat can no longer be written to (blocked, removed)
     ├── ProcessTimeoutError     a child process ran out of time and was killed
     ├── DatabaseUnusableError   the database file is damaged or cannot be opened: nothing starts
     │    └── DatabaseMissingError  there is none, and the caller must not create one
     └── StageFailedError        a job failed; names the stage that broke

Adapters convert library exceptions into these with ``raise ... from exc``, so no
third-party exception type crosses the engine boundary.
"""

from __future__ import annotations

import enum
from datetime import datetime

from engine.models import Language, Stage
from engine.notice import Notice


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""


class StoryRejectedError(EngineError):
    """The story cannot be accepted; ``notice`` is short, safe to show and translatable."""

    def __init__(self, notice: Notice) -> None:
        super().__init__(str(notice))
        self.notice = notice
        self.reason = str(notice)


class Refusal(enum.StrEnum):
    """Why an admission was refused (also the metrics label)."""

    BANNED = "banned"
    RUNNING = "running"
    QUOTA = "quota"
    CHAT_CAP = "chat_cap"
    BUDGET = "budget"
    REJECTED = "rejected"  # the story itself: StoryRejectedError
    STOPPING = "stopping"  # the process is draining before a restart
    UNAVAILABLE = "unavailable"  # admission itself broke (the database, a bug)


class AdmissionRefusedError(EngineError):
    """A request was not admitted; ``notice`` is short, safe to show and translatable.

    ``reason`` is the notice in English, for logs.
    """

    def __init__(self, refusal: Refusal, notice: Notice, resets_at: datetime | None) -> None:
        super().__init__(str(notice))
        self.refusal = refusal
        self.notice = notice
        self.reason = str(notice)
        self.resets_at = resets_at


class UsageError(EngineError, ValueError):
    """A command argument or a setting is malformed; the message says what is expected."""


class TransientError(EngineError):
    """A failure that may pass if the same call is made again later."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(EngineError):
    """A failure that the same call would repeat."""


class ProviderError(PermanentError):
    """A provider failed, or returned output that is not what it promised."""


class VoiceUnavailableError(ProviderError):
    """The voice cannot speak this language, or would spell this text out letter by letter."""

    def __init__(self, language: Language) -> None:
        super().__init__(f"the voice does not speak {language.english_name}")
        self.language = language


class ReplyTooLargeError(ProviderError):
    """A provider API answered with a body over its cap (or one that cannot be bounded).

    Not retried: the same request would get the same answer, paid for again.
    """

    def __init__(self, limit: int, detail: str = "") -> None:
        super().__init__(detail or f"the provider's reply is over {limit // 2**20} MiB")
        self.limit = limit


class ContentRejectedError(PermanentError):
    """The content was refused by moderation or a provider's policy."""


class MediaError(PermanentError):
    """A media file could not be made, read or understood."""


class FFmpegError(MediaError):
    """ffmpeg exited with an error or ran out of time."""

    def __init__(self, message: str, *, returncode: int | None, stderr_tail: str) -> None:
        detail = f"{message}: {stderr_tail}" if stderr_tail else message
        super().__init__(detail)
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class SurfaceGoneError(PermanentError):
    """The chat cannot be written to any more (the bot was blocked or removed)."""


class ProcessTimeoutError(EngineError):
    """A child process ran longer than allowed and was killed."""


class DatabaseUnusableError(EngineError):
    """The database file cannot be used as it is, so nothing may start on it.

    The message is one line naming ``path``, what is wrong and what to do; the file was not
    changed and no connection to it is left open.
    """

    def __init__(self, path: str, problem: str, *, advice: str) -> None:
        super().__init__(f"{path} {problem}. {advice}")
        self.path = path
        self.problem = problem


class DatabaseMissingError(DatabaseUnusableError):
    """There is no database at ``path``, and the caller asked not to create one."""


class StageFailedError(EngineError):
    """A job failed; ``stage`` says where and ``notice`` why, safe to show and translatable.

    ``reason`` is the notice in English, for logs and the books.
    """

    def __init__(self, stage: Stage, notice: Notice) -> None:
        super().__init__(f"{stage.value} failed: {notice}")
        self.stage = stage
        self.notice = notice
        self.reason = str(notice)
