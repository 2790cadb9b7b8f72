"""Land and water painters: mountains and volcano, sea and ships, hills, headland, pine trees."""

from __future__ import annotations

import math
import random

from PIL import Image, ImageDraw

from engine.media.art.canvas import (
    Point,
    Scene,
    draw_line,
    draw_shape,
    outline_flame,
    paste_glow,
)
from engine.media.art.palette import FLAMES, PALETTES, RGB, mix, scale_rgb
from engine.media.art.setting import Setting

# Silhouettes as "x,y" points in body units, facing right, y pointing down.
_BOAT = ("-1,-.3 1,-.3 .7,.05 -.7,.05", ".04,-1.9 .04,-.3 -.04,-.3 -.04,-1.9")
_SAILS = (".1,-1.85 .9,-.45 .1,-.45", "-.1,-1.5 -.7,-.45 -.1,-.45")
_PINE = (
    "0,-1 .12,-.72 .06,-.72 .2,-.5 .1,-.5 .26,-.28 .14,-.28 .32,-.08 .04,-.08 .04,.06 -.04,.06 "
    "-.04,-.08 -.32,-.08 -.14,-.28 -.26,-.28 -.1,-.5 -.2,-.5 -.06,-.72 -.12,-.72"
)
_PINE_SNOW = ("0,-1 .06,-.86 -.06,-.86", ".1,-.5 .2,-.5 .14,-.44", "-.1,-.5 -.2,-.5 -.14,-.44")


def _raise_ridge(rng: random.Random, w: float, top: float, bottom: float) -> list[Point]:
    """A mountain skyline by midpoint displacement, which gives natural jagged peaks."""
    n, step, amp = 32, 32, 1.0
    ys = [rng.random() for _ in range(n + 1)]
    while step > 1:
        half = step // 2
        for i in range(half, n, step):
            ys[i] = (ys[i - half] + ys[i + half]) / 2 + rng.uniform(-amp, amp)
        step, amp = half, amp * 0.55
    lo, span = min(ys), (max(ys) - min(ys)) or 1
    return [(w * i / n, bottom - (bottom - top) * (v - lo) / span) for i, v in enumerate(ys)]


def paint_mountains(s: Scene) -> None:
    u, rock = s.u, mix(s.ground[0], (110, 110, 150), 0.5)
    for layer in range(3):
        top = s.horizon - u * (38 - layer * 10) * s.rng.uniform(0.75, 1.1)
        ridge = _raise_ridge(s.rng, s.w, top, s.horizon + u * 2)
        ridge += [(s.w, s.h), (0, s.h)]
        s.draw.polygon(ridge, s.lit(mix(rock, s.sky[2], 0.55 - layer / 5), 0))
        if layer < (2 if s.has("snow") else 1 - s.has("desert", "fire")):  # snow on high ground
            line, peak = top + (s.horizon - top) * 0.3, int(min(y for _, y in ridge[:-2]))
            mask = Image.new("L", (s.w, max(1, int(line + u * 2) - peak)), 0)
            ImageDraw.Draw(mask).polygon([(x, y - peak) for x, y in ridge], 255)
            edge = [(x, line - peak + u * 1.5 * math.sin(x / u)) for x, _ in ridge[:-2]]
            ImageDraw.Draw(mask).polygon([*edge, (s.w, s.h), (0, s.h)], 0)
            s.img.paste(s.lit((245, 248, 255), 0.1), (0, peak), mask)
    if s.has("volcano"):  # a cone with a glowing crater and lava running down
        x, top = s.rng.uniform(0.3, 0.7) * s.w, s.horizon - u * 36
        draw_shape(s, "-40,38 -5,0 5,0 40,38", (x, top), u, s.lit(rock, 0.1))
        paste_glow(s, (x, top), u * 8, (255, 110, 40), 0.8)
        for dx in (-3, 1, 4):
            lava = [
                (x + dx * u, top),
                (x + dx * u * 2.5, top + u * 10),
                (x + dx * u * 3, top + u * 22),
            ]
            draw_line(s, lava, (255, 120, 40), u * 0.8)
        for lean, colour in zip((-0.3, 0.0, 0.25), FLAMES, strict=True):
            s.draw.polygon(outline_flame(x + lean * u * 8, top + u, u * 4, u * 9, lean), colour)


def paint_sea(s: Scene) -> None:
    rng, u, depth = s.rng, s.u, s.h - s.horizon
    far, near = s.lit(PALETTES["sea"][3], 0.35), s.lit(PALETTES["sea"][4], 0.1)
    rough = 2.0 if s.has("storm") else 1.0
    s.draw.rectangle((0, s.horizon, s.w, s.h), far)
    for row in range(1, 10):
        t, phase = row / 9, rng.uniform(0, math.tau)
        y, amp, length = s.horizon + depth * t**1.5, u * (0.3 + 2.2 * t) * rough, u * (4 + 14 * t)
        xs = [i * max(2.0, length / 10) for i in range(int(s.w / max(2.0, length / 10)) + 2)]
        # 1 - |sin| gives pointed crests and round troughs, like drawn waves
        line = [(x, y - amp * (1 - abs(math.sin(phase + x / length * math.pi)))) for x in xs]
        s.draw.polygon([*line, (s.w, s.h), (0, s.h)], mix(far, near, t))
        draw_line(s, line, (255, 255, 255, int(50 + 40 * rough)), u * 0.25 * (0.5 + t))
    for _ in range(40 if s.light and not s.has("storm") else 0):  # the path of light on water
        t, light_x = rng.random(), s.light[0] if s.light else 0.0
        y, x = s.horizon + depth * t, light_x + rng.gauss(0, u * (1 + 4 * t))
        half = u * (1 + 7 * t) * rng.uniform(0.3, 1)
        draw_line(s, [(x - half, y), (x + half, y)], (255, 244, 200, 120), u * 0.3)
    if s.has("ship", "boat", "sail", "harbour", "harbor"):
        at, flip = (rng.uniform(0.3, 0.7) * s.w, s.horizon + depth * 0.2), rng.random() < 0.5
        for path in _BOAT:
            draw_shape(s, path, at, u * 9, s.lit((70, 40, 30), 0.1), flip=flip)
        for path, shade in zip(_SAILS, (1.0, 0.9), strict=True):
            draw_shape(s, path, at, u * 9, scale_rgb(s.lit((246, 238, 220), 0.1), shade), flip=flip)


