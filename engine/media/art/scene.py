"""render_scene: paints a prompt as sky, land, buildings, foreground and weather, supersampled."""

from __future__ import annotations

from PIL import Image

from engine.media.art.canvas import paint_vignette, start_scene, supersampling
from engine.media.art.foreground import paint_foreground
from engine.media.art.land import (
    paint_backland,
    paint_mountains,
    paint_sea,
    paint_trees,
)
from engine.media.art.sky import paint_clouds, paint_sky, paint_weather
from engine.media.art.structures import paint_structures


def render_scene(prompt: str, *, seed: int, width: int, height: int) -> Image.Image:
    """An RGB picture whose palette and motifs follow the prompt's words."""
    k = supersampling(width, height)
    s = start_scene(prompt, seed, width, height, k)
    s.horizon = s.h * (0.8 if s.motifs == ("space",) else s.rng.uniform(0.58, 0.7))
    paint_sky(s)
    paint_clouds(s)
    if s.has("mountain"):
        paint_mountains(s)
    if s.has("sea"):
        paint_sea(s)
    paint_backland(s)
    if s.has("forest") and s.land[1] > s.land[0]:
        paint_trees(s, near=False)
    paint_structures(s)
    paint_foreground(s)
    paint_weather(s)
    paint_vignette(s)
    return s.img.reduce(k) if k > 1 else s.img
