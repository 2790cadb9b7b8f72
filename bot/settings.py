"""The one settings object: environment variables and .env, read once in main()."""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    # Imported where they are used: `dreambot run` without a token answers before the
    # engine or a chat library is imported (issue 16).
    from bot.telegram_app.delivery import DeliveryPolicy
    from engine import EngineConfig, QuotaPolicy
    from engine.config import DownloadPolicy

NO_BOT = (
    "dreambot: no chat bot to run. Set TELEGRAM_TOKEN (from @BotFather) and/or "
    "DISCORD_TOKEN (from the Discord developer portal).\n"
    'To try the engine without a bot: dreambot dream "A short story…"'
)
TELEGRAM_PUBLIC_API = "https://api.telegram.org"
DISCORD_PUBLIC_API = "https://discord.com/api/v10"
DISCORD_PUBLIC_GATEWAY = "wss://gateway.discord.gg/"

# Cost units are US dollars per call, from each model's fal or OpenAI price page; the
# fast-animatediff page lists "$0 per compute second", so its figure is an estimate.
DEFAULT_PRICES = {
    "fal-ai/fast-animatediff/turbo/text-to-video": 0.01,
    "fal-ai/flux/schnell": 0.003,
    "fal-ai/wan/v2.2-a14b/image-to-video/turbo": 0.10,
    "fal-ai/kling-video/v2.1/standard/image-to-video": 0.28,
    "gpt-5.4-mini": 0.002,
    "gpt-4o-mini-tts": 0.003,
}


def refused_settings(error: ValidationError) -> list[str]:
    """One line per refused setting, naming its variable and why, never its value: the
    value may be a token or a URL with a password, and pydantic's own text quotes it."""
    lines = []
    for problem in error.errors(include_url=False, include_input=False):
        field = str(problem["loc"][0]) if problem["loc"] else ""
        known = Settings.model_fields.get(field)
        alias = known.validation_alias if known is not None else None
        name = alias if isinstance(alias, str) else f"DREAMBOT_{field.upper()}" if field else ""
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"{name}: {message}" if name else message)
    return lines


class ProcessRole(enum.StrEnum):
    """What one `dreambot run` process does (``--role``)."""

    ALL = "all"  # the chat bots and their jobs, in this process
    ADAPTER = "adapter"  # the chat bots; jobs are queued for workers
    WORKER = "worker"  # runs queued jobs; no chat bot


