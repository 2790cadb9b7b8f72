"""Offline providers: no network and no keys, yet a real narrated video."""

from __future__ import annotations

from engine.config import RenderConfig
from engine.media.ffmpeg import FFmpeg
from engine.ports import Providers
from engine.providers.local.script import LocalScriptWriter
from engine.providers.local.visuals import (
    LocalClipGenerator,
    LocalImageGenerator,
    LocalPreviewGenerator,
)
from engine.providers.local.voice import LocalVoice

__all__ = ["LocalVoice", "local_providers"]


def local_providers(ffmpeg: FFmpeg, render: RenderConfig) -> Providers:
    """Every provider role filled by the offline implementation."""
    return Providers(
        script=LocalScriptWriter(),
        preview=LocalPreviewGenerator(ffmpeg),
        images=LocalImageGenerator(),
        clips=LocalClipGenerator(ffmpeg, width=render.width, height=render.height, fps=render.fps),
        voice=LocalVoice(),
    )
