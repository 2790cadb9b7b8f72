"""Offline procedural illustrator: paints a prompt's palette and motifs as flat silhouettes."""

from __future__ import annotations

import colorsys
import math
import random
import re
import zlib
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFilter, ImageFont

RGB = tuple[int, int, int]
Point = tuple[float, float]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

_VOCAB = {
    "night": "night moon star dark midnight moonlight moonlit starlight starlit darkness",
    "dusk": "dusk twilight evening sunset",
    "space": "space planet rocket galaxy comet astronaut universe cosmos nebula asteroid",
    "storm": "storm thunder lightning rain tempest thunderstorm rainstorm hurricane",
    "fire": "fire flame dragon ember burn burnt candle campfire bonfire firelight blaze volcano",
    "sun": "sun morning dawn day summer sunrise sunshine sunlight daylight noon midday",
    "snow": "snow winter ice frost frozen snowflake blizzard glacier snowman",
    "sea": "sea ocean wave shore beach harbour harbor ship boat coast seaside sail island",
    "desert": "desert sand dune oasis cactus",
    "forest": "forest tree wood woods jungle leaf leaves pine grove woodland",
    "mountain": "mountain hill peak cliff ridge valley volcano",
    "city": "city tower castle town house lighthouse street village building cottage",
    "garden": "flower garden meadow bloom blossom tulip",
}
_STEMS = {motif: frozenset(words.split()) for motif, words in _VOCAB.items()}
_SUFFIXES = ("s", "es", "ies", "ing", "ed", "y", "ier", "iest")

# sky top, sky middle, horizon, ground far, ground near
_PALETTES: dict[str, tuple[RGB, RGB, RGB, RGB, RGB]] = {
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
_FLAMES: tuple[RGB, ...] = ((226, 62, 30), (252, 142, 40), (255, 228, 120))
_FLOWERS: tuple[RGB, ...] = ((240, 96, 120), (255, 214, 80), (250, 250, 240), (170, 110, 220))
_PLANETS: tuple[RGB, ...] = ((230, 150, 90), (120, 180, 220), (200, 120, 200), (240, 210, 140))
# Silhouettes as "x,y" points in body units, facing right, y pointing down.
_DRAGON = (
    "-3.4,.05 -3.7,-.15 -3.55,.1 -3.75,.3 -3.35,.2 -3,.12 -2.2,.15 -1.3,.15 -.8,.25 -.65,.8 "
    "-.25,.83 -.25,.75 -.45,.7 -.4,.3 0,.33 .5,.25 .6,.65 .95,.68 .95,.6 .75,.55 .7,.15 .85,-.1 "
    "1.15,-.4 1.45,-.7 1.7,-.82 2.1,-.82 2.35,-.9 2.25,-1 1.9,-1.1 1.5,-1.15 1.15,-1.45 1.3,-1.1 "
    "1.1,-.85 .8,-.55 .3,-.38 -.5,-.38 -1.1,-.3 -1.8,-.15 -2.6,-.05"
)
_WING = ".35,-.25 .6,-1.3 .1,-2.2 -.05,-1.5 -.6,-1.9 -.6,-1.2 -1.1,-1.3 -.9,-.8 -1.4,-.6 -.6,-.25"
_PINE = (
    "0,-1 .12,-.72 .06,-.72 .2,-.5 .1,-.5 .26,-.28 .14,-.28 .32,-.08 .04,-.08 .04,.06 -.04,.06 "
    "-.04,-.08 -.32,-.08 -.14,-.28 -.26,-.28 -.1,-.5 -.2,-.5 -.06,-.72 -.12,-.72"
)
_PINE_SNOW = ("0,-1 .06,-.86 -.06,-.86", ".1,-.5 .2,-.5 .14,-.44", "-.1,-.5 -.2,-.5 -.14,-.44")
_BOAT = ("-1,-.3 1,-.3 .7,.05 -.7,.05", ".04,-1.9 .04,-.3 -.04,-.3 -.04,-1.9")
_SAILS = (".1,-1.85 .9,-.45 .1,-.45", "-.1,-1.5 -.7,-.45 -.1,-.45")
_ROCKET = "0,-2 .45,-1.2 .5,.6 .9,1.1 .9,1.4 .35,1.1 -.35,1.1 -.9,1.4 -.9,1.1 -.5,.6 -.45,-1.2"
_LANTERN = ("-.09,-.02 .09,-.02 .09,.01 -.09,.01", "-.045,-.12 .045,-.12 .045,0 -.045,0")
_RAY = "1.3,0 2.3,.13 1.29,.14"
_ROOFS = {"gable": "-.12,0 .5,-.5 1.12,0", "spire": "-.1,0 .5,-1.5 1.1,0"}
# Supersampling smooths ImageDraw's hard edges; cap the work near the 2560x1440 budget.
_WORK_PIXELS = 3_700_000


def _expand_word(word: str) -> set[str]:
    """The word plus the stems its plural, -ing, -ed or -y ending may hide."""
    forms = {word}
    for suffix in _SUFFIXES:
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= 2:
            forms |= {base, base + "e", base + "y" if suffix[0] == "i" else base}
            if base[-1] == base[-2]:  # starry, sunny, shipping
                forms.add(base[:-1])
    return forms


def _expand_prompt(prompt: str) -> list[set[str]]:
    return [_expand_word(word) for word in re.findall(r"[a-z]+", prompt.lower())]


def detect_motifs(prompt: str) -> tuple[str, ...]:
    """Motif names found in the prompt, in a stable order."""
    found: list[str] = []
    for forms in _expand_prompt(prompt):
        found += [m for m, stems in _STEMS.items() if m not in found and forms & stems]
    return tuple(found)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return (r, g, bl)


def _scale(c: RGB, f: float) -> RGB:
    return (min(255, round(c[0] * f)), min(255, round(c[1] * f)), min(255, round(c[2] * f)))


def _shift_hue(c: RGB, shift: float) -> RGB:
    h, s, v = colorsys.rgb_to_hsv(c[0] / 255, c[1] / 255, c[2] / 255)
    r, g, b = colorsys.hsv_to_rgb((h + shift) % 1.0, s, v)
    return (round(r * 255), round(g * 255), round(b * 255))


def _measure_luma(c: RGB) -> float:
    return 0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]


