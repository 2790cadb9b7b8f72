"""dreambot's platform-free engine: a story in, a narrated video out."""

from engine.books import HISTORY_SIZE, Books, JobStats, QuotaPolicy, QuotaView
from engine.config import (
    ROLE_DEFAULTS,
    EngineConfig,
    Limits,
    RenderConfig,
    RetryPolicy,
    RoleLimits,
    StoryLimits,
    retimed,
)
from engine.errors import (
    AdmissionRefusedError,
    DatabaseMissingError,
    DatabaseUnusableError,
    EngineError,
    StageFailedError,
    StoryRejectedError,
    SurfaceGoneError,
    UsageError,
)
from engine.housekeeping import Retention
from engine.models import (
    ENGLISH,
    Action,
    Aspect,
    DreamRequest,
    DreamResult,
    JobFailure,
    JobState,
    JobTicket,
    Language,
    Look,
    PastDream,
    Preferences,
    Role,
    Stage,
)
from engine.notice import N_, NN_, Notice
from engine.pipeline import Engine
from engine.ports import Providers, Surface
from engine.progress import ProgressSnapshot, StageProgress, StageStatus
from engine.storage.jobs import StoredJob

__all__ = [
    "ENGLISH",
    "HISTORY_SIZE",
    "NN_",
    "N_",
    "ROLE_DEFAULTS",
    "Action",
    "AdmissionRefusedError",
    "Aspect",
    "Books",
    "DatabaseMissingError",
    "DatabaseUnusableError",
    "DreamRequest",
    "DreamResult",
    "Engine",
    "EngineConfig",
    "EngineError",
    "JobFailure",
    "JobState",
    "JobStats",
    "JobTicket",
    "Language",
    "Limits",
    "Look",
    "Notice",
    "PastDream",
    "Preferences",
    "ProgressSnapshot",
    "Providers",
    "QuotaPolicy",
    "QuotaView",
    "RenderConfig",
    "Retention",
    "RetryPolicy",
    "Role",
    "RoleLimits",
    "Stage",
    "StageFailedError",
    "StageProgress",
    "StageStatus",
    "StoredJob",
    "StoryLimits",
    "StoryRejectedError",
    "Surface",
    "SurfaceGoneError",
    "UsageError",
    "retimed",
]
