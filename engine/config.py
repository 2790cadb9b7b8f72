"""Plain engine configuration, built by the caller (the engine never reads the environment)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from engine.models import Look, Role

X264_PARAMS = "me=dia:subme=0:rc-lookahead=5:bframes=0:partitions=none"


@dataclass(frozen=True)
class RenderConfig:
    """How scenes are encoded; every scene shares these so the merge can stream-copy."""

    width: int = 1280
    height: int = 720
    fps: int = 24
    preset: str = "veryfast"
    # CRF 24 with the options below (docs/performance.md, "x264 for the tail"): about half
    # veryfast's CPU at the end of a job, when every scene is encoded at once, for files
    # ~1.15x today's and the same SSIM.
    crf: int = 24
    x264_params: str = X264_PARAMS
    audio_rate: int = 48000
    audio_bitrate: str = "128k"
    caption_font: Path | None = None  # tried first, for the characters it has (media/fonts.py)
    captions: bool = True

    def shaped(self, look: Look) -> RenderConfig:
        """This render for one job's look: its shape (the short side kept) and captions."""
        width, height = look.aspect.size(self.width, self.height)
        return replace(self, width=width, height=height, captions=look.captions)


# Scenes render at most 3840x2160 (8.3 Mpx, bot/settings.py); a picture far larger is no
# better on screen, and ffmpeg holds every decoded pixel of it for each encode.
MAX_IMAGE_PIXELS = 40_000_000


@dataclass(frozen=True)
class DownloadPolicy:
    """How provider files are fetched; every one is untrusted (docs/decisions.md).

    Only public addresses are fetched, on every redirect hop, unless the host is named in
    ``allow_hosts`` (a self-hosted provider). ``timeout_s`` bounds the whole download,
    redirects included; ``read_timeout_s`` each connect and read within it.
    """

    allow_hosts: frozenset[str] = frozenset()
    max_bytes: int = 200 * 2**20
    timeout_s: float = 120.0
    read_timeout_s: float = 30.0
    max_redirects: int = 5


@dataclass(frozen=True)
class RoleLimits:
    """How one provider role is called, shared by every job of an engine.

    At most ``concurrency`` calls at once, at most ``rate_per_s`` started a second (the
    provider's own API limit), and each call, retries included, over by ``timeout_s``.
    """

    timeout_s: float
    concurrency: int
    rate_per_s: float


ROLE_DEFAULTS: Mapping[Role, RoleLimits] = MappingProxyType(
    {
        Role.SCRIPT: RoleLimits(timeout_s=120.0, concurrency=2, rate_per_s=5.0),
        Role.PREVIEW: RoleLimits(timeout_s=90.0, concurrency=2, rate_per_s=5.0),
        Role.IMAGES: RoleLimits(timeout_s=180.0, concurrency=6, rate_per_s=10.0),
        Role.CLIPS: RoleLimits(timeout_s=600.0, concurrency=6, rate_per_s=5.0),
        Role.VOICE: RoleLimits(timeout_s=120.0, concurrency=6, rate_per_s=10.0),
    }
)


def retimed(
    roles: Mapping[Role, RoleLimits], timeout_s: float | Mapping[Role, float]
) -> dict[Role, RoleLimits]:
    """``roles`` with new deadlines: one for every role, or per role for those named."""
    chosen = timeout_s if isinstance(timeout_s, Mapping) else dict.fromkeys(Role, timeout_s)
    return {
        role: replace(limits, timeout_s=chosen[role]) if role in chosen else limits
        for role, limits in roles.items()
    }


@dataclass(frozen=True)
class Limits:
    """The machine's share: ffmpeg processes at once, their deadline, scenes at once."""

    ffmpeg: int = field(default_factory=lambda: os.cpu_count() or 1)
    ffmpeg_timeout_s: float = 300.0
    parallel_scenes: int | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of transient provider errors: bounded, exponential, jittered."""

    attempts: int = 4
    base_s: float = 1.0
    max_s: float = 30.0


@dataclass(frozen=True)
class StoryLimits:
    """What a story must look like to be accepted."""

    min_words: int = 3
    max_chars: int = 1500


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine needs to know, passed in whole."""

    work_dir: Path
    render: RenderConfig = field(default_factory=RenderConfig)
    roles: Mapping[Role, RoleLimits] = field(default_factory=lambda: ROLE_DEFAULTS)
    limits: Limits = field(default_factory=Limits)
    story: StoryLimits = field(default_factory=StoryLimits)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # How long a failed job waits for its refund to be recorded before telling the user
    # that it is on its way (a database refusing writes); it is told again once recorded.
    settle_wait_s: float = 5.0

    def __post_init__(self) -> None:
        missing = set(Role) - set(self.roles)
        if missing:
            raise ValueError(f"no limits for the roles {sorted(missing)}")