def _choose_palette(motifs: tuple[str, ...], rng: random.Random) -> tuple[list[RGB], list[RGB]]:
    """Sky colours from the first time-of-day words, ground colours from the first terrain word."""
    # Snow outweighs other terrain, since a snowy forest is white rather than green.
    coloured = sorted((m for m in motifs if m in _PALETTES), key=lambda m: m != "snow")
    if not coloured:
        shift = rng.uniform(-0.09, 0.09)
        dusk = [_shift_hue(c, shift) for c in _PALETTES["dusk"]]
        return dusk[:3], dusk[3:]
    skies = [m for m in coloured if m in _SKY_MOTIFS] or coloured
    # A night or a storm outweighs a mere campfire in the sky.
    dark = bool({"night", "space", "storm"} & set(skies))
    skies.sort(key=lambda m: m == "fire" and dark)
    sky = list(_PALETTES[skies[0]][:3])
    if len(skies) > 1:
        sky = [_mix(a, b, 0.3) for a, b in zip(sky, _PALETTES[skies[1]][:3], strict=True)]
    lands = [m for m in coloured if m not in _SKY_MOTIFS and m != "sea"] or [skies[0]]
    return sky, list(_PALETTES[lands[0]][3:])


@dataclass
class _Scene:
    img: Image.Image
    rng: random.Random
    motifs: tuple[str, ...]
    words: frozenset[str]
    sky: list[RGB]
    ground: list[RGB]
    horizon: float = 0.0
    land: tuple[float, float] = (0.0, 0.0)  # the x-range things can stand on
    surface: list[float] = field(default_factory=lambda: [0.0, 0.0])  # land height across
    light: Point | None = None  # the sun or moon, whose path shines on water
    draw: ImageDraw.ImageDraw = field(init=False)
    w: int = field(init=False)
    h: int = field(init=False)
    u: float = field(init=False)  # layout unit: a hundredth of the shorter side

    def __post_init__(self) -> None:
        self.draw = ImageDraw.Draw(self.img, "RGBA")
        self.w, self.h = self.img.size
        self.u = min(self.img.size) / 100

    @property
    def dark(self) -> bool:
        return _measure_luma(self.sky[1]) < 100

    def has(self, *names: str) -> bool:
        return any(name in self.motifs or name in self.words for name in names)

    def lit(self, c: RGB, haze: float = 0.2) -> RGB:
        """Tint a colour by the sky so every object shares the scene's light."""
        return _scale(
            _mix(c, self.sky[2], haze), 0.45 + 0.55 * min(1.0, _measure_luma(self.sky[1]) / 150)
        )

    def ground_y(self, x: float) -> float:
        pos = max(0.0, min(1.0, x / self.w)) * (len(self.surface) - 1)
        i = min(int(pos), len(self.surface) - 2)
        return self.surface[i] + (self.surface[i + 1] - self.surface[i]) * (pos - i)


def _fill_disc(s: _Scene, x: float, y: float, r: float, fill: tuple[int, ...]) -> None:
    s.draw.ellipse((x - r, y - r, x + r, y + r), fill)


def _draw_line(s: _Scene, pts: list[Point], fill: tuple[int, ...], width: float) -> None:
    s.draw.line(pts, fill, max(1, int(width)), joint="curve")


def _place(at: Point, unit: float, flip: bool, turn: float, x: float, y: float) -> Point:
    x, y = x * unit * (-1 if flip else 1), y * unit
    cos, sin = math.cos(turn), math.sin(turn)
    return (at[0] + x * cos - y * sin, at[1] + x * sin + y * cos)


def _draw_shape(
    s: _Scene,
    path: str,
    at: Point,
    unit: float,
    fill: tuple[int, ...],
    *,
    flip: bool = False,
    turn: float = 0.0,
) -> None:
    """Draw a silhouette path, scaled, mirrored and turned into place."""
    pairs = (pair.split(",") for pair in path.split())
    s.draw.polygon([_place(at, unit, flip, turn, float(x), float(y)) for x, y in pairs], fill)


