"""Sky painters: gradient, stars, planets, sun or moon, clouds and birds, rain, lightning, snow."""

from __future__ import annotations

import math

from engine.media.art.canvas import (
    Point,
    Scene,
    draw_line,
    draw_shape,
    fill_disc,
    make_gradient,
    paste_crescent,
    paste_glow,
)
from engine.media.art.palette import PLANETS, mix, scale_rgb

# Silhouettes as "x,y" points in body units, facing right, y pointing down.
_RAY = "1.3,0 2.3,.13 1.29,.14"


def paint_sky(s: Scene) -> None:
    rng, u, t = s.rng, s.u, s.horizon / s.h
    stops = [(0.0, s.sky[0]), (t * 0.55, s.sky[1]), (t, s.sky[2]), (1.0, s.sky[2])]
    s.img.paste(make_gradient(stops, s.w, s.h))
    for _ in range(3 if s.has("space") else 0):  # nebula clouds
        colour = rng.choice([(120, 60, 200), (40, 140, 180), (200, 70, 150)])
        paste_glow(s, (rng.uniform(0, s.w), rng.uniform(0, s.horizon)), u * 18, colour, 0.35)
    order = {m: i for i, m in enumerate(s.motifs)}
    day = min(order.get("sun", 99), order.get("dusk", 99))
    night = min(order.get("night", 99), order.get("space", 99))
    if not s.has("storm") and (night < 99 or "dusk" in order):
        _paint_stars(s, 160 if night < day else 40)
    for _ in range(rng.randint(1, 2) if s.has("space") else 0):
        _paint_planet(s, (rng.uniform(0.1, 0.9) * s.w, rng.uniform(0.12, 0.45) * s.horizon))
    if day < night:
        low = s.has("dawn", "sunrise", "sunset", "dusk", "evening")
        y = s.horizon - u * 3 if low else rng.uniform(0.2, 0.45) * s.horizon
        _paint_sun(s, (rng.uniform(0.2, 0.8) * s.w, y), u * rng.uniform(6, 9))
    elif "night" in order or s.has("moon"):
        s.light = (rng.uniform(0.15, 0.85) * s.w, rng.uniform(0.18, 0.4) * s.horizon)
        r = u * rng.uniform(4.5, 7)
        paste_glow(s, s.light, r * 2.2, (170, 190, 240), 0.45)
        paste_crescent(s, s.light, r, (250, 244, 214), 255, rng.choice((0.0, -0.3, 0.3)))


def _paint_stars(s: Scene, count: int) -> None:
    for i in range(count):
        x, y = s.rng.uniform(0, s.w), s.horizon * 0.9 * s.rng.random() ** 1.5
        r = s.u * s.rng.uniform(0.08, 0.3)
        fill_disc(s, x, y, r, (255, 248, 225, s.rng.randint(110, 255)))
        if i % 25 == 0:  # a few twinkles read as stars rather than dust
            draw_line(s, [(x - r * 5, y), (x + r * 5, y)], (255, 248, 225, 180), r * 0.6)
            draw_line(s, [(x, y - r * 5), (x, y + r * 5)], (255, 248, 225, 180), r * 0.6)


def _paint_planet(s: Scene, at: Point) -> None:
    (x, y), r = at, s.u * s.rng.uniform(4, 10)
    fill_disc(s, x, y, r, s.rng.choice(PLANETS))
    paste_crescent(s, at, r, (20, 10, 40), 150, s.rng.choice((-0.35, 0.35)))
    if s.rng.random() < 0.6:
        ring = (x - r * 1.9, y - r * 0.45, x + r * 1.9, y + r * 0.45)
        s.draw.arc(ring, -10, 190, (240, 230, 210), max(1, int(r * 0.12)))


def _paint_sun(s: Scene, at: Point, r: float) -> None:
    s.light = at
    paste_glow(s, at, r * 2.4, (255, 236, 180), 0.55)
    turn = s.rng.uniform(0, math.pi)
    for i in range(12):
        draw_shape(s, _RAY, at, r, (255, 240, 170, 110), turn=turn + i * math.pi / 6)
    fill_disc(s, at[0], at[1], r, (255, 238, 160))


