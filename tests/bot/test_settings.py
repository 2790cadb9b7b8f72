"""Settings come from the environment and become a plain engine configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings, refused_settings
from bot.telegram_app.delivery import DeliveryPolicy
from engine.config import RenderConfig


def test_defaults_make_a_720p_engine() -> None:
    config = Settings().engine_config(work_dir=Path("w"))
    assert (config.render.width, config.render.height, config.render.fps) == (1280, 720, 24)
    assert config.work_dir == Path("w")
    assert config.story.max_chars == 1500


def test_the_render_defaults_are_the_engine_s_own() -> None:
    # Settings spells them out so that it is read without importing the engine.
    assert Settings().engine_config().render == RenderConfig()


def test_the_delivery_defaults_are_the_policy_s_own() -> None:
    # Settings spells them out so that it is read without importing aiogram.
    assert Settings().telegram_delivery() == DeliveryPolicy()


def test_environment_overrides_and_sizes_are_made_even(monkeypatch) -> None:
    monkeypatch.setenv("DREAMBOT_VIDEO_WIDTH", "961")
    monkeypatch.setenv("DREAMBOT_PARALLEL_SCENES", "1")
    config = Settings().engine_config()
    assert config.render.width == 960
    assert config.limits.parallel_scenes == 1


def test_nonsense_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("DREAMBOT_VIDEO_FPS", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_every_setting_is_documented_in_the_configuration_reference() -> None:
    reference = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    for name, field in Settings.model_fields.items():
        variable = field.validation_alias or f"DREAMBOT_{name.upper()}"
        assert f"| `{variable}` |" in reference, variable


def test_discord_shards_read_as_a_count_or_auto_and_ranges(monkeypatch) -> None:
    monkeypatch.setenv("DISCORD_SHARDS", "16")
    monkeypatch.setenv("DISCORD_SHARD_IDS", "0-3, 8")
    monkeypatch.setenv("DREAMBOT_DATABASE_URL", "postgresql://dreambot@db/dreambot")
    settings = Settings()
    assert (settings.discord_shards, settings.discord_shard_ids) == (16, [0, 1, 2, 3, 8])
    monkeypatch.delenv("DISCORD_SHARD_IDS")
    monkeypatch.setenv("DISCORD_SHARDS", "auto")
    assert Settings().discord_shards == "auto"


@pytest.mark.parametrize(
    ("shards", "ids", "said"),
    [
        ("auto", "0", "needs DISCORD_SHARDS set to the shard count"),
        ("4", "3-5", "[4, 5] are not shards of 4"),
        ("0", "", "DISCORD_SHARDS"),
        ("4", "0-1", "share their books through DREAMBOT_DATABASE_URL"),
    ],
)
def test_shards_that_cannot_be_are_refused(monkeypatch, shards, ids, said) -> None:
    monkeypatch.setenv("DISCORD_SHARDS", shards)
    monkeypatch.setenv("DISCORD_SHARD_IDS", ids)
    if "DATABASE_URL" not in said:
        monkeypatch.setenv("DREAMBOT_DATABASE_URL", "postgresql://dreambot@db/dreambot")
    with pytest.raises(ValidationError, match=said.replace("[", r"\[").replace("]", r"\]")):
        Settings()


def test_a_stall_timeout_within_two_heartbeats_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("DREAMBOT_WORKER_HEARTBEAT_S", "10")
    monkeypatch.setenv("DREAMBOT_WORKER_STALL_S", "15")
    with pytest.raises(ValidationError, match=r"STALL_S \(15\) must be at least twice"):
        Settings()
    monkeypatch.setenv("DREAMBOT_WORKER_STALL_S", "20")
    assert Settings().worker_stall_s == 20


def test_a_refused_setting_is_named_without_its_value_or_any_other(monkeypatch) -> None:
    monkeypatch.setenv("DREAMBOT_DATABASE_URL", "mysql://root:hunter2@db/x")
    monkeypatch.setenv("TELEGRAM_TOKEN", "123:must-not-leak")
    monkeypatch.setenv("DREAMBOT_DAILY_QUOTA", "many")
    with pytest.raises(ValidationError) as refused:
        Settings()
    lines = refused_settings(refused.value)
    assert lines == [
        "DREAMBOT_DAILY_QUOTA: Input should be a valid integer, unable to parse string as an "
        "integer"
    ]
    monkeypatch.setenv("DREAMBOT_DAILY_QUOTA", "3")
    with pytest.raises(ValidationError) as refused:
        Settings()
    # A rule over several settings: pydantic's own text would quote every one, tokens too.
    assert refused_settings(refused.value) == ["DREAMBOT_DATABASE_URL must be a postgresql:// URL"]
    said = subprocess.run(
        [sys.executable, "-m", "bot", "stats"], capture_output=True, text=True, check=False
    )
    assert said.returncode == 2
    assert said.stderr == "dreambot: DREAMBOT_DATABASE_URL must be a postgresql:// URL\n"