def _make_gradient(stops: list[tuple[float, RGB]], width: int, height: int) -> Image.Image:
    column: list[RGB] = []
    for y in range(height):
        t = y / max(1, height - 1)
        i = max(j for j, stop in enumerate(stops) if stop[0] <= t or j == 0)
        (t0, c0), (t1, c1) = stops[i], stops[min(i + 1, len(stops) - 1)]
        column.append(_mix(c0, c1, (t - t0) / (t1 - t0) if t1 > t0 else 0.0))
    strip = Image.new("RGB", (1, height))
    strip.putdata(column)
    return strip.resize((width, height), Image.Resampling.NEAREST)


def _paste_glow(s: _Scene, at: Point, radius: float, colour: RGB, strength: float) -> None:
    """Soft light through a blurred disc, blurred small and enlarged because blur is costly."""
    reach, small = max(2, int(radius * 2.2)), max(8, int(radius * 0.55))
    mask = Image.new("L", (small * 2, small * 2), 0)
    ImageDraw.Draw(mask).ellipse((small * 0.55,) * 2 + (small * 1.45,) * 2, int(255 * strength))
    mask = mask.filter(ImageFilter.GaussianBlur(small * 0.3)).resize((reach * 2, reach * 2))
    x, y = int(at[0]) - reach, int(at[1]) - reach
    s.img.paste(colour, (x, y, x + reach * 2, y + reach * 2), mask)


def _paste_crescent(s: _Scene, at: Point, r: float, colour: RGB, alpha: int, bite: float) -> None:
    """A disc with an offset disc bitten out: crescent moons and planet shadows."""
    size = max(2, int(r * 2))
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, size - 1, size - 1), alpha)
    if bite:
        ImageDraw.Draw(mask).ellipse((bite * size, -0.05 * size, (1 + bite) * size, size), 0)
    x, y = int(at[0] - r), int(at[1] - r)
    s.img.paste(colour, (x, y, x + size, y + size), mask)


def _paint_sky(s: _Scene) -> None:
    rng, u, t = s.rng, s.u, s.horizon / s.h
    stops = [(0.0, s.sky[0]), (t * 0.55, s.sky[1]), (t, s.sky[2]), (1.0, s.sky[2])]
    s.img.paste(_make_gradient(stops, s.w, s.h))
    for _ in range(3 if s.has("space") else 0):  # nebula clouds
        colour = rng.choice([(120, 60, 200), (40, 140, 180), (200, 70, 150)])
        _paste_glow(s, (rng.uniform(0, s.w), rng.uniform(0, s.horizon)), u * 18, colour, 0.35)
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
        _paste_glow(s, s.light, r * 2.2, (170, 190, 240), 0.45)
        _paste_crescent(s, s.light, r, (250, 244, 214), 255, rng.choice((0.0, -0.3, 0.3)))


def _paint_stars(s: _Scene, count: int) -> None:
    for i in range(count):
        x, y = s.rng.uniform(0, s.w), s.horizon * 0.9 * s.rng.random() ** 1.5
        r = s.u * s.rng.uniform(0.08, 0.3)
        _fill_disc(s, x, y, r, (255, 248, 225, s.rng.randint(110, 255)))
        if i % 25 == 0:  # a few twinkles read as stars rather than dust
            _draw_line(s, [(x - r * 5, y), (x + r * 5, y)], (255, 248, 225, 180), r * 0.6)
            _draw_line(s, [(x, y - r * 5), (x, y + r * 5)], (255, 248, 225, 180), r * 0.6)


def _paint_planet(s: _Scene, at: Point) -> None:
    (x, y), r = at, s.u * s.rng.uniform(4, 10)
    _fill_disc(s, x, y, r, s.rng.choice(_PLANETS))
    _paste_crescent(s, at, r, (20, 10, 40), 150, s.rng.choice((-0.35, 0.35)))
    if s.rng.random() < 0.6:
        ring = (x - r * 1.9, y - r * 0.45, x + r * 1.9, y + r * 0.45)
        s.draw.arc(ring, -10, 190, (240, 230, 210), max(1, int(r * 0.12)))


def _paint_sun(s: _Scene, at: Point, r: float) -> None:
    s.light = at
    _paste_glow(s, at, r * 2.4, (255, 236, 180), 0.55)
    turn = s.rng.uniform(0, math.pi)
    for i in range(12):
        _draw_shape(s, _RAY, at, r, (255, 240, 170, 110), turn=turn + i * math.pi / 6)
    _fill_disc(s, at[0], at[1], r, (255, 238, 160))


