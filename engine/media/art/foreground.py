"""Foreground painters: near hills, big pines, campfire, cacti, flowers, a dragon and a rocket."""

from __future__ import annotations

import math

from engine.media.art.canvas import (
    Scene,
    draw_line,
    draw_shape,
    fill_disc,
    outline_flame,
    paste_glow,
    place,
)
from engine.media.art.land import fill_profile, paint_trees, roll_hills
from engine.media.art.palette import FLAMES, FLOWERS, RGB, mix, scale_rgb

# Silhouettes as "x,y" points in body units, facing right, y pointing down.
_DRAGON = (
    "-3.4,.05 -3.7,-.15 -3.55,.1 -3.75,.3 -3.35,.2 -3,.12 -2.2,.15 -1.3,.15 -.8,.25 -.65,.8 "
    "-.25,.83 -.25,.75 -.45,.7 -.4,.3 0,.33 .5,.25 .6,.65 .95,.68 .95,.6 .75,.55 .7,.15 .85,-.1 "
    "1.15,-.4 1.45,-.7 1.7,-.82 2.1,-.82 2.35,-.9 2.25,-1 1.9,-1.1 1.5,-1.15 1.15,-1.45 1.3,-1.1 "
    "1.1,-.85 .8,-.55 .3,-.38 -.5,-.38 -1.1,-.3 -1.8,-.15 -2.6,-.05"
)
_WING = ".35,-.25 .6,-1.3 .1,-2.2 -.05,-1.5 -.6,-1.9 -.6,-1.2 -1.1,-1.3 -.9,-.8 -1.4,-.6 -.6,-.25"
_ROCKET = "0,-2 .45,-1.2 .5,.6 .9,1.1 .9,1.4 .35,1.1 -.35,1.1 -.9,1.4 -.9,1.1 -.5,.6 -.45,-1.2"


def _paint_fire(s: Scene, x: float, base: float, size: float) -> None:
    rng = s.rng
    paste_glow(s, (x, base - size * 0.8), size * 2.5, (255, 150, 60), 0.55)
    for sign in (-1, 1):  # crossed logs
        log = [
            (x - sign * size * 0.7, base + size * 0.15),
            (x + sign * size * 0.7, base - size * 0.1),
        ]
        draw_line(s, log, (70, 40, 26), size * 0.18)
    for colour, scale, count in zip(FLAMES, (1.0, 0.72, 0.45), (5, 4, 3), strict=True):
        for j in range(count):
            offset = (j / (count - 1) - 0.5) * size * 0.8 * scale
            height, lean = size * rng.uniform(1.3, 2.2) * scale, rng.uniform(-0.3, 0.3)
            s.draw.polygon(
                outline_flame(x + offset, base, size * 0.55 * scale, height, lean), colour
            )
    for _ in range(16):  # embers drifting up
        ex, ey = x + rng.gauss(0, size * 0.6), base - size * rng.uniform(1.5, 4)
        fill_disc(s, ex, ey, size * rng.uniform(0.03, 0.07), (255, 190, 80, rng.randint(140, 255)))


def _paint_dragon(s: Scene) -> None:
    """A flying dragon silhouette breathing a cone of fire down towards the ground."""
    rng, flip, unit = s.rng, s.rng.random() < 0.5, s.u * s.rng.uniform(4.5, 6)
    x = rng.uniform(0.6, 0.78) if flip else rng.uniform(0.22, 0.4)
    at = (x * s.w, s.horizon * rng.uniform(0.32, 0.45))
    body = s.lit(mix(s.sky[0], (40, 16, 24), 0.6), 0)
    far_wing = place(at, unit, flip, 0, 0.5, 0.1)
    tilt = 0.3 if flip else -0.3
    draw_shape(s, _WING, far_wing, unit * 0.9, scale_rgb(body, 0.75), flip=flip, turn=tilt)
    draw_shape(s, _DRAGON, at, unit, body, flip=flip)
    draw_shape(s, _WING, at, unit, body, flip=flip)
    mouth, dip = place(at, unit, flip, 0, 2.3, -0.88), rng.uniform(0.3, 0.6) * (-1 if flip else 1)
    paste_glow(s, place(mouth, unit, flip, dip, 2, 0), unit * 2, (255, 150, 60), 0.6)
    ts = [i / 12 for i in range(13)]
    for colour, reach, spread in zip(FLAMES, (4.5, 3.7, 2.6), (0.24, 0.17, 0.1), strict=True):
        # widening, flickering edges that close in a rounded tip
        rim = [(t, side) for side in (1, -1) for t in (ts if side > 0 else ts[::-1])]
        flare = [
            reach * spread * t**0.6 * math.sqrt(1 - t**4) * (1 + 0.3 * math.sin(t * 14 + k))
            for t, k in rim
        ]
        pts = [
            place(mouth, unit, flip, dip, reach * t, k * f)
            for (t, k), f in zip(rim, flare, strict=True)
        ]
        s.draw.polygon(pts, colour)


