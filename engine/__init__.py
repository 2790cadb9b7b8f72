"""dreambot's platform-free engine: a story in, a narrated video out."""

from engine.books import Books, JobStats, QuotaPolicy, QuotaView
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
    DreamRequest,
    DreamResult,
    JobFailure,
    JobTicket,
    Language,
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
    "NN_",
    "N_",
    "ROLE_DEFAULTS",
    "Action",
    "AdmissionRefusedError",
    "Books",
    "DatabaseMissingError",
    "DatabaseUnusableError",
    "DreamRequest",
    "DreamResult",
    "Engine",
    "EngineConfig",
    "EngineError",
    "JobFailure",
    "JobStats",
    "JobTicket",
    "Language",
    "Limits",
    "Notice",
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
