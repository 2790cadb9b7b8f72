"""render_title_card: a soft gradient card with the text wrapped and centred to fit."""

from __future__ import annotations

from PIL import Image

from engine.media.art.canvas import (
    fill_disc,
    make_gradient,
    paint_vignette,
    paste_glow,
    start_scene,
)
from engine.media.art.palette import mix
from engine.media.captions import right_to_left, wrap_lines
from engine.media.fonts import pillow_font
from engine.media.typeset import TypeStyle, direction_of, layout_line
from engine.models import ENGLISH, Language


def render_title_card(
    text: str, *, seed: int, width: int, height: int, language: Language = ENGLISH
) -> Image.Image:
    """An RGB card: soft gradient background (palette from the text's words) with the text
    centred, wrapped to fit, legible, in fonts that have its script's letters."""
    s = start_scene(text, seed, width, height, 1)
    stops = [(0.0, s.sky[0]), (0.6, s.sky[1]), (1.0, s.sky[2])]
    s.img.paste(make_gradient(stops, width, height))
    for _ in range(14):  # soft bokeh discs keep the card from looking empty
        x, y, r = s.rng.uniform(0, width), s.rng.uniform(0, height), s.u * s.rng.uniform(3, 12)
        fill_disc(s, x, y, r, (255, 255, 255, s.rng.randint(10, 30)))
    centre = (width / 2, height / 2)
    paste_glow(s, centre, min(width, height) * 0.45, mix(s.sky[2], (255, 255, 255), 0.3), 0.35)
    paint_vignette(s)
    rtl = right_to_left(text)
    size = max(6, int(height * 0.3))
    while True:  # shrink until the wrapped block fits the safe area
        type_ = TypeStyle(size, language, rtl)
        stroke = max(1, size // 14)
        lines = [layout_line(line, type_) for line in wrap_lines(text, type_, int(width * 0.8))]
        block = sum(line.ascent + line.descent for line in lines)
        widest = max((line.width for line in lines), default=0.0)
        if size <= 6 or (widest + 2 * stroke <= width * 0.8 and block <= height * 0.7):
            break
        size = max(6, int(size * 0.9))
    y = (height - block) / 2
    for line in lines:
        left = (width - line.width) / 2
        for run in line.runs:
            direction, tag = direction_of(run, type_)
            s.draw.text(
                (left + run.x, y + line.ascent),
                run.text,
                (255, 250, 238),
                pillow_font(run.face, size),
                "ls",
                stroke_width=stroke,
                stroke_fill=(24, 20, 34),
                direction=direction,
                language=tag,
            )
        y += line.ascent + line.descent
    return s.img