class Settings(BaseSettings):
    """Every operator-facing knob, with its default. Names are documented in docs/."""

    model_config = SettingsConfigDict(
        env_prefix="DREAMBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    work_dir: Path = Path("./dreambot-work")
    log_level: str = "WARNING"
    log_format: Literal["text", "json"] = "text"
    max_story_chars: int = Field(default=1500, ge=20, le=4000)
    video_width: int = Field(default=1280, ge=64, le=3840)
    video_height: int = Field(default=720, ge=64, le=2160)
    video_fps: int = Field(default=24, ge=8, le=60)
    x264_preset: str = "veryfast"
    x264_crf: int = Field(default=24, ge=0, le=51)
    # RenderConfig's own default (tests/bot/test_settings.py holds them equal).
    x264_params: str = "me=dia:subme=0:rc-lookahead=5:bframes=0:partitions=none"
    caption_font: Path | None = None
    ffmpeg_procs: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    parallel_scenes: int | None = Field(default=None, ge=1)

    db: Path = Path("./dreambot.sqlite3")
    # A PostgreSQL server instead of the file, for processes on several hosts; the URL may
    # carry a password, so it is a secret.
    database_url: SecretStr | None = None
    daily_quota: int = Field(default=3, ge=0)
    max_running: int = Field(default=1, ge=1)
    chat_daily_cap: int | None = Field(default=None, ge=0)
    daily_budget: float | None = Field(default=None, ge=0)
    admins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Providers: "auto" uses the real service when its key is set, else the offline one.
    fal_key: SecretStr | None = Field(default=None, validation_alias="FAL_KEY")
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    script_provider: Literal["auto", "local", "openai"] = "auto"
    voice_provider: Literal["auto", "local", "openai"] = "auto"
    moderation_provider: Literal["auto", "off", "openai"] = "auto"
    preview_provider: Literal["auto", "local", "fal"] = "auto"
    image_provider: Literal["auto", "local", "fal"] = "auto"
    clip_provider: Literal["auto", "local", "fal"] = "auto"
    fal_preview_model: str = "fal-ai/fast-animatediff/turbo/text-to-video"
    fal_preview_args: dict[str, Any] = Field(
        default_factory=lambda: {
            "num_frames": 16,
            "num_inference_steps": 4,
            "fps": 8,
            "video_size": {"width": 512, "height": 288},
        }
    )
    fal_image_model: str = "fal-ai/flux/schnell"
    fal_image_args: dict[str, Any] = Field(
        default_factory=lambda: {"num_inference_steps": 4, "enable_safety_checker": True}
    )
    fal_clip_model: str = "fal-ai/wan/v2.2-a14b/image-to-video/turbo"
    fal_clip_args: dict[str, Any] = Field(
        default_factory=lambda: {"resolution": "720p", "aspect_ratio": "16:9"}
    )
    fal_poll_s: float = Field(default=0.5, gt=0)  # the longest wait between status polls
    openai_script_model: str = "gpt-5.4-mini"
    openai_tts_model: str = "gpt-4o-mini-tts"
    openai_voice: str = "alloy"
    openai_moderation_model: str = "omni-moderation-latest"
    max_download_mb: int = Field(default=200, ge=1)
    # Hosts whose provider URLs are fetched even at private addresses (self-hosted ones).
    download_allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    telegram_token: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_TOKEN")
    telegram_api_base: str = Field(
        default=TELEGRAM_PUBLIC_API, validation_alias="TELEGRAM_API_BASE"
    )
    telegram_gallery_chat: int | None = Field(
        default=None, validation_alias="TELEGRAM_GALLERY_CHAT"
    )
    telegram_upload_mb: int | None = Field(default=None, ge=1)
    # Webhook mode: Telegram posts updates to this public HTTPS URL (a reverse proxy in
    # front forwards it to host:port here); unset, the bot polls.
    telegram_webhook_url: str | None = None
    telegram_webhook_host: str = "127.0.0.1"
    telegram_webhook_port: int = Field(default=8080, ge=1, le=65535)
    telegram_webhook_secret: SecretStr | None = None  # unset: a new random one each start
    # The uplink a final's upload timeout is sized for, and how long a finished video
    # waits out a Bot API that cannot be reached before the job fails at delivery.
    # DeliveryPolicy's own defaults (tests/bot/test_settings.py holds them equal).
    telegram_upload_kbps: float = Field(default=4000.0, gt=0)
    telegram_delivery_patience_s: float = Field(default=1800.0, ge=0)

    discord_token: SecretStr | None = Field(default=None, validation_alias="DISCORD_TOKEN")
    discord_guild_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, validation_alias="DISCORD_GUILD_IDS"
    )
    # Shards: "auto" takes Discord's count (GET /gateway/bot), a number sets it, and
    # DISCORD_SHARD_IDS picks this process's share; unset is one connection, which Discord
    # allows up to 2,500 guilds.
    discord_shards: Literal["auto"] | Annotated[int, Field(ge=1)] | None = Field(
        default=None, validation_alias="DISCORD_SHARDS"
    )
    discord_shard_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, validation_alias="DISCORD_SHARD_IDS"
    )
    # For a REST proxy that shares Discord's rate limits between processes, a gateway proxy,
    # and the tests' fake Discord.
    discord_api_base: str = Field(default=DISCORD_PUBLIC_API, validation_alias="DISCORD_API_BASE")
    discord_gateway_url: str = Field(
        default=DISCORD_PUBLIC_GATEWAY, validation_alias="DISCORD_GATEWAY_URL"
    )

    # A second process with the same bot token on the same PostgreSQL stands by, asking
    # this often whether the first has stopped.
    standby_poll_s: float = Field(default=5.0, gt=0)
    # `dreambot run --role worker`: jobs at once per worker, and how a dead worker is found
    # (no heartbeat for worker_stall_s: its jobs go back in the queue).
    worker_jobs: int = Field(default=2, ge=1)
    worker_heartbeat_s: float = Field(default=10.0, gt=0)
    worker_stall_s: float = Field(default=30.0, gt=0)

    # Running for real: metrics, shutdown and disk.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)  # None: no endpoint
    metrics_addr: str = "127.0.0.1"
    shutdown_grace_s: float = Field(default=20.0, ge=0)
    media_retention_h: float = Field(default=1.0, ge=0)
    disk_budget_mb: int = Field(default=5000, ge=1)

    @property
    def has_bot(self) -> bool:
        """Whether a chat bot's token is set, so that ``dreambot run`` has something to run."""
        return self.telegram_token is not None or self.discord_token is not None

    @property
    def telegram_upload_limit_bytes(self) -> int:
        """50 MB through the public Bot API; a self-hosted server takes up to 2000 MB."""
        if self.telegram_upload_mb is not None:
            return self.telegram_upload_mb * 2**20
        public = self.telegram_api_base.rstrip("/") == TELEGRAM_PUBLIC_API
        return (50 if public else 2000) * 2**20

    def telegram_delivery(self) -> DeliveryPolicy:
        """How the Telegram adapter times and retries the final's upload."""
        from bot.telegram_app.delivery import DeliveryPolicy

        return DeliveryPolicy(
            uplink_kbps=self.telegram_upload_kbps, patience_s=self.telegram_delivery_patience_s
        )

    prices: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_PRICES))

    @model_validator(mode="after")
    def _a_server(self) -> Settings:
        # Checked on the model, not the field: a field's error quotes the value it refused,
        # and this one carries a password.
        url = self.database_url
        if url is not None and not url.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError("DREAMBOT_DATABASE_URL must be a postgresql:// URL")
        return self

    def database(self) -> Path | str:
        """Where the books are kept: the PostgreSQL server if one is named, else the file."""
        return self.database_url.get_secret_value() if self.database_url else self.db

    @model_validator(mode="after")
    def _stall_after_heartbeats(self) -> Settings:
        # A stall shorter than two heartbeats would call live workers dead and queue their
        # jobs again each time (their claims keep them from running twice, at a retry each).
        if self.worker_stall_s < 2 * self.worker_heartbeat_s:
            raise ValueError(
                f"DREAMBOT_WORKER_STALL_S ({self.worker_stall_s:g}) must be at least twice "
                f"DREAMBOT_WORKER_HEARTBEAT_S ({self.worker_heartbeat_s:g})"
            )
        return self

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _shard_ranges(cls, value: object) -> object:
        # "0-3,8" reads as shards 0, 1, 2, 3 and 8.
        if not isinstance(value, str):
            return value
        ids: list[str] = []
        for part in filter(None, (piece.strip() for piece in value.split(","))):
            first, _, last = part.partition("-")
            if last and first.strip().isdigit() and last.strip().isdigit():
                ids += [str(n) for n in range(int(first), int(last) + 1)]
            else:
                ids.append(part)
        return ids

    @model_validator(mode="after")
    def _shards_in_range(self) -> Settings:
        if self.discord_shard_ids:
            if not isinstance(self.discord_shards, int):
                raise ValueError("DISCORD_SHARD_IDS needs DISCORD_SHARDS set to the shard count")
            if self.database_url is None:
                # Processes on one SQLite file would each resume the others' jobs.
                raise ValueError(
                    "DISCORD_SHARD_IDS splits the shards between processes, which share their "
                    "books through DREAMBOT_DATABASE_URL: set it"
                )
            outside = [n for n in self.discord_shard_ids if not 0 <= n < self.discord_shards]
            if outside:
                raise ValueError(
                    f"DISCORD_SHARD_IDS {outside} are not shards of {self.discord_shards} "
                    f"(0 to {self.discord_shards - 1})"
                )
        return self

    @field_validator("admins", "discord_guild_ids", "download_allow_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def quota_policy(self) -> QuotaPolicy:
        """The admission limits drawn from these settings."""
        from engine import QuotaPolicy

        return QuotaPolicy(
            daily_quota=self.daily_quota,
            max_running=self.max_running,
            chat_daily_cap=self.chat_daily_cap,
            daily_budget=self.daily_budget,
        )

    def download_policy(self) -> DownloadPolicy:
        """How provider files are fetched, drawn from these settings."""
        from engine.config import DownloadPolicy

        return DownloadPolicy(
            allow_hosts=frozenset(self.download_allow_hosts),
            max_bytes=self.max_download_mb * 2**20,
        )

    def engine_config(self, *, work_dir: Path | None = None) -> EngineConfig:
        """The engine's plain configuration drawn from these settings."""
        from engine import EngineConfig, Limits, RenderConfig, StoryLimits

        return EngineConfig(
            work_dir=work_dir or self.work_dir,
            render=RenderConfig(
                width=_even(self.video_width),
                height=_even(self.video_height),
                fps=self.video_fps,
                preset=self.x264_preset,
                crf=self.x264_crf,
                x264_params=self.x264_params,
                caption_font=self.caption_font,
            ),
            limits=Limits(ffmpeg=self.ffmpeg_procs, parallel_scenes=self.parallel_scenes),
            story=StoryLimits(max_chars=self.max_story_chars),
        )


def _even(pixels: int) -> int:
    """x264 with 4:2:0 chroma needs even frame sizes."""
    return pixels - pixels % 2
