"""Chooses and builds each stage's provider from the settings, and prices a job."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.settings import Settings
from engine.config import RenderConfig
from engine.errors import UsageError
from engine.media.ffmpeg import FFmpeg
from engine.ports import Moderator, Providers
from engine.providers.local import local_providers
from engine.story import scene_count_for

# The OpenAI and fal families are imported only when a stage uses them: the openai SDK
# alone takes ~0.6 s to import, and offline providers need neither (issue 16).


@dataclass
class Built:
    """The providers of every stage, what they cost, and how to close them."""

    providers: Providers
    choice: dict[str, str]
    prices: dict[str, float]
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def estimate_cost(self, story: str) -> float:
        """The job's expected cost: preview and script once, the rest once per scene."""
        price = self.prices
        scenes = scene_count_for(story)
        once = price["preview"] + price["script"]
        return round(once + scenes * (price["images"] + price["clips"] + price["voice"]), 4)

    async def close(self) -> None:
        """Close every client the providers opened."""
        for close in self.closers:
            await close()


def _pick(wanted: str, real: str, has_key: bool, stage: str, key_name: str) -> str:
    if wanted == "auto":
        return real if has_key else "local"
    if wanted == real and not has_key:
        raise UsageError(f"{stage} is set to {real}, but {key_name} is not set")
    return wanted


def build_providers(settings: Settings, ffmpeg: FFmpeg, render: RenderConfig) -> Built:
    """Every stage's provider: real where its key is set (or asked for), else offline."""
    has_fal, has_openai = settings.fal_key is not None, settings.openai_api_key is not None
    choice = {
        "script": _pick(settings.script_provider, "openai", has_openai, "script", "OPENAI_API_KEY"),
        "voice": _pick(settings.voice_provider, "openai", has_openai, "voice", "OPENAI_API_KEY"),
        "preview": _pick(settings.preview_provider, "fal", has_fal, "preview", "FAL_KEY"),
        "images": _pick(settings.image_provider, "fal", has_fal, "images", "FAL_KEY"),
        "clips": _pick(settings.clip_provider, "fal", has_fal, "clips", "FAL_KEY"),
    }
    moderation_choice = settings.moderation_provider
    if moderation_choice == "auto":
        moderation_choice = "openai" if has_openai else "off"
    local = local_providers(ffmpeg, render)
    built = Built(local, choice, {stage: 0.0 for stage in choice})
    script, voice, preview, images, clips = (
        local.script, local.voice, local.preview, local.images, local.clips
    )  # fmt: skip
    moderation: Moderator | None = None

    if "openai" in choice.values() or moderation_choice == "openai":
        if settings.openai_api_key is None:
            raise UsageError("moderation is set to openai, but OPENAI_API_KEY is not set")
        from engine.providers.openai import (
            OpenAIModerator,
            OpenAIScriptWriter,
            OpenAIVoice,
            openai_client,
        )

        client = openai_client(settings.openai_api_key.get_secret_value(), settings.openai_base_url)
        built.closers.append(client.close)
        if choice["script"] == "openai":
            script = OpenAIScriptWriter(client, settings.openai_script_model)
            built.prices["script"] = settings.prices.get(settings.openai_script_model, 0.0)
        if choice["voice"] == "openai":
            voice = OpenAIVoice(client, settings.openai_tts_model, settings.openai_voice)
            built.prices["voice"] = settings.prices.get(settings.openai_tts_model, 0.0)
        if moderation_choice == "openai":
            moderation = OpenAIModerator(client, settings.openai_moderation_model)

    if "fal" in choice.values() and settings.fal_key is not None:
        from engine.providers.fal import FalClips, FalImages, FalModel, FalPreview, FalQueue

        queue = FalQueue(
            settings.fal_key.get_secret_value(),
            poll_s=settings.fal_poll_s,
            downloads=settings.download_policy(),
        )
        built.closers.append(queue.close)
        models = {
            "preview": FalModel(settings.fal_preview_model, settings.fal_preview_args),
            "images": FalModel(settings.fal_image_model, settings.fal_image_args),
            "clips": FalModel(settings.fal_clip_model, settings.fal_clip_args),
        }
        for stage, model in models.items():
            if choice[stage] == "fal":
                built.prices[stage] = settings.prices.get(model.app, 0.0)
        if choice["preview"] == "fal":
            preview = FalPreview(queue, models["preview"])
        if choice["images"] == "fal":
            images = FalImages(queue, models["images"])
        if choice["clips"] == "fal":
            clips = FalClips(queue, models["clips"])

    built.providers = Providers(script, preview, images, clips, voice, moderation)
    return built