def _paint_rocket(s: Scene) -> None:
    at = (s.rng.uniform(0.25, 0.75) * s.w, s.horizon * s.rng.uniform(0.4, 0.6))
    turn = s.rng.uniform(-0.6, 0.6)
    draw_shape(s, "-.35,1.1 .35,1.1 0,2.6", at, s.u * 6, (255, 170, 60), turn=turn)
    draw_shape(s, _ROCKET, at, s.u * 6, s.lit((235, 235, 240), 0.1), turn=turn)
    window = place(at, s.u * 6, False, turn, 0, -0.4)
    fill_disc(s, window[0], window[1], s.u * 1.5, (80, 160, 220))


def _paint_cactus(s: Scene, x: float, base: float, height: float, colour: RGB) -> None:
    d, wd = s.draw, height * 0.16
    d.rounded_rectangle((x - wd / 2, base - height, x + wd / 2, base + wd), wd / 2, colour)
    for side, low, tall in ((-1, 0.5, 0.3), (1, 0.35, 0.32)):
        ax, y, r = x + side * wd * 1.2, base - height * low, wd * 0.4
        d.rounded_rectangle((min(x, ax) - r, y - r, max(x, ax) + r, y + r), r, colour)
        d.rounded_rectangle((ax - r, y - height * tall, ax + r, y + r), r, colour)


def _paint_flowers(s: Scene, top: float) -> None:
    rng, stem = s.rng, s.lit((60, 130, 60), 0.1)
    for y in sorted(rng.uniform(top, s.h) for _ in range(70)):
        x, size = rng.uniform(0, s.w), s.u * (0.5 + 1.8 * (y - top) / max(1.0, s.h - top))
        draw_line(s, [(x, y), (x, y + size * 2.5)], stem, size * 0.25)
        petal = s.lit(rng.choice(FLOWERS), 0.05)
        for k in range(5):
            px, py = math.cos(k * 1.26) * size * 0.6, math.sin(k * 1.26) * size * 0.6
            fill_disc(s, x + px, y + py, size * 0.5, petal)
        fill_disc(s, x, y, size * 0.3, (250, 200, 60))


def paint_foreground(s: Scene) -> None:
    """Near ground and what stands on it: big pines, a fire, cacti, flowers, and fliers."""
    rng, u = s.rng, s.u
    if not s.has("sea"):
        s.surface = roll_hills(
            s, s.horizon + (s.h - s.horizon) * 0.4, u * 2.5, rng.uniform(0.5, 1.2)
        )
        fill_profile(s, s.surface, s.lit(s.ground[1], 0.1))
    (x0, x1), inset = s.land, (s.land[1] - s.land[0]) * 0.15
    if s.has("forest") and x1 > x0:
        paint_trees(s, near=True)
    for _ in range(rng.randint(1, 3) if s.has("desert") and x1 > x0 else 0):
        x = rng.uniform(x0 + inset, x1 - inset)
        _paint_cactus(s, x, s.ground_y(x) + u, u * rng.uniform(10, 18), s.lit((54, 96, 56), 0.1))
    # A dragon's fire is its breath and a volcano's is its own; other fire words light a campfire.
    lone_fire = s.has("fire") and not s.has("dragon", "volcano")
    if x1 > x0 and (lone_fire or s.has("campfire", "bonfire", "candle")):
        x = rng.uniform(x0 + inset * 2, x1 - inset * 2)
        _paint_fire(s, x, s.ground_y(x) + u * 3, u * rng.uniform(6, 9))
    if s.has("garden"):
        _paint_flowers(s, max(s.horizon, min(s.surface)) + u * 2)
    if s.has("dragon"):
        _paint_dragon(s)
    if s.has("rocket"):
        _paint_rocket(s)