def paint_clouds(s: Scene) -> None:
    rng, u, storm = s.rng, s.u, s.has("storm")
    base = mix(s.sky[0], (20, 22, 30), 0.4) if storm else mix(s.sky[2], (255, 255, 255), 0.5)
    if s.dark and not storm:
        base = mix(s.sky[1], (255, 255, 255), 0.12)
    count = 7 if storm else rng.randint(0 if s.dark else 1, 3) * (not s.has("space"))
    for i in range(count):
        cx = (i + rng.uniform(0.1, 0.9)) * s.w / count if storm else rng.uniform(0, s.w)
        cy = rng.uniform(0.02, 0.2 if storm else 0.45) * s.horizon
        size = u * (rng.uniform(30, 45) if storm else rng.uniform(12, 24))
        alpha = 255 if storm else 230
        box = (cx - size / 2, cy - size / 10, cx + size / 2, cy + size / 10)
        s.draw.rounded_rectangle(box, size / 10, (*base, alpha))
        puffs = [(j / 5 - 0.5, rng.uniform(0.1, 1), rng.uniform(0.14, 0.22)) for j in range(6)]
        for colour, lift in ((base, 0.0), (mix(base, (255, 255, 255), 0.18), 0.3)):
            for dx, dy, pr in puffs:  # a lighter, raised second pass gives the cloud a lit top
                y = cy - size * (dy * 0.15 + pr * lift)
                fill_disc(s, cx + size * dx, y, size * pr * (1 - lift / 2), (*colour, alpha))
    for _ in range(0 if s.dark or storm else rng.randint(0, 5)):  # a few distant birds
        x, y = rng.uniform(0.1, 0.9) * s.w, rng.uniform(0.2, 0.6) * s.horizon
        span = u * rng.uniform(0.8, 1.6)
        wings = [(x - span, y - span * 0.4), (x, y), (x + span, y - span * 0.4)]
        draw_line(s, wings, (*scale_rgb(s.sky[0], 0.5), 220), u * 0.25)


def paint_weather(s: Scene) -> None:
    rng, u = s.rng, s.u
    if s.has("storm"):
        slant = rng.uniform(-0.35, 0.35)
        for _ in range(420):
            x, y, fall = (
                rng.uniform(-0.2, 1.2) * s.w,
                rng.uniform(-0.1, 1) * s.h,
                u * rng.uniform(2, 5),
            )
            drop = [(x, y), (x + slant * fall, y + fall)]
            draw_line(s, drop, (200, 214, 236, rng.randint(50, 120)), u * 0.15)
        bolt = [(rng.uniform(0.15, 0.85) * s.w, s.horizon * 0.15)]
        while bolt[-1][1] < s.horizon:
            bolt.append((bolt[-1][0] + rng.uniform(-3, 3) * u, bolt[-1][1] + rng.uniform(2, 5) * u))
        (fx, fy), bright = bolt[len(bolt) // 3], (255, 252, 220)
        paste_glow(s, bolt[len(bolt) // 2], s.horizon * 0.4, (200, 200, 255), 0.35)
        draw_line(s, bolt, bright, u * 0.5)
        draw_line(
            s, [(fx, fy), (fx + u * 4, fy + u * 3), (fx + u * 5, fy + u * 8)], bright, u * 0.3
        )
    for i in range(226 if s.has("snow") else 0):
        x, y, r = rng.uniform(0, s.w), rng.uniform(0, s.h), u * rng.uniform(0.12, 0.5)
        if i >= 6:
            fill_disc(s, x, y, r, (250, 252, 255, rng.randint(150, 240)))
        for k in range(3 if i < 6 else 0):  # a few large six-armed flakes close to the viewer
            dx, dy = math.cos(k * math.pi / 3) * r * 4, math.sin(k * math.pi / 3) * r * 4
            draw_line(s, [(x - dx, y - dy), (x + dx, y + dy)], (250, 252, 255, 220), u * 0.2)