def roll_hills(s: Scene, base: float, amp: float, waves: float) -> list[float]:
    """A gentle hill line: two sine waves at random phases."""
    p1, p2, k = s.rng.uniform(0, math.tau), s.rng.uniform(0, math.tau), waves * math.tau / 64
    return [
        base - amp * (math.sin(p1 + k * i) + 0.4 * math.sin(p2 + 2.7 * k * i)) for i in range(65)
    ]


def fill_profile(s: Scene, ys: list[float], colour: RGB) -> None:
    pts = [(s.w * i / (len(ys) - 1), y) for i, y in enumerate(ys)]
    s.draw.polygon([*pts, (s.w, s.h), (0, s.h)], colour)
    draw_line(s, pts, (*mix(colour, s.sky[2], 0.35), 200), s.u * 0.4)


def paint_backland(s: Scene) -> None:
    """Far ground where buildings and distant trees stand: hills, dunes, or a headland at sea."""
    rng, u, w, h = s.rng, s.u, s.w, s.h
    if not s.has("sea"):
        if s.has("desert"):
            dunes = roll_hills(s, s.horizon - u * 4, u * 3, 1.3)
            fill_profile(s, dunes, s.lit(mix(s.ground[0], s.sky[2], 0.3)))
        s.land = (0.0, float(w))
        s.surface = roll_hills(s, s.horizon, u * 1.6, rng.uniform(0.8, 1.6))
        fill_profile(s, s.surface, s.lit(s.ground[0], 0.3))
        return
    if not s.has("city", "forest", "fire", "garden") and s.setting is not Setting.ISLAND:
        return
    left, span = rng.random() < 0.5, w * rng.uniform(0.3, 0.42)
    s.land, edge, away = ((0.0, span), span, 1) if left else ((w - span, float(w)), w - span, -1)
    hill = roll_hills(s, s.horizon - u * rng.uniform(5, 9), u * 1.2, 1.5)
    on_land = [s.land[0] <= w * i / 64 <= s.land[1] for i in range(65)]
    s.surface = [y if inside else h * 2.0 for y, inside in zip(hill, on_land, strict=True)]
    top = [(w * i / 64, y) for i, y in enumerate(hill) if on_land[i]][::away]
    brink = top[-1][1]
    face = [
        (edge + away * u * (k * 1.3 + rng.uniform(-1, 1)), brink + (h - brink) * k / 5)
        for k in range(6)
    ]
    rock = s.lit(s.ground[1], 0.1)
    s.draw.polygon([(0.0 if left else float(w), h), *top, *face], rock)
    s.draw.polygon([(edge - away * u * 5, brink + u * 3), *face], scale_rgb(rock, 0.75))
    draw_line(s, top, s.lit(mix(s.ground[0], (90, 130, 70), 0.5), 0.2), u * 0.9)
    for _ in range(8):  # surf breaking at the foot of the cliff
        y = rng.uniform(s.horizon + u, h)
        x = edge + away * u * (7 * (y - brink) / (h - brink) + rng.uniform(0, 2))
        x0, x1 = sorted((x, x + away * u * rng.uniform(3, 8)))
        s.draw.ellipse((x0, y - u * 0.4, x1, y + u * 0.4), (240, 248, 255, 90))


def paint_trees(s: Scene, near: bool) -> None:
    rng, u, (x0, x1) = s.rng, s.u, s.land
    colour = s.lit(mix(PALETTES["forest"][4], s.ground[1], 0.3), 0.05 if near else 0.35)
    if near:  # big trees frame the sides and leave the middle open
        sides = [rng.choice((rng.uniform(-0.05, 0.2), rng.uniform(0.8, 1.05))) for _ in range(5)]
        trees = [(x0 + (x1 - x0) * t, u * rng.uniform(24, 48)) for t in sides]
    else:
        trees = [
            (rng.uniform(x0, x1), u * rng.uniform(6, 12)) for _ in range(int((x1 - x0) / u / 3))
        ]
    for x, size in sorted(trees, key=lambda tree: tree[1]):
        at = (x, s.h + u * 2 if near else s.ground_y(x) + u * 1.5)
        draw_shape(s, _PINE, at, size, scale_rgb(colour, rng.uniform(0.85, 1.1)))
        for path in _PINE_SNOW if s.has("snow") else ():
            draw_shape(s, path, at, size, s.lit((240, 246, 255), 0.05))
