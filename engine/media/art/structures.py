"""Building painters: a lighthouse and its beam, a castle, a village, or a city skyline."""

from __future__ import annotations

from enum import Enum

from engine.media.art.canvas import Point, Scene, draw_shape, paste_glow
from engine.media.art.palette import FLOWERS, RGB, measure_luma, mix, scale_rgb
from engine.media.art.setting import SEA_SETTINGS, Setting

# Silhouettes as "x,y" points in body units, facing right, y pointing down.
_LANTERN = ("-.09,-.02 .09,-.02 .09,.01 -.09,.01", "-.045,-.12 .045,-.12 .045,0 -.045,0")
_ROOFS = {"gable": "-.12,0 .5,-.5 1.12,0", "spire": "-.1,0 .5,-1.5 1.1,0"}


def _paint_building(s: Scene, x: float, base: float, size: Point, roof: str, colour: RGB) -> None:
    (bw, bh), u = size, s.u
    top = base - bh
    s.draw.rectangle((x, top, x + bw, base + u * 4), colour)
    if roof in _ROOFS:
        draw_shape(s, _ROOFS[roof], (x, top), bw, scale_rgb(colour, 0.8))
    for i in range(0, 7, 2) if roof == "crenel" else ():
        s.draw.rectangle((x + i * bw / 7, top - bw / 7, x + (i + 1) * bw / 7, top), colour)
    window = (255, 214, 120, 255) if s.dark else (*mix(colour, (255, 255, 255), 0.3), 255)
    cols, rows = max(1, int(bw / (u * 2.4))), max(1, int(bh / (u * 3.2)))
    for row in range(rows):
        for col in range(cols):
            wx, wy = x + bw * (col + 0.5) / cols, top + bh * (row + 0.45) / rows
            if s.rng.random() < 0.45:
                s.draw.rectangle((wx - u * 0.45, wy - u * 0.7, wx + u * 0.45, wy + u * 0.7), window)


def _paint_lighthouse(s: Scene, x: float, base: float, height: float) -> None:
    u, top = s.u, base - height
    for i in range(6):  # tapering red and white bands
        ends = ((i / 6, 1), (i / 6, -1), ((i + 1) / 6, -1), ((i + 1) / 6, 1))
        band = [
            (x - height * (0.1 - 0.035 * t) * k, base - height * t + u * (t == i / 6))
            for t, k in ends
        ]
        s.draw.polygon(band, s.lit((236, 232, 222) if i % 2 else (196, 52, 44), 0.1))
    draw_shape(s, _LANTERN[0], (x, top), height, s.lit((40, 40, 46), 0))
    draw_shape(s, _LANTERN[1], (x, top), height, (255, 226, 140))
    draw_shape(s, "-.07,-.12 0,-.19 .07,-.12", (x, top), height, s.lit((150, 40, 36), 0))
    if s.dark or s.has("storm", "dusk"):  # the beam sweeps out over the water
        lamp, tilt = (x, top - height * 0.07), s.rng.uniform(-0.04, 0.1) * s.w
        far = lamp[0] + s.w * 1.1 * (1 if s.land[0] < 1 else -1)
        for spread, alpha in ((0.07, 30), (0.04, 40), (0.018, 60)):
            beam = [
                lamp,
                (far, lamp[1] + tilt - spread * s.w),
                (far, lamp[1] + tilt + spread * s.w),
            ]
            s.draw.polygon(beam, (255, 244, 190, alpha))
        paste_glow(s, lamp, u * 3, (255, 236, 170), 0.8)


_URBAN = frozenset({"city", "street", "building", "skyscraper"})


class Kind(Enum):
    LIGHTHOUSE = "lighthouse"
    CASTLE = "castle"
    VILLAGE = "village"
    TOWER = "tower"
    SKYLINE = "skyline"


def structure_kind(s: Scene) -> Kind | None:
    """What stands on the land, read in the story's setting: a tower by the sea is a
    lighthouse on the coast, in the woods a lone stone tower, a spire only in a city."""
    if not s.has("city"):
        return None
    urban = bool(_URBAN & s.words) or s.setting is Setting.CITY
    if s.has("lighthouse") or (s.has("tower") and s.setting in SEA_SETTINGS and not urban):
        return Kind.LIGHTHOUSE
    if s.has("castle"):
        return Kind.CASTLE
    if s.has("house", "cottage", "village", "town") or s.setting is Setting.VILLAGE:
        return Kind.VILLAGE
    if s.has("tower") and not urban and s.setting is not None:
        return Kind.TOWER
    return Kind.SKYLINE


def paint_structures(s: Scene) -> None:
    rng, u, (x0, x1) = s.rng, s.u, s.land
    kind = structure_kind(s)
    if kind is None or x1 <= x0:
        return
    if kind is Kind.LIGHTHOUSE:
        x = x0 + (x1 - x0) * (0.7 if x0 < 1 else 0.3)
        _paint_lighthouse(s, x, s.ground_y(x), u * rng.uniform(26, 32) * s.reach)
        return
    cx, span = x0, x1 - x0
    parts: list[tuple[float, float, str]]  # width, height in units, roof
    if kind is Kind.CASTLE:
        cx = rng.uniform(x0 + span * 0.25, x1 - span * 0.45)
        parts = [(4, 34, "spire"), (10, 18, "crenel"), (8, 28, "crenel"), (10, 18, "crenel")]
        parts.append(parts[0])
    elif kind is Kind.TOWER:
        cx = rng.uniform(x0 + span * 0.3, x1 - span * 0.4)
        parts = [(7, 42, "crenel")]
    elif kind is Kind.VILLAGE:
        count = int(span / (u * 9))
        parts = [
            (rng.uniform(6, 9), rng.uniform(5, 8), rng.choice(("gable", "gable", "gap")))
            for _ in range(count)
        ]
    else:
        roofs = ("flat", "flat", "spire", "crenel")
        parts = [
            (rng.uniform(5, 10), rng.uniform(12, 36) * s.reach, rng.choice(roofs))
            for _ in range(int(span / u / 6))
        ]
        if s.has("tower") and parts:
            parts[len(parts) // 2] = (4, 55 * s.reach, "spire")
    colour = s.lit(mix(mix(s.ground[1], s.sky[0], 0.35), (150, 96, 80), 0.35), 0.15)
    # Pale walls would vanish against snow, so darken them.
    colour = scale_rgb(colour, 0.6) if measure_luma(colour) > 150 else colour
    for bw, bh, roof in parts:
        base, shade = s.ground_y(cx + bw * u / 2) + u, scale_rgb(colour, rng.uniform(0.9, 1.1))
        shade = mix(shade, rng.choice(FLOWERS), 0 if s.dark else 0.2)  # painted walls by day
        if roof != "gap":
            _paint_building(s, cx, base, (bw * u, bh * u), roof, shade)
        cx += bw * u + (u * rng.uniform(0.5, 2) if roof in ("gable", "gap") else 0)