def _paint_clouds(s: _Scene) -> None:
    rng, u, storm = s.rng, s.u, s.has("storm")
    base = _mix(s.sky[0], (20, 22, 30), 0.4) if storm else _mix(s.sky[2], (255, 255, 255), 0.5)
    if s.dark and not storm:
        base = _mix(s.sky[1], (255, 255, 255), 0.12)
    count = 7 if storm else rng.randint(0 if s.dark else 1, 3) * (not s.has("space"))
    for i in range(count):
        cx = (i + rng.uniform(0.1, 0.9)) * s.w / count if storm else rng.uniform(0, s.w)
        cy = rng.uniform(0.02, 0.2 if storm else 0.45) * s.horizon
        size = u * (rng.uniform(30, 45) if storm else rng.uniform(12, 24))
        alpha = 255 if storm else 230
        box = (cx - size / 2, cy - size / 10, cx + size / 2, cy + size / 10)
        s.draw.rounded_rectangle(box, size / 10, (*base, alpha))
        puffs = [(j / 5 - 0.5, rng.uniform(0.1, 1), rng.uniform(0.14, 0.22)) for j in range(6)]
        for colour, lift in ((base, 0.0), (_mix(base, (255, 255, 255), 0.18), 0.3)):
            for dx, dy, pr in puffs:  # a lighter, raised second pass gives the cloud a lit top
                y = cy - size * (dy * 0.15 + pr * lift)
                _fill_disc(s, cx + size * dx, y, size * pr * (1 - lift / 2), (*colour, alpha))
    for _ in range(0 if s.dark or storm else rng.randint(0, 5)):  # a few distant birds
        x, y = rng.uniform(0.1, 0.9) * s.w, rng.uniform(0.2, 0.6) * s.horizon
        span = u * rng.uniform(0.8, 1.6)
        wings = [(x - span, y - span * 0.4), (x, y), (x + span, y - span * 0.4)]
        _draw_line(s, wings, (*_scale(s.sky[0], 0.5), 220), u * 0.25)


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


def _paint_mountains(s: _Scene) -> None:
    u, rock = s.u, _mix(s.ground[0], (110, 110, 150), 0.5)
    for layer in range(3):
        top = s.horizon - u * (38 - layer * 10) * s.rng.uniform(0.75, 1.1)
        ridge = _raise_ridge(s.rng, s.w, top, s.horizon + u * 2)
        ridge += [(s.w, s.h), (0, s.h)]
        s.draw.polygon(ridge, s.lit(_mix(rock, s.sky[2], 0.55 - layer / 5), 0))
        if layer < (2 if s.has("snow") else 1 - s.has("desert", "fire")):  # snow on high ground
            line, peak = top + (s.horizon - top) * 0.3, int(min(y for _, y in ridge[:-2]))
            mask = Image.new("L", (s.w, max(1, int(line + u * 2) - peak)), 0)
            ImageDraw.Draw(mask).polygon([(x, y - peak) for x, y in ridge], 255)
            edge = [(x, line - peak + u * 1.5 * math.sin(x / u)) for x, _ in ridge[:-2]]
            ImageDraw.Draw(mask).polygon([*edge, (s.w, s.h), (0, s.h)], 0)
            s.img.paste(s.lit((245, 248, 255), 0.1), (0, peak), mask)
    if s.has("volcano"):  # a cone with a glowing crater and lava running down
        x, top = s.rng.uniform(0.3, 0.7) * s.w, s.horizon - u * 36
        _draw_shape(s, "-40,38 -5,0 5,0 40,38", (x, top), u, s.lit(rock, 0.1))
        _paste_glow(s, (x, top), u * 8, (255, 110, 40), 0.8)
        for dx in (-3, 1, 4):
            lava = [
                (x + dx * u, top),
                (x + dx * u * 2.5, top + u * 10),
                (x + dx * u * 3, top + u * 22),
            ]
            _draw_line(s, lava, (255, 120, 40), u * 0.8)
        for lean, colour in zip((-0.3, 0.0, 0.25), _FLAMES, strict=True):
            s.draw.polygon(_outline_flame(x + lean * u * 8, top + u, u * 4, u * 9, lean), colour)


def _paint_sea(s: _Scene) -> None:
    rng, u, depth = s.rng, s.u, s.h - s.horizon
    far, near = s.lit(_PALETTES["sea"][3], 0.35), s.lit(_PALETTES["sea"][4], 0.1)
    rough = 2.0 if s.has("storm") else 1.0
    s.draw.rectangle((0, s.horizon, s.w, s.h), far)
    for row in range(1, 10):
        t, phase = row / 9, rng.uniform(0, math.tau)
        y, amp, length = s.horizon + depth * t**1.5, u * (0.3 + 2.2 * t) * rough, u * (4 + 14 * t)
        xs = [i * max(2.0, length / 10) for i in range(int(s.w / max(2.0, length / 10)) + 2)]
        # 1 - |sin| gives pointed crests and round troughs, like drawn waves
        line = [(x, y - amp * (1 - abs(math.sin(phase + x / length * math.pi)))) for x in xs]
        s.draw.polygon([*line, (s.w, s.h), (0, s.h)], _mix(far, near, t))
        _draw_line(s, line, (255, 255, 255, int(50 + 40 * rough)), u * 0.25 * (0.5 + t))
    for _ in range(40 if s.light and not s.has("storm") else 0):  # the path of light on water
        t, light_x = rng.random(), s.light[0] if s.light else 0.0
        y, x = s.horizon + depth * t, light_x + rng.gauss(0, u * (1 + 4 * t))
        half = u * (1 + 7 * t) * rng.uniform(0.3, 1)
        _draw_line(s, [(x - half, y), (x + half, y)], (255, 244, 200, 120), u * 0.3)
    if s.has("ship", "boat", "sail", "harbour", "harbor"):
        at, flip = (rng.uniform(0.3, 0.7) * s.w, s.horizon + depth * 0.2), rng.random() < 0.5
        for path in _BOAT:
            _draw_shape(s, path, at, u * 9, s.lit((70, 40, 30), 0.1), flip=flip)
        for path, shade in zip(_SAILS, (1.0, 0.9), strict=True):
            _draw_shape(s, path, at, u * 9, _scale(s.lit((246, 238, 220), 0.1), shade), flip=flip)


