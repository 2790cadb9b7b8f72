"""Caption cues for a scene: when each line shows, and the picture of its text."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

_LINE_CHARS = 42
_CUE_LINES = 2


@dataclass(frozen=True)
class Cue:
    """One caption on screen from ``start_s`` to ``end_s``."""

    lines: tuple[str, ...]
    start_s: float
    end_s: float


def plan_cues(text: str, duration_s: float) -> list[Cue]:
    """Cut narration into two-line cues timed by their share of the characters.

    Speech time is close to proportional to characters, so this keeps captions in step
    with the narration without any speech-to-text alignment.
    """
    lines = _wrap_words(text.split(), _LINE_CHARS)
    groups = [tuple(lines[i : i + _CUE_LINES]) for i in range(0, len(lines), _CUE_LINES)]
    weights = [sum(len(line) + 1 for line in group) for group in groups]
    total = sum(weights) or 1
    cues, start = [], 0.0
    for group, weight in zip(groups, weights, strict=True):
        end = start + duration_s * weight / total
        cues.append(Cue(group, round(start, 3), round(end, 3)))
        start = end
    return cues


def render_cue(cue: Cue, *, frame_width: int, frame_height: int, font: Path | None) -> Image.Image:
    """The cue's text on a soft dark box, sized to the text, with transparency around it."""
    size = max(12, frame_height // 18)
    face = _load_font(str(font) if font else None, size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    boxes = [probe.textbbox((0, 0), line, font=face, stroke_width=2) for line in cue.lines]
    line_height = int(size * 1.25)
    pad = size // 2
    text_width = int(max(right - left for left, _, right, _ in boxes))
    width = min(frame_width, text_width + 2 * pad)
    height = line_height * len(cue.lines) + 2 * pad
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=pad, fill=(0, 0, 0, 150))
    for row, (line, (left, _, right, _)) in enumerate(zip(cue.lines, boxes, strict=True)):
        x = int((width - (right - left)) // 2 - left)
        y = pad + row * line_height
        draw.text(
            (x, y), line, font=face, fill=(255, 255, 255, 255), stroke_width=2, stroke_fill="black"
        )
    return image


def _wrap_words(words: list[str], limit: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= limit or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


@lru_cache(maxsize=16)
def _load_font(path: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    candidates = [path] if path else []
    # DejaVu covers Latin, Greek and Cyrillic; Pillow's bundled face is the last resort so a
    # bare machine still gets readable captions.
    candidates += ["DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"]
    for candidate in candidates:
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)
