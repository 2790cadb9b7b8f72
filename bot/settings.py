"""The one settings object: environment variables and .env, read once in main()."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from engine import EngineConfig, Limits, RenderConfig, StoryLimits
from engine.storage import QuotaPolicy


class Settings(BaseSettings):
    """Every operator-facing knob, with its default. Names are documented in docs/."""

    model_config = SettingsConfigDict(
        env_prefix="DREAMBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    work_dir: Path = Path("./dreambot-work")
    log_level: str = "WARNING"
    max_story_chars: int = Field(default=1500, ge=20, le=4000)
    video_width: int = Field(default=1280, ge=64, le=3840)
    video_height: int = Field(default=720, ge=64, le=2160)
    video_fps: int = Field(default=24, ge=8, le=60)
    x264_preset: str = "veryfast"
    x264_crf: int = Field(default=23, ge=0, le=51)
    caption_font: Path | None = None
    ffmpeg_procs: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    parallel_scenes: int | None = Field(default=None, ge=1)

    db: Path = Path("./dreambot.sqlite3")
    daily_quota: int = Field(default=3, ge=0)
    max_running: int = Field(default=1, ge=1)
    chat_daily_cap: int | None = Field(default=None, ge=0)
    daily_budget: float | None = Field(default=None, ge=0)
    admins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def quota_policy(self) -> QuotaPolicy:
        """The admission limits drawn from these settings."""
        return QuotaPolicy(
            daily_quota=self.daily_quota,
            max_running=self.max_running,
            chat_daily_cap=self.chat_daily_cap,
            daily_budget=self.daily_budget,
        )

    def engine_config(self, *, work_dir: Path | None = None) -> EngineConfig:
        """The engine's plain configuration drawn from these settings."""
        return EngineConfig(
            work_dir=work_dir or self.work_dir,
            render=RenderConfig(
                width=_even(self.video_width),
                height=_even(self.video_height),
                fps=self.video_fps,
                preset=self.x264_preset,
                crf=self.x264_crf,
                caption_font=self.caption_font,
            ),
            limits=Limits(ffmpeg=self.ffmpeg_procs, parallel_scenes=self.parallel_scenes),
            story=StoryLimits(max_chars=self.max_story_chars),
        )


def _even(pixels: int) -> int:
    """x264 with 4:2:0 chroma needs even frame sizes."""
    return pixels - pixels % 2