def _roll_hills(s: _Scene, base: float, amp: float, waves: float) -> list[float]:
    """A gentle hill line: two sine waves at random phases."""
    p1, p2, k = s.rng.uniform(0, math.tau), s.rng.uniform(0, math.tau), waves * math.tau / 64
    return [
        base - amp * (math.sin(p1 + k * i) + 0.4 * math.sin(p2 + 2.7 * k * i)) for i in range(65)
    ]


def _fill_profile(s: _Scene, ys: list[float], colour: RGB) -> None:
    pts = [(s.w * i / (len(ys) - 1), y) for i, y in enumerate(ys)]
    s.draw.polygon([*pts, (s.w, s.h), (0, s.h)], colour)
    _draw_line(s, pts, (*_mix(colour, s.sky[2], 0.35), 200), s.u * 0.4)


def _paint_backland(s: _Scene) -> None:
    """Far ground where buildings and distant trees stand: hills, dunes, or a headland at sea."""
    rng, u, w, h = s.rng, s.u, s.w, s.h
    if not s.has("sea"):
        if s.has("desert"):
            dunes = _roll_hills(s, s.horizon - u * 4, u * 3, 1.3)
            _fill_profile(s, dunes, s.lit(_mix(s.ground[0], s.sky[2], 0.3)))
        s.land = (0.0, float(w))
        s.surface = _roll_hills(s, s.horizon, u * 1.6, rng.uniform(0.8, 1.6))
        _fill_profile(s, s.surface, s.lit(s.ground[0], 0.3))
        return
    if not s.has("city", "forest", "fire", "garden"):
        return
    left, span = rng.random() < 0.5, w * rng.uniform(0.3, 0.42)
    s.land, edge, away = ((0.0, span), span, 1) if left else ((w - span, float(w)), w - span, -1)
    hill = _roll_hills(s, s.horizon - u * rng.uniform(5, 9), u * 1.2, 1.5)
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
    s.draw.polygon([(edge - away * u * 5, brink + u * 3), *face], _scale(rock, 0.75))
    _draw_line(s, top, s.lit(_mix(s.ground[0], (90, 130, 70), 0.5), 0.2), u * 0.9)
    for _ in range(8):  # surf breaking at the foot of the cliff
        y = rng.uniform(s.horizon + u, h)
        x = edge + away * u * (7 * (y - brink) / (h - brink) + rng.uniform(0, 2))
        x0, x1 = sorted((x, x + away * u * rng.uniform(3, 8)))
        s.draw.ellipse((x0, y - u * 0.4, x1, y + u * 0.4), (240, 248, 255, 90))


def _paint_trees(s: _Scene, near: bool) -> None:
    rng, u, (x0, x1) = s.rng, s.u, s.land
    colour = s.lit(_mix(_PALETTES["forest"][4], s.ground[1], 0.3), 0.05 if near else 0.35)
    if near:  # big trees frame the sides and leave the middle open
        sides = [rng.choice((rng.uniform(-0.05, 0.2), rng.uniform(0.8, 1.05))) for _ in range(5)]
        trees = [(x0 + (x1 - x0) * t, u * rng.uniform(24, 48)) for t in sides]
    else:
        trees = [
            (rng.uniform(x0, x1), u * rng.uniform(6, 12)) for _ in range(int((x1 - x0) / u / 3))
        ]
    for x, size in sorted(trees, key=lambda tree: tree[1]):
        at = (x, s.h + u * 2 if near else s.ground_y(x) + u * 1.5)
        _draw_shape(s, _PINE, at, size, _scale(colour, rng.uniform(0.85, 1.1)))
        for path in _PINE_SNOW if s.has("snow") else ():
            _draw_shape(s, path, at, size, s.lit((240, 246, 255), 0.05))


def _paint_building(s: _Scene, x: float, base: float, size: Point, roof: str, colour: RGB) -> None:
    (bw, bh), u = size, s.u
    top = base - bh
    s.draw.rectangle((x, top, x + bw, base + u * 4), colour)
    if roof in _ROOFS:
        _draw_shape(s, _ROOFS[roof], (x, top), bw, _scale(colour, 0.8))
    for i in range(0, 7, 2) if roof == "crenel" else ():
        s.draw.rectangle((x + i * bw / 7, top - bw / 7, x + (i + 1) * bw / 7, top), colour)
    window = (255, 214, 120, 255) if s.dark else (*_mix(colour, (255, 255, 255), 0.3), 255)
    cols, rows = max(1, int(bw / (u * 2.4))), max(1, int(bh / (u * 3.2)))
    for row in range(rows):
        for col in range(cols):
            wx, wy = x + bw * (col + 0.5) / cols, top + bh * (row + 0.45) / rows
            if s.rng.random() < 0.45:
                s.draw.rectangle((wx - u * 0.45, wy - u * 0.7, wx + u * 0.45, wy + u * 0.7), window)


