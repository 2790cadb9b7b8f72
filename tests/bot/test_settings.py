"""Settings come from the environment and become a plain engine configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings
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
