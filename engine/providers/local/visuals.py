"""Offline pictures and motion: procedural scene art, Ken Burns clips, a quick preview."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PIL import Image

from engine.media.art import render_scene
from engine.media.compose import render_motion
from engine.media.ffmpeg import FFmpeg
from engine.ports import RequestTicket


async def draw_scene(prompt: str, *, seed: int, width: int, height: int, out: Path) -> Path:
    """Draw the procedural picture for a prompt into ``out`` (off the event loop)."""
    image = await asyncio.to_thread(render_scene, prompt, seed=seed, width=width, height=height)
    await asyncio.to_thread(image.save, out)
    return out


class LocalImageGenerator:
    """Procedural pictures whose palette and motifs follow the prompt's words."""

    identity = "local-art/2"  # story-wide settings and motifs in many languages

    async def generate_image(
        self,
        prompt: str,
        *,
        seed: int,
        width: int,
        height: int,
        out_dir: Path,
        ticket: RequestTicket | None = None,
    ) -> Path:
        """Draw the scene picture."""
        return await draw_scene(
            prompt, seed=seed, width=width, height=height, out=out_dir / "image.png"
        )


class LocalClipGenerator:
    """Ken Burns motion over the scene picture, encoded fast as an intermediate.

    The clip has the picture's size: a job's pictures are drawn in its own shape (wide,
    tall or square), and the clip keeps it. ``width`` and ``height`` are the operator's,
    for pictures of no usable size. It is asked for the narration's exact length
    (``exact_length``), so one eased move spans the whole scene and is never slowed or
    held at assembly.
    """

    exact_length = True

    def __init__(self, ffmpeg: FFmpeg, *, width: int, height: int, fps: int) -> None:
        self._ffmpeg = ffmpeg
        self._size = (width, height)
        self._fps = fps
        self.identity = f"local-ken-burns/2 @{fps}"

    async def generate_clip(
        self,
        image: Path,
        prompt: str,
        *,
        seed: int,
        duration_s: float,
        out_dir: Path,
        ticket: RequestTicket | None = None,
    ) -> Path:
        """Animate the picture for ``duration_s`` seconds, rounded up to a frame."""
        width, height = await asyncio.to_thread(_even_size, image, self._size)
        return await render_motion(
            self._ffmpeg,
            image,
            width=width,
            height=height,
            fps=self._fps,
            duration_s=duration_s,
            seed=seed,
            out=out_dir / "clip.mp4",
        )


class LocalPreviewGenerator:
    """A small, short, low-frame-rate motion sketch of the whole story, in well under a second."""

    def __init__(
        self, ffmpeg: FFmpeg, *, width: int = 426, height: int = 240, seconds: float = 3.0
    ) -> None:
        self._ffmpeg = ffmpeg
        self._size = (width, height)
        self._seconds = seconds
        self.identity = f"local-preview/1 {width}x{height} {seconds:g}s"

    async def generate_preview(
        self, story: str, *, seed: int, out_dir: Path, ticket: RequestTicket | None = None
    ) -> Path:
        """Sketch the story's look and set it in slow motion."""
        width, height = self._size
        still = await draw_scene(
            story, seed=seed, width=width, height=height, out=out_dir / "preview.png"
        )
        return await render_motion(
            self._ffmpeg,
            still,
            width=width,
            height=height,
            fps=12,
            duration_s=self._seconds,
            seed=seed,
            out=out_dir / "preview.mp4",
            crf=30,
        )


def _even_size(image: Path, otherwise: tuple[int, int]) -> tuple[int, int]:
    """The picture's size rounded down to even numbers (H.264 in 4:2:0 needs them)."""
    try:
        with Image.open(image) as opened:
            width, height = opened.size
    except OSError:
        return otherwise
    if width < 2 or height < 2:
        return otherwise
    return width - width % 2, height - height % 2
