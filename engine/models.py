"""Typed values that cross the engine's boundaries: requests, scripts, scenes, results."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


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


class JobState(enum.StrEnum):
    """Where a job is in its life; the values are what the jobs table stores."""

    ADMITTED = "admitted"
    RUNNING = "running"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @classmethod
    def unfinished(cls) -> tuple[JobState, ...]:
        """The states a job resumes from after a restart."""
        return (cls.ADMITTED, cls.RUNNING)


class Charge(enum.StrEnum):
    """What a job costs its user: reserved at admission, then committed or refunded once."""

    RESERVED = "reserved"
    COMMITTED = "committed"
    REFUNDED = "refunded"

    @classmethod
    def counted(cls) -> tuple[Charge, ...]:
        """The charges that use up a dream of the day."""
        return (cls.RESERVED, cls.COMMITTED)


class PartKind(enum.StrEnum):
    """What a job makes and keeps in its journal; the values name the journal entries."""

    PREVIEW = "preview"
    SCRIPT = "script"
    IMAGE = "image"
    CLIP = "clip"
    NARRATION = "narration"
    SCENE = "scene"  # an assembled scene: made by ffmpeg, not by a provider


_PART_ROLES = {
    PartKind.PREVIEW: Role.PREVIEW,
    PartKind.SCRIPT: Role.SCRIPT,
    PartKind.IMAGE: Role.IMAGES,
    PartKind.CLIP: Role.CLIPS,
    PartKind.NARRATION: Role.VOICE,
}


@dataclass(frozen=True)
class Part:
    """One thing a job makes: the whole job's preview or script, or a scene's image, clip,
    narration or assembled file. ``name`` is how the database stores it."""

    kind: PartKind
    scene: int | None = None

    @property
    def name(self) -> str:
        """``preview``, ``script``, ``clip_02``…"""
        return self.kind.value if self.scene is None else f"{self.kind.value}_{self.scene:02d}"

    @property
    def role(self) -> Role | None:
        """The provider role that makes this part (None for an assembled scene)."""
        return _PART_ROLES.get(self.kind)

    @classmethod
    def parse(cls, name: str) -> Part | None:
        """The part a stored name names, or None for a name this version does not know."""
        kind, _, scene = name.partition("_")
        if kind not in PartKind.__members__.values():
            return None
        if not scene:
            return cls(PartKind(kind))
        return cls(PartKind(kind), int(scene)) if scene.isdigit() else None


class Action(enum.StrEnum):
    """Buttons an adapter may offer next to a job."""

    CANCEL = "cancel"
    REGENERATE = "regenerate"
    SHARE = "share"  # offered by adapters that have somewhere to share to


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


class StageStatus(enum.StrEnum):
    """Where a stage is in its life."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class StageProgress:
    """One stage as the user sees it: counts, fallbacks and how long it took."""

    stage: Stage
    status: StageStatus = StageStatus.PENDING
    done: int = 0
    total: int | None = None
    fallbacks: int = 0
    elapsed_s: float | None = None
    queue_position: int | None = None


@dataclass(frozen=True)
class ProgressSnapshot:
    """Every stage of a job at one moment; immutable so renderers can keep it."""

    title: str
    stages: tuple[StageProgress, ...]

    def of(self, stage: Stage) -> StageProgress:
        """The progress of one stage."""
        return next(s for s in self.stages if s.stage is stage)


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
