"""Plain engine configuration, built by the caller (the engine never reads the environment)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RenderConfig:
    """How scenes are encoded; every scene shares these so the merge can stream-copy."""

    width: int = 1280
    height: int = 720
    fps: int = 24
    preset: str = "veryfast"
    crf: int = 23
    audio_rate: int = 48000
    audio_bitrate: str = "128k"
    caption_font: Path | None = None


@dataclass(frozen=True)
class Limits:
    """How many calls of each kind may run at once."""

    script: int = 2
    preview: int = 2
    images: int = 6
    clips: int = 6
    voice: int = 6
    ffmpeg: int = field(default_factory=lambda: os.cpu_count() or 1)
    parallel_scenes: int | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of transient provider errors: bounded, exponential, jittered."""

    attempts: int = 4
    base_s: float = 1.0
    max_s: float = 30.0


@dataclass(frozen=True)
class RateLimits:
    """Calls per second each provider role may start (each provider's own API limit)."""

    script: float = 5.0
    preview: float = 5.0
    images: float = 10.0
    clips: float = 5.0
    voice: float = 10.0


@dataclass(frozen=True)
class Timeouts:
    """Upper bounds, in seconds, so that no stage can hang a job (retries included)."""

    script: float = 120.0
    preview: float = 90.0
    image: float = 180.0
    clip: float = 600.0
    voice: float = 120.0
    ffmpeg: float = 300.0


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
    limits: Limits = field(default_factory=Limits)
    timeouts: Timeouts = field(default_factory=Timeouts)
    story: StoryLimits = field(default_factory=StoryLimits)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rates: RateLimits = field(default_factory=RateLimits)