def _paint_lighthouse(s: _Scene, x: float, base: float, height: float) -> None:
    u, top = s.u, base - height
    for i in range(6):  # tapering red and white bands
        ends = ((i / 6, 1), (i / 6, -1), ((i + 1) / 6, -1), ((i + 1) / 6, 1))
        band = [
            (x - height * (0.1 - 0.035 * t) * k, base - height * t + u * (t == i / 6))
            for t, k in ends
        ]
        s.draw.polygon(band, s.lit((236, 232, 222) if i % 2 else (196, 52, 44), 0.1))
    _draw_shape(s, _LANTERN[0], (x, top), height, s.lit((40, 40, 46), 0))
    _draw_shape(s, _LANTERN[1], (x, top), height, (255, 226, 140))
    _draw_shape(s, "-.07,-.12 0,-.19 .07,-.12", (x, top), height, s.lit((150, 40, 36), 0))
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
        _paste_glow(s, lamp, u * 3, (255, 236, 170), 0.8)


def _paint_structures(s: _Scene) -> None:
    rng, u, (x0, x1) = s.rng, s.u, s.land
    if not s.has("city") or x1 <= x0:
        return
    if s.has("lighthouse"):
        x = x0 + (x1 - x0) * (0.7 if x0 < 1 else 0.3)
        _paint_lighthouse(s, x, s.ground_y(x), u * rng.uniform(26, 32))
        return
    cx, span = x0, x1 - x0
    parts: list[tuple[float, float, str]]  # width, height in units, roof
    if s.has("castle"):
        cx = rng.uniform(x0 + span * 0.25, x1 - span * 0.45)
        parts = [(4, 34, "spire"), (10, 18, "crenel"), (8, 28, "crenel"), (10, 18, "crenel")]
        parts.append(parts[0])
    elif s.has("house", "cottage", "village", "town"):
        count = int(span / (u * 9))
        parts = [
            (rng.uniform(6, 9), rng.uniform(5, 8), rng.choice(("gable", "gable", "gap")))
            for _ in range(count)
        ]
    else:
        roofs = ("flat", "flat", "spire", "crenel")
        parts = [
            (rng.uniform(5, 10), rng.uniform(12, 36), rng.choice(roofs))
            for _ in range(int(span / u / 6))
        ]
        if s.has("tower") and parts:
            parts[len(parts) // 2] = (4, 55, "spire")
    colour = s.lit(_mix(_mix(s.ground[1], s.sky[0], 0.35), (150, 96, 80), 0.35), 0.15)
    # Pale walls would vanish against snow, so darken them.
    colour = _scale(colour, 0.6) if _measure_luma(colour) > 150 else colour
    for bw, bh, roof in parts:
        base, shade = s.ground_y(cx + bw * u / 2) + u, _scale(colour, rng.uniform(0.9, 1.1))
        shade = _mix(shade, rng.choice(_FLOWERS), 0 if s.dark else 0.2)  # painted walls by day
        if roof != "gap":
            _paint_building(s, cx, base, (bw * u, bh * u), roof, shade)
        cx += bw * u + (u * rng.uniform(0.5, 2) if roof in ("gable", "gap") else 0)


def _outline_flame(x: float, base: float, width: float, height: float, lean: float) -> list[Point]:
    """A teardrop tongue of flame, widest low down and curling to a tip."""
    ts = [i / 12 for i in range(13)]
    half = [width / 2 * max(0.0, math.sin(math.pi * (0.2 + 0.8 * t))) ** 0.7 for t in ts]
    left = [
        (x + lean * height * t * t - hw, base - height * t) for t, hw in zip(ts, half, strict=True)
    ]
    right = [
        (x + lean * height * t * t + hw, base - height * t) for t, hw in zip(ts, half, strict=True)
    ]
    return left + right[::-1]


def _paint_fire(s: _Scene, x: float, base: float, size: float) -> None:
    rng = s.rng
    _paste_glow(s, (x, base - size * 0.8), size * 2.5, (255, 150, 60), 0.55)
    for sign in (-1, 1):  # crossed logs
        log = [
            (x - sign * size * 0.7, base + size * 0.15),
            (x + sign * size * 0.7, base - size * 0.1),
        ]
        _draw_line(s, log, (70, 40, 26), size * 0.18)
    for colour, scale, count in zip(_FLAMES, (1.0, 0.72, 0.45), (5, 4, 3), strict=True):
        for j in range(count):
            offset = (j / (count - 1) - 0.5) * size * 0.8 * scale
            height, lean = size * rng.uniform(1.3, 2.2) * scale, rng.uniform(-0.3, 0.3)
            s.draw.polygon(
                _outline_flame(x + offset, base, size * 0.55 * scale, height, lean), colour
            )
    for _ in range(16):  # embers drifting up
        ex, ey = x + rng.gauss(0, size * 0.6), base - size * rng.uniform(1.5, 4)
        _fill_disc(s, ex, ey, size * rng.uniform(0.03, 0.07), (255, 190, 80, rng.randint(140, 255)))


def _paint_dragon(s: _Scene) -> None:
    """A flying dragon silhouette breathing a cone of fire down towards the ground."""
    rng, flip, unit = s.rng, s.rng.random() < 0.5, s.u * s.rng.uniform(4.5, 6)
    x = rng.uniform(0.6, 0.78) if flip else rng.uniform(0.22, 0.4)
    at = (x * s.w, s.horizon * rng.uniform(0.32, 0.45))
    body = s.lit(_mix(s.sky[0], (40, 16, 24), 0.6), 0)
    far_wing = _place(at, unit, flip, 0, 0.5, 0.1)
    tilt = 0.3 if flip else -0.3
    _draw_shape(s, _WING, far_wing, unit * 0.9, _scale(body, 0.75), flip=flip, turn=tilt)
    _draw_shape(s, _DRAGON, at, unit, body, flip=flip)
    _draw_shape(s, _WING, at, unit, body, flip=flip)
    mouth, dip = _place(at, unit, flip, 0, 2.3, -0.88), rng.uniform(0.3, 0.6) * (-1 if flip else 1)
    _paste_glow(s, _place(mouth, unit, flip, dip, 2, 0), unit * 2, (255, 150, 60), 0.6)
    ts = [i / 12 for i in range(13)]
    for colour, reach, spread in zip(_FLAMES, (4.5, 3.7, 2.6), (0.24, 0.17, 0.1), strict=True):
        # widening, flickering edges that close in a rounded tip
        rim = [(t, side) for side in (1, -1) for t in (ts if side > 0 else ts[::-1])]
        flare = [
            reach * spread * t**0.6 * math.sqrt(1 - t**4) * (1 + 0.3 * math.sin(t * 14 + k))
            for t, k in rim
        ]
        pts = [
            _place(mouth, unit, flip, dip, reach * t, k * f)
            for (t, k), f in zip(rim, flare, strict=True)
        ]
        s.draw.polygon(pts, colour)


def _paint_rocket(s: _Scene) -> None:
    at = (s.rng.uniform(0.25, 0.75) * s.w, s.horizon * s.rng.uniform(0.4, 0.6))
    turn = s.rng.uniform(-0.6, 0.6)
    _draw_shape(s, "-.35,1.1 .35,1.1 0,2.6", at, s.u * 6, (255, 170, 60), turn=turn)
    _draw_shape(s, _ROCKET, at, s.u * 6, s.lit((235, 235, 240), 0.1), turn=turn)
    window = _place(at, s.u * 6, False, turn, 0, -0.4)
    _fill_disc(s, window[0], window[1], s.u * 1.5, (80, 160, 220))


def _paint_cactus(s: _Scene, x: float, base: float, height: float, colour: RGB) -> None:
    d, wd = s.draw, height * 0.16
    d.rounded_rectangle((x - wd / 2, base - height, x + wd / 2, base + wd), wd / 2, colour)
    for side, low, tall in ((-1, 0.5, 0.3), (1, 0.35, 0.32)):
        ax, y, r = x + side * wd * 1.2, base - height * low, wd * 0.4
        d.rounded_rectangle((min(x, ax) - r, y - r, max(x, ax) + r, y + r), r, colour)
        d.rounded_rectangle((ax - r, y - height * tall, ax + r, y + r), r, colour)


def _paint_flowers(s: _Scene, top: float) -> None:
    rng, stem = s.rng, s.lit((60, 130, 60), 0.1)
    for y in sorted(rng.uniform(top, s.h) for _ in range(70)):
        x, size = rng.uniform(0, s.w), s.u * (0.5 + 1.8 * (y - top) / max(1.0, s.h - top))
        _draw_line(s, [(x, y), (x, y + size * 2.5)], stem, size * 0.25)
        petal = s.lit(rng.choice(_FLOWERS), 0.05)
        for k in range(5):
            px, py = math.cos(k * 1.26) * size * 0.6, math.sin(k * 1.26) * size * 0.6
            _fill_disc(s, x + px, y + py, size * 0.5, petal)
        _fill_disc(s, x, y, size * 0.3, (250, 200, 60))


def _paint_foreground(s: _Scene) -> None:
    """Near ground and what stands on it: big pines, a fire, cacti, flowers, and fliers."""
    rng, u = s.rng, s.u
    if not s.has("sea"):
        s.surface = _roll_hills(
            s, s.horizon + (s.h - s.horizon) * 0.4, u * 2.5, rng.uniform(0.5, 1.2)
        )
        _fill_profile(s, s.surface, s.lit(s.ground[1], 0.1))
    (x0, x1), inset = s.land, (s.land[1] - s.land[0]) * 0.15
    if s.has("forest") and x1 > x0:
        _paint_trees(s, near=True)
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


def _paint_weather(s: _Scene) -> None:
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
            _draw_line(s, drop, (200, 214, 236, rng.randint(50, 120)), u * 0.15)
        bolt = [(rng.uniform(0.15, 0.85) * s.w, s.horizon * 0.15)]
        while bolt[-1][1] < s.horizon:
            bolt.append((bolt[-1][0] + rng.uniform(-3, 3) * u, bolt[-1][1] + rng.uniform(2, 5) * u))
        (fx, fy), bright = bolt[len(bolt) // 3], (255, 252, 220)
        _paste_glow(s, bolt[len(bolt) // 2], s.horizon * 0.4, (200, 200, 255), 0.35)
        _draw_line(s, bolt, bright, u * 0.5)
        _draw_line(
            s, [(fx, fy), (fx + u * 4, fy + u * 3), (fx + u * 5, fy + u * 8)], bright, u * 0.3
        )
    for i in range(226 if s.has("snow") else 0):
        x, y, r = rng.uniform(0, s.w), rng.uniform(0, s.h), u * rng.uniform(0.12, 0.5)
        if i >= 6:
            _fill_disc(s, x, y, r, (250, 252, 255, rng.randint(150, 240)))
        for k in range(3 if i < 6 else 0):  # a few large six-armed flakes close to the viewer
            dx, dy = math.cos(k * math.pi / 3) * r * 4, math.sin(k * math.pi / 3) * r * 4
            _draw_line(s, [(x - dx, y - dy), (x + dx, y + dy)], (250, 252, 255, 220), u * 0.2)


def _paint_vignette(s: _Scene) -> None:
    """Darken the corners a little, which frames the picture like a printed page."""
    mask = Image.radial_gradient("L").resize(s.img.size, Image.Resampling.BILINEAR)
    s.img.paste((10, 8, 20), (0, 0), mask.point(lambda v: max(0, v - 110) // 3))


def _start_scene(text: str, seed: int, width: int, height: int, scale: int) -> _Scene:
    if width < 1 or height < 1:
        raise ValueError(f"picture size must be positive, got {width}x{height}")
    rng = random.Random(seed ^ zlib.crc32(text.encode("utf-8")))
    motifs = detect_motifs(text)
    sky, ground = _choose_palette(motifs, rng)
    img = Image.new("RGB", (width * scale, height * scale))
    return _Scene(img, rng, motifs, frozenset().union(*_expand_prompt(text)), sky, ground)


def render_scene(prompt: str, *, seed: int, width: int, height: int) -> Image.Image:
    """An RGB picture whose palette and motifs follow the prompt's words."""
    k = max(1, min(4, int(math.sqrt(_WORK_PIXELS / max(1, width * height)))))
    s = _start_scene(prompt, seed, width, height, k)
    s.horizon = s.h * (0.8 if s.motifs == ("space",) else s.rng.uniform(0.58, 0.7))
    _paint_sky(s)
    _paint_clouds(s)
    if s.has("mountain"):
        _paint_mountains(s)
    if s.has("sea"):
        _paint_sea(s)
    _paint_backland(s)
    if s.has("forest") and s.land[1] > s.land[0]:
        _paint_trees(s, near=False)
    _paint_structures(s)
    _paint_foreground(s)
    _paint_weather(s)
    _paint_vignette(s)
    return s.img.reduce(k) if k > 1 else s.img


def _load_font(size: int) -> Font:
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def _wrap(text: str, font: Font, max_width: float) -> str:
    """Greedy word wrap by measured width, keeping the author's own line breaks."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}".strip()
            if line and font.getlength(trial) > max_width:
                lines.append(line)
                trial = word
            line = trial
        lines.append(line)
    return "\n".join(lines)


def render_title_card(text: str, *, seed: int, width: int, height: int) -> Image.Image:
    """An RGB card: soft gradient background (palette from the text's words) with the text
    centred, wrapped to fit, legible."""
    s = _start_scene(text, seed, width, height, 1)
    stops = [(0.0, s.sky[0]), (0.6, s.sky[1]), (1.0, s.sky[2])]
    s.img.paste(_make_gradient(stops, width, height))
    for _ in range(14):  # soft bokeh discs keep the card from looking empty
        x, y, r = s.rng.uniform(0, width), s.rng.uniform(0, height), s.u * s.rng.uniform(3, 12)
        _fill_disc(s, x, y, r, (255, 255, 255, s.rng.randint(10, 30)))
    centre = (width / 2, height / 2)
    _paste_glow(s, centre, min(width, height) * 0.45, _mix(s.sky[2], (255, 255, 255), 0.3), 0.35)
    _paint_vignette(s)
    size = max(6, int(height * 0.3))
    while True:  # shrink until the wrapped block fits the safe area
        font, stroke, gap = _load_font(size), max(1, size // 14), size // 4
        body = _wrap(text, font, width * 0.8 - 2 * stroke)
        box = s.draw.multiline_textbbox(
            (0, 0), body, font, spacing=gap, align="center", stroke_width=stroke
        )
        if size <= 6 or (box[2] - box[0] <= width * 0.8 and box[3] - box[1] <= height * 0.7):
            break
        size = max(6, int(size * 0.9))
    s.draw.multiline_text(
        centre,
        body,
        (255, 250, 238),
        font,
        "mm",
        gap,
        "center",
        stroke_width=stroke,
        stroke_fill=(24, 20, 34),
    )
    return s.img
