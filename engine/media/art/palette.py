"""Colours: per-motif sky and ground palettes, colour arithmetic, and a prompt's palette choice."""

from __future__ import annotations

import colorsys
import random

RGB = tuple[int, int, int]
# sky top, sky middle, horizon, ground far, ground near
PALETTES: dict[str, tuple[RGB, RGB, RGB, RGB, RGB]] = {
    "night": ((6, 10, 34), (22, 36, 88), (62, 76, 140), (24, 34, 70), (10, 16, 38)),
    "space": ((3, 2, 16), (24, 10, 56), (70, 32, 104), (44, 34, 70), (20, 16, 38)),
    "storm": ((30, 33, 46), (62, 68, 86), (112, 118, 132), (44, 52, 60), (24, 28, 34)),
    "fire": ((58, 12, 24), (176, 52, 28), (252, 156, 60), (104, 38, 24), (46, 14, 12)),
    "dusk": ((40, 48, 112), (188, 108, 140), (250, 182, 122), (72, 54, 92), (38, 30, 58)),
    "sun": ((64, 146, 226), (132, 192, 240), (255, 226, 164), (116, 172, 84), (66, 128, 58)),
    "snow": ((150, 184, 224), (200, 220, 240), (240, 244, 250), (226, 236, 248), (196, 214, 236)),
    "sea": ((34, 96, 130), (84, 158, 172), (180, 220, 214), (30, 118, 138), (12, 72, 98)),
    "desert": ((226, 150, 84), (242, 196, 128), (252, 226, 170), (222, 170, 92), (186, 122, 58)),
    "forest": ((112, 172, 168), (168, 206, 170), (226, 234, 192), (58, 118, 66), (26, 70, 40)),
    "garden": ((140, 196, 236), (196, 224, 242), (255, 222, 214), (118, 184, 92), (68, 142, 70)),
}
_SKY_MOTIFS = ("night", "space", "storm", "fire", "dusk", "sun")
FLAMES: tuple[RGB, ...] = ((226, 62, 30), (252, 142, 40), (255, 228, 120))
FLOWERS: tuple[RGB, ...] = ((240, 96, 120), (255, 214, 80), (250, 250, 240), (170, 110, 220))
PLANETS: tuple[RGB, ...] = ((230, 150, 90), (120, 180, 220), (200, 120, 200), (240, 210, 140))


def mix(a: RGB, b: RGB, t: float) -> RGB:
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return (r, g, bl)


def scale_rgb(c: RGB, f: float) -> RGB:
    return (min(255, round(c[0] * f)), min(255, round(c[1] * f)), min(255, round(c[2] * f)))


def _shift_hue(c: RGB, shift: float) -> RGB:
    h, s, v = colorsys.rgb_to_hsv(c[0] / 255, c[1] / 255, c[2] / 255)
    r, g, b = colorsys.hsv_to_rgb((h + shift) % 1.0, s, v)
    return (round(r * 255), round(g * 255), round(b * 255))


def measure_luma(c: RGB) -> float:
    return 0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]


def choose_palette(motifs: tuple[str, ...], rng: random.Random) -> tuple[list[RGB], list[RGB]]:
    """Sky colours from the first time-of-day words, ground colours from the first terrain word."""
    # Snow outweighs other terrain, since a snowy forest is white rather than green.
    coloured = sorted((m for m in motifs if m in PALETTES), key=lambda m: m != "snow")
    if not coloured:
        shift = rng.uniform(-0.09, 0.09)
        dusk = [_shift_hue(c, shift) for c in PALETTES["dusk"]]
        return dusk[:3], dusk[3:]
    skies = [m for m in coloured if m in _SKY_MOTIFS] or coloured
    # A night or a storm outweighs a mere campfire in the sky.
    dark = bool({"night", "space", "storm"} & set(skies))
    skies.sort(key=lambda m: m == "fire" and dark)
    sky = list(PALETTES[skies[0]][:3])
    if len(skies) > 1:
        sky = [mix(a, b, 0.3) for a, b in zip(sky, PALETTES[skies[1]][:3], strict=True)]
    lands = [m for m in coloured if m not in _SKY_MOTIFS and m != "sea"] or [skies[0]]
    return sky, list(PALETTES[lands[0]][3:])
