"""render_title_card: a soft gradient card with the text wrapped and centred to fit."""

from __future__ import annotations

from PIL import Image, ImageFont

from engine.media.art.canvas import (
    fill_disc,
    make_gradient,
    paint_vignette,
    paste_glow,
    start_scene,
)
from engine.media.art.palette import mix

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


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
    s = start_scene(text, seed, width, height, 1)
    stops = [(0.0, s.sky[0]), (0.6, s.sky[1]), (1.0, s.sky[2])]
    s.img.paste(make_gradient(stops, width, height))
    for _ in range(14):  # soft bokeh discs keep the card from looking empty
        x, y, r = s.rng.uniform(0, width), s.rng.uniform(0, height), s.u * s.rng.uniform(3, 12)
        fill_disc(s, x, y, r, (255, 255, 255, s.rng.randint(10, 30)))
    centre = (width / 2, height / 2)
    paste_glow(s, centre, min(width, height) * 0.45, mix(s.sky[2], (255, 255, 255), 0.3), 0.35)
    paint_vignette(s)
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
