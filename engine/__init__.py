"""dreambot's platform-free engine: a story in, a narrated video out."""

from engine.config import (
    EngineConfig,
    Limits,
    RateLimits,
    RenderConfig,
    RetryPolicy,
    StoryLimits,
    Timeouts,
)
from engine.errors import EngineError, StageFailedError, StoryRejectedError
from engine.models import Action, DreamRequest, DreamResult, JobFailure, JobTicket, Stage
from engine.pipeline import Engine
from engine.ports import Providers, Surface
from engine.progress import ProgressSnapshot, StageProgress, StageStatus

__all__ = [
    "Action",
    "DreamRequest",
    "DreamResult",
    "Engine",
    "EngineConfig",
    "EngineError",
    "JobFailure",
    "JobTicket",
    "Limits",
    "ProgressSnapshot",
    "Providers",
    "RateLimits",
    "RenderConfig",
    "RetryPolicy",
    "Stage",
    "StageFailedError",
    "StageProgress",
    "StageStatus",
    "StoryLimits",
    "StoryRejectedError",
    "Surface",
    "Timeouts",
]
