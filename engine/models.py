"""Typed values that cross the engine's boundaries: requests, scripts, scenes, results."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.progress import ProgressSnapshot


class Stage(enum.StrEnum):
    """The stages of one job, in the order the progress message lists them."""

    PREVIEW = "preview"
    SCRIPT = "script"
    IMAGES = "images"
    NARRATION = "narration"
    CLIPS = "clips"
    SCENES = "scenes"
    MERGE = "merge"


class Role(enum.StrEnum):
    """A kind of provider call; its value names it in metrics, logs and settings."""

    SCRIPT = "script"
    PREVIEW = "preview"
    IMAGES = "images"
    CLIPS = "clips"
    VOICE = "voice"

    @property
    def stage(self) -> Stage:
        """The stage of the progress message this role's calls count towards."""
        return Stage.NARRATION if self is Role.VOICE else Stage(self.value)


class Action(enum.StrEnum):
    """Buttons an adapter may offer next to a job."""

    CANCEL = "cancel"
    REGENERATE = "regenerate"


class VisualKind(enum.StrEnum):
    """What a scene's picture is made from, best first (the degrade ladder)."""

    CLIP = "clip"
    IMAGE = "image"
    TITLE_CARD = "title_card"


def new_job_id() -> str:
    """A short random job id, safe in file names and chat callback data."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class DreamRequest:
    """A story someone asked to see, validated and admitted (see ``Engine.admit``)."""

    story: str
    requester: str
    seed: int | None = None
    job_id: str = field(default_factory=new_job_id)
    chat: str | None = None


@dataclass(frozen=True)
class SceneSpec:
    """One scene of a script: what is said and what is shown."""

    index: int
    narration: str
    visual_prompt: str


@dataclass(frozen=True)
class Script:
    """A story cut into scenes, with one style sheet and seed shared by every scene."""

    title: str
    style: str
    seed: int
    scenes: tuple[SceneSpec, ...]

    def prompt_for(self, scene: SceneSpec) -> str:
        """The visual prompt of a scene with the shared style sheet attached once."""
        if self.style and self.style not in scene.visual_prompt:
            return f"{scene.visual_prompt}, {self.style}"
        return scene.visual_prompt


@dataclass(frozen=True)
class Narration:
    """A narration audio file and its measured length."""

    path: Path
    duration_s: float
    spoken: bool = True


@dataclass(frozen=True)
class Visual:
    """The picture source of a scene: a clip, or a still animated at assembly."""

    kind: VisualKind
    path: Path

    @property
    def is_still(self) -> bool:
        """Whether the source is a still picture that needs motion added."""
        return self.kind is not VisualKind.CLIP


@dataclass(frozen=True)
class SceneResult:
    """A scene as it went into the final video."""

    index: int
    path: Path
    duration_s: float
    visual: VisualKind
    spoken: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobTicket:
    """What an adapter learns when a job is accepted."""

    job_id: str
    title: str


@dataclass(frozen=True)
class JobFailure:
    """Why a job ended without a video; ``reason`` is safe to show the user."""

    job_id: str
    stage: Stage
    reason: str
    progress: ProgressSnapshot | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class DreamResult:
    """A finished job: the final video, its scenes and how long each stage took."""

    job_id: str
    title: str
    final: Path
    duration_s: float
    scenes: tuple[SceneResult, ...]
    preview: Path | None = None
    timings: Mapping[Stage, float] = field(default_factory=dict)
    progress: ProgressSnapshot | None = None
