"""The scene being painted and shared drawing helpers: shapes, glows, gradients, supersampling."""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFilter

from engine.media.art.palette import RGB, choose_palette, measure_luma, mix, scale_rgb
from engine.media.art.setting import BASE_MOTIFS, Setting, read_setting
from engine.media.art.vocabulary import detect_motifs, expand_prompt

Point = tuple[float, float]
# Supersampling smooths ImageDraw's hard edges; cap the work near the 2560x1440 budget.
_WORK_PIXELS = 3_700_000


@dataclass
class Scene:
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
    setting: Setting | None = None  # the whole story's place, drawn under every scene
    draw: ImageDraw.ImageDraw = field(init=False)
    w: int = field(init=False)
    h: int = field(init=False)
    u: float = field(init=False)  # layout unit: a hundredth of the shorter side

    def __post_init__(self) -> None:
        self.draw = ImageDraw.Draw(self.img, "RGBA")
        self.w, self.h = self.img.size
        self.u = min(self.img.size) / 100

    @property
    def reach(self) -> float:
        """How much taller than in a landscape frame upright things may stand: a portrait
        frame has room above the horizon that a lighthouse or a skyline should fill."""
        return float(max(1.0, self.h / self.w) ** 0.5)

    @property
    def dark(self) -> bool:
        return measure_luma(self.sky[1]) < 100

    def has(self, *names: str) -> bool:
        return any(name in self.motifs or name in self.words for name in names)

    def lit(self, c: RGB, haze: float = 0.2) -> RGB:
        """Tint a colour by the sky so every object shares the scene's light."""
        return scale_rgb(
            mix(c, self.sky[2], haze), 0.45 + 0.55 * min(1.0, measure_luma(self.sky[1]) / 150)
        )

    def ground_y(self, x: float) -> float:
        pos = max(0.0, min(1.0, x / self.w)) * (len(self.surface) - 1)
        i = min(int(pos), len(self.surface) - 2)
        return self.surface[i] + (self.surface[i + 1] - self.surface[i]) * (pos - i)


def fill_disc(s: Scene, x: float, y: float, r: float, fill: tuple[int, ...]) -> None:
    s.draw.ellipse((x - r, y - r, x + r, y + r), fill)


def draw_line(s: Scene, pts: list[Point], fill: tuple[int, ...], width: float) -> None:
    s.draw.line(pts, fill, max(1, int(width)), joint="curve")


def place(at: Point, unit: float, flip: bool, turn: float, x: float, y: float) -> Point:
    x, y = x * unit * (-1 if flip else 1), y * unit
    cos, sin = math.cos(turn), math.sin(turn)
    return (at[0] + x * cos - y * sin, at[1] + x * sin + y * cos)


def draw_shape(
    s: Scene,
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
    s.draw.polygon([place(at, unit, flip, turn, float(x), float(y)) for x, y in pairs], fill)


def make_gradient(stops: list[tuple[float, RGB]], width: int, height: int) -> Image.Image:
    column: list[RGB] = []
    for y in range(height):
        t = y / max(1, height - 1)
        i = max(j for j, stop in enumerate(stops) if stop[0] <= t or j == 0)
        (t0, c0), (t1, c1) = stops[i], stops[min(i + 1, len(stops) - 1)]
        column.append(mix(c0, c1, (t - t0) / (t1 - t0) if t1 > t0 else 0.0))
    strip = Image.new("RGB", (1, height))
    strip.putdata(column)
    return strip.resize((width, height), Image.Resampling.NEAREST)


def paste_glow(s: Scene, at: Point, radius: float, colour: RGB, strength: float) -> None:
    """Soft light through a blurred disc, blurred small and enlarged because blur is costly."""
    reach, small = max(2, int(radius * 2.2)), max(8, int(radius * 0.55))
    mask = Image.new("L", (small * 2, small * 2), 0)
    ImageDraw.Draw(mask).ellipse((small * 0.55,) * 2 + (small * 1.45,) * 2, int(255 * strength))
    mask = mask.filter(ImageFilter.GaussianBlur(small * 0.3)).resize((reach * 2, reach * 2))
    x, y = int(at[0]) - reach, int(at[1]) - reach
    s.img.paste(colour, (x, y, x + reach * 2, y + reach * 2), mask)


def paste_crescent(s: Scene, at: Point, r: float, colour: RGB, alpha: int, bite: float) -> None:
    """A disc with an offset disc bitten out: crescent moons and planet shadows."""
    size = max(2, int(r * 2))
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, size - 1, size - 1), alpha)
    if bite:
        ImageDraw.Draw(mask).ellipse((bite * size, -0.05 * size, (1 + bite) * size, size), 0)
    x, y = int(at[0] - r), int(at[1] - r)
    s.img.paste(colour, (x, y, x + size, y + size), mask)


def outline_flame(x: float, base: float, width: float, height: float, lean: float) -> list[Point]:
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


def paint_vignette(s: Scene) -> None:
    """Darken the corners a little, which frames the picture like a printed page."""
    mask = Image.radial_gradient("L").resize(s.img.size, Image.Resampling.BILINEAR)
    s.img.paste((10, 8, 20), (0, 0), mask.point(lambda v: max(0, v - 110) // 3))


def supersampling(width: int, height: int) -> int:
    """How many times larger to paint a picture of this size before reducing it."""
    return max(1, min(4, int(math.sqrt(_WORK_PIXELS / max(1, width * height)))))


def start_scene(text: str, seed: int, width: int, height: int, scale: int) -> Scene:
    if width < 1 or height < 1:
        raise ValueError(f"picture size must be positive, got {width}x{height}")
    rng = random.Random(seed ^ zlib.crc32(text.encode("utf-8")))
    setting = read_setting(text)
    # The scene's own motifs come first, so its own time of day and terrain lead the palette;
    # the setting's follow, so a scene that names no place still stands in the story's.
    base = BASE_MOTIFS[setting] if setting else ()
    motifs = tuple(dict.fromkeys((*detect_motifs(text), *base)))
    words = frozenset().union(*expand_prompt(text), {setting.value} if setting else ())
    sky, ground = choose_palette(motifs, rng)
    img = Image.new("RGB", (width * scale, height * scale))
    return Scene(img, rng, motifs, words, sky, ground, setting=setting)
