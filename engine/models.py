"""Typed values that cross the engine's boundaries: requests, scripts, scenes, results."""

from __future__ import annotations

import enum
import json
import re
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError

from engine.notice import Notice


class Stage(enum.StrEnum):
    """The stages of one job, in the order the progress message lists them."""

    PREVIEW = "preview"
    SCRIPT = "script"
    IMAGES = "images"
    NARRATION = "narration"
    CLIPS = "clips"
    SCENES = "scenes"
    MERGE = "merge"
    # Getting the video to the person: listed only while it runs or once it failed.
    DELIVERY = "delivery"


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
    RESEND = "resend"  # a past dream sent again where it is asked for (/mydreams)
    EDIT = "edit"  # the story changed and made again, its unchanged scenes from the cache


class VisualKind(enum.StrEnum):
    """What a scene's picture is made from, best first (the degrade ladder)."""

    CLIP = "clip"
    IMAGE = "image"
    TITLE_CARD = "title_card"


_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class Language:
    """A BCP 47 language tag such as ``ru``, ``pt-BR`` or ``zh-Hant``, in canonical case."""

    tag: str

    @classmethod
    def parse(cls, text: str) -> Language:
        """The tag from user input (``pt_br``, ``PT-BR``…); ValueError if it is not one."""
        raw = text.strip()
        if not _TAG.match(raw):
            raise ValueError(f"{text!r} is not a language tag such as en, ru or pt-BR")
        first, *rest = re.split(r"[-_]", raw)
        parts = [first.lower()]
        for part in rest:
            if len(part) == 4 and part.isalpha():
                parts.append(part.title())  # script subtag: Hant, Latn
            elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
                parts.append(part.upper())  # region subtag: BR, 419
            else:
                parts.append(part.lower())
        return cls("-".join(parts))

    @property
    def base(self) -> str:
        """The primary language subtag: ``pt`` for ``pt-BR``."""
        return self.tag.split("-", 1)[0]

    @property
    def english_name(self) -> str:
        """The language's name in English, for logs and prompts (the tag if Babel has none)."""
        try:
            return str(Locale.parse(self.tag, sep="-").english_name or self.tag)
        except (ValueError, UnknownLocaleError):
            return self.tag

    def display_name(self, locale: str) -> str:
        """The language's name in a reader's language (``locale`` a tag such as ``ru``)."""
        try:
            name = Locale.parse(self.tag, sep="-").get_display_name(
                Locale.parse(locale.replace("-", "_"))
            )
        except (ValueError, UnknownLocaleError):
            return self.english_name
        return str(name or self.english_name)

    def __str__(self) -> str:
        return self.tag


ENGLISH = Language("en")


def new_job_id() -> str:
    """A short random job id, safe in file names and chat callback data."""
    return uuid.uuid4().hex[:12]


class Aspect(enum.StrEnum):
    """The shape of a video: wide for a screen, tall for a phone held upright, or square."""

    WIDE = "16:9"
    TALL = "9:16"
    SQUARE = "1:1"

    def size(self, width: int, height: int) -> tuple[int, int]:
        """The frame of this shape with the operator's size: the short side is kept, so a
        tall or square video costs no more pixels a second than a wide one."""
        long_side, short_side = max(width, height), min(width, height)
        if self is Aspect.TALL:
            return short_side, long_side
        if self is Aspect.SQUARE:
            return short_side, short_side
        return long_side, short_side


@dataclass(frozen=True)
class Look:
    """How one person wants their videos made; every field has the operator's default."""

    aspect: Aspect = Aspect.WIDE
    voice: str | None = None  # one of the voice provider's ``voices``; None: its first
    captions: bool = True

    def to_json(self) -> str:
        """The look as stored with a job, so a resumed job is made the same way."""
        return json.dumps(
            {"aspect": self.aspect.value, "voice": self.voice, "captions": self.captions}
        )

    @classmethod
    def from_json(cls, text: str | None) -> Look:
        """A stored look; the default for jobs stored before looks existed."""
        if not text:
            return cls()
        data = json.loads(text)
        voice = data.get("voice")
        return cls(
            aspect=Aspect(data.get("aspect", Aspect.WIDE.value)),
            voice=str(voice) if voice else None,
            captions=bool(data.get("captions", True)),
        )


@dataclass(frozen=True)
class Preferences:
    """A person's settings: the language to narrate in (None: the story's own) and a look."""

    language: Language | None = None
    look: Look = field(default_factory=Look)


def seed_of(story: str, seed: int | None) -> int:
    """The seed a job is made with: the one asked for, else one the story always gives."""
    return seed if seed is not None else zlib.crc32(story.encode())


@dataclass(frozen=True)
class PastDream:
    """A job as its owner may find it again: to make it again, edit it or send it on."""

    job_id: str
    user: str
    story: str
    chat: str | None
    language: Language | None  # None for jobs from before languages were stored
    look: Look
    seed: int | None
    state: JobState
    surface: str | None  # the adapter's reference: where the video is, once delivered
    created_at: datetime

    @property
    def seed_used(self) -> int:
        """The seed it was made with: an edit made with it again finds its unchanged
        scenes' pictures, clips and narration in the cache."""
        return seed_of(self.story, self.seed)


@dataclass(frozen=True)
class DreamRequest:
    """A story someone asked to see, validated and admitted (see ``Engine.admit``)."""

    story: str
    requester: str
    seed: int | None = None
    job_id: str = field(default_factory=new_job_id)
    chat: str | None = None
    language: Language = ENGLISH
    look: Look = field(default_factory=Look)


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
    language: Language = ENGLISH  # what the narration is written in

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
    unreadable: bool = False  # silent because the voice does not speak the language


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
    unreadable: bool = False  # silent because the voice does not speak the language


class StageStatus(enum.StrEnum):
    """Where a stage is in its life."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class WaitReason(enum.StrEnum):
    """What a part waits for on this machine, before its work can start."""

    PROVIDER = "provider"  # a free call to its provider (the role's concurrency)
    RATE = "rate"  # the provider's rate limit
    ENCODER = "encoder"  # a free ffmpeg slot


@dataclass(frozen=True)
class Wait:
    """A wait the person is told of: for what, their place (1 is next), how long it may be."""

    reason: WaitReason
    place: int | None = None
    eta_s: float | None = None


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
    waiting: Wait | None = None  # the stage's first waiter here (not at the provider's)


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
    reason: Notice
    progress: ProgressSnapshot | None = None
    cancelled: bool = False
    # Whether the refund is recorded: only then may the user be told nothing was charged.
    refunded: bool = False


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
    notices: tuple[Notice, ...] = ()  # what the user should know: a missing voice, say
