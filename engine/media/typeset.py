"""One line of caption text laid out as runs of one font and one direction, left to right.

The renderer draws exactly these runs, and tests read them to see which font drew what.
A run is the longest stretch of graphemes of one script and one bidi level that one face
covers entirely; where no face covers the whole stretch it is cut where the covering face
changes. A grapheme that no face covers, and every emoji, is left out: never a box.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from engine.media import bidi
from engine.media.fonts import LAYOUT, Face, covers, faces_for, pillow_font
from engine.models import Language
from engine.segment import Script, graphemes, is_emoji, script_of


@dataclass(frozen=True)
class Run:
    """Text drawn with one face in one direction, starting ``x`` pixels from the left."""

    text: str
    face: Face
    rtl: bool
    x: float
    width: float


@dataclass(frozen=True)
class LineLayout:
    """A line's runs in visual order (left to right), its advance width and font extents."""

    runs: tuple[Run, ...]
    width: float
    ascent: int
    descent: int

    @property
    def text(self) -> str:
        """What is drawn, in visual run order."""
        return "".join(run.text for run in self.runs)


@dataclass(frozen=True)
class TypeStyle:
    """Everything that decides how a line is laid out, besides its text."""

    size: int
    language: Language
    rtl: bool = False  # the paragraph's direction: most of the scene's letters decide
    preferred: Path | None = None  # the operator's caption font, first for what it covers


def drawable(text: str) -> str:
    """The text without its emoji, spaces collapsed: what a caption shows."""
    kept = "".join(g for g in graphemes(text) if not is_emoji(g))
    return " ".join(kept.split())


@lru_cache(maxsize=4096)
def layout_line(text: str, style: TypeStyle) -> LineLayout:
    """Lay out one line: fonts per run, bidi order, advances (cached: wrapping asks often)."""
    units = [g for g in graphemes(text) if not is_emoji(g)]
    line_levels = bidi.levels(units, rtl=style.rtl)
    scripts = _scripts(units, style.language)
    pieces: list[tuple[str, Face, int]] = []  # logical order
    start = 0
    for end in range(1, len(units) + 1):
        if end == len(units) or (scripts[end], line_levels[end]) != (
            scripts[start],
            line_levels[start],
        ):
            faces = faces_for(scripts[start], style.language, preferred=style.preferred)
            for run_text, face in _cover(units[start:end], faces):
                if pieces and pieces[-1][1:] == (face, line_levels[start]):
                    pieces[-1] = (pieces[-1][0] + run_text, face, line_levels[start])
                else:
                    pieces.append((run_text, face, line_levels[start]))
            start = end
    order = bidi.visual_order([level for _, _, level in pieces])
    runs: list[Run] = []
    x = 0.0
    for index in order:
        run_text, face, level = pieces[index]
        width = _advance(run_text, face, style.size, level % 2 == 1, style.language.tag)
        runs.append(Run(run_text, face, level % 2 == 1, x, width))
        x += width
    ascent, descent = _extents([run.face for run in runs], style)
    return LineLayout(tuple(runs), x, ascent, descent)


def direction_of(run: Run, style: TypeStyle) -> tuple[str | None, str | None]:
    """Pillow's direction and language for a run (raqm only: the basic layout has neither)."""
    if LAYOUT != ImageFont.Layout.RAQM:
        return None, None
    return ("rtl" if run.rtl else "ltr"), style.language.tag


def _scripts(units: list[str], language: Language) -> list[Script]:
    """Each grapheme's script; digits, spaces and punctuation join the script around them,
    so "مرحبا، 2024" stays one run of one font."""
    own = [script_of(u[0]) for u in units]
    out: list[Script] = []
    for script in own:
        out.append(script if script != Script.OTHER or not out else out[-1])
    first = next((s for s in own if s != Script.OTHER), Script.OTHER)
    return [first if s == Script.OTHER else s for s in out]


def _cover(units: list[str], faces: tuple[Face, ...]) -> list[tuple[str, Face]]:
    """The stretch as (text, face) pieces, in one face where one will do.

    The face is the first that has all of the stretch's letters; spaces, digits and
    punctuation it lacks (Arabic fonts have no brackets) are drawn by the first face that
    has them, so an Arabic sentence in brackets keeps its Arabic face. Letters no face
    has alone are drawn by the first face that has each.
    """
    letters = [u for u in units if script_of(u[0]) != Script.OTHER]
    main = next((f for f in faces if all(covers(f, u) for u in letters)), None)
    pieces: list[tuple[str, Face]] = []
    for unit in units:
        if main is not None and covers(main, unit):
            face: Face | None = main
        else:
            face = next((f for f in faces if covers(f, unit)), None)
        if face is None:
            continue  # no installed font has it: leave it out rather than draw a box
        if pieces and pieces[-1][1] == face:
            pieces[-1] = (pieces[-1][0] + unit, face)
        else:
            pieces.append((unit, face))
    return pieces


@lru_cache(maxsize=8192)
def _advance(text: str, face: Face, size: int, rtl: bool, language: str) -> float:
    font = pillow_font(face, size)
    if LAYOUT != ImageFont.Layout.RAQM:
        return float(font.getlength(text))
    return float(font.getlength(text, direction="rtl" if rtl else "ltr", language=language))


def _extents(faces: list[Face], style: TypeStyle) -> tuple[int, int]:
    if not faces:
        fallback = faces_for(Script.LATIN, style.language, preferred=style.preferred)
        faces = list(fallback[:1])
    if not faces:
        return style.size, style.size // 4
    metrics = [pillow_font(face, style.size).getmetrics() for face in faces]
    return max(a for a, _ in metrics), max(d for _, d in metrics)
