"""Caption cues for a scene: when each line shows, and the picture of its text.

Lines are wrapped by their rendered width at the places Unicode allows a line to break
(between words, between CJK characters, between Thai words by dictionary), so a caption
never leaves the frame in any script; a piece wider than a whole line (a URL, a long
word) is cut between graphemes. Cues are timed by their share of the speaking time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from engine.media import bidi
from engine.media.fonts import pillow_font
from engine.media.typeset import LineLayout, Run, TypeStyle, direction_of, drawable, layout_line
from engine.models import ENGLISH, Language
from engine.segment import Script, dominant_script, graphemes, line_segments, script_of
from engine.speech import letter_weight

_CUE_LINES = 2
_STROKE = 2
# A cue shorter than this, or this small a share of its neighbour, is a last word
# flashing alone: the last two cues then share their text evenly instead.
_MIN_CUE_S = 1.2
_MIN_SHARE = 0.4


@dataclass(frozen=True)
class Cue:
    """One caption on screen from ``start_s`` to ``end_s``; ``rtl`` is the paragraph's
    direction, the same for every cue of a scene."""

    lines: tuple[str, ...]
    start_s: float
    end_s: float
    rtl: bool = False


@dataclass(frozen=True)
class CaptionStyle:
    """The frame the captions go on and the language they are in."""

    frame_width: int
    frame_height: int
    language: Language = ENGLISH
    font: Path | None = None  # the operator's preferred font, used for what it covers

    @property
    def size(self) -> int:
        """Text height, by the frame's shorter side: a portrait frame's height would make
        captions of three words a line; its width gives them a landscape frame's size."""
        return max(12, min(self.frame_width, self.frame_height) // 18)

    @property
    def bottom(self) -> int:
        """Frame left clear below the caption box.

        Portrait video is watched in apps that lay their own buttons and titles over its
        lowest fifth or so (Shorts, Reels, TikTok, a Telegram story), so captions sit above it.
        """
        if self.frame_height > self.frame_width:
            return self.frame_height // 5
        return self.frame_height // 14

    @property
    def pad(self) -> int:
        return self.size // 2

    @property
    def margin(self) -> int:
        """Frame left clear on each side of the caption box."""
        return self.frame_width // 20

    @property
    def line_width(self) -> int:
        """The widest a line's text may be, so its box keeps the side margins."""
        return self.frame_width - 2 * (self.margin + self.pad + _STROKE)

    def type_style(self, rtl: bool) -> TypeStyle:
        return TypeStyle(self.size, self.language, rtl, self.font)


@dataclass(frozen=True)
class CueLayout:
    """A cue as drawn: its lines' layouts, and the box size around them."""

    lines: tuple[LineLayout, ...]
    type_style: TypeStyle
    width: int
    height: int
    pad: int

    def placed(self) -> Iterator[tuple[Run, float, float]]:
        """Each run with where it is drawn: its left edge and its baseline in the box.

        Lines are centred, one below the other, each as tall as its tallest font."""
        y = self.pad
        for line in self.lines:
            left = (self.width - line.width) / 2
            for run in line.runs:
                yield run, left + run.x, y + line.ascent
            y += line.ascent + line.descent


def plan_cues(text: str, duration_s: float, style: CaptionStyle) -> list[Cue]:
    """Cut narration into cues of at most two lines, timed by their share of speaking time.

    Speech time follows the letters said (``letter_weight``: a Chinese character takes
    longer than a Latin letter; punctuation and emoji nothing), so captions keep in step
    with the narration without any speech-to-text alignment.
    """
    shown = drawable(text)
    rtl = right_to_left(shown)
    type_ = style.type_style(rtl)
    pieces = _pieces(shown, type_, style.line_width)
    groups = _balance_tail(_fill(pieces, type_, style.line_width), type_, style, duration_s)
    lines = [_two_lines(group, type_, style.line_width) for group in groups]
    weights = [_weight("".join(group)) for group in groups]
    total = sum(weights)
    if total <= 0:
        weights, total = [1.0] * len(groups), float(len(groups) or 1)
    cues, start = [], 0.0
    for cue_lines, weight in zip(lines, weights, strict=True):
        end = start + duration_s * weight / total
        cues.append(Cue(cue_lines, round(start, 3), round(end, 3), rtl))
        start = end
    return cues


def layout_cue(cue: Cue, style: CaptionStyle) -> CueLayout:
    """The cue's lines laid out as drawn, and the size of the box around them."""
    type_ = style.type_style(cue.rtl)
    lines = tuple(layout_line(line, type_) for line in cue.lines)
    text_width = max((line.width for line in lines), default=0.0)
    width = min(style.frame_width, int(text_width) + 2 * (style.pad + _STROKE))
    height = sum(line.ascent + line.descent for line in lines) + 2 * style.pad
    return CueLayout(lines, type_, width, height, style.pad)


def render_cue(cue: Cue, style: CaptionStyle) -> Image.Image:
    """The cue's text on a soft dark box, sized to the text, with transparency around it."""
    layout = layout_cue(cue, style)
    image = Image.new("RGBA", (layout.width, layout.height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    pad = style.pad
    draw.rounded_rectangle(
        (0, 0, layout.width - 1, layout.height - 1), radius=pad, fill=(0, 0, 0, 150)
    )
    for run, x, baseline in layout.placed():
        direction, language = direction_of(run, layout.type_style)
        draw.text(
            (x, baseline),
            run.text,
            font=pillow_font(run.face, layout.type_style.size),
            anchor="ls",
            fill=(255, 255, 255, 255),
            stroke_width=_STROKE,
            stroke_fill="black",
            direction=direction,
            language=language,
        )
    return image


def wrap_lines(text: str, type_: TypeStyle, width: int) -> list[str]:
    """The text (emoji left out) in lines no wider than ``width`` pixels, broken where its
    script allows: a title card's lines, laid out as captions are."""
    lines: list[str] = []
    for piece in _pieces(drawable(text), type_, width):
        if lines and _width(lines[-1] + piece, type_) <= width:
            lines[-1] += piece
        else:
            lines.append(piece)
    return [line.strip() for line in lines if line.strip()]


def _pieces(text: str, type_: TypeStyle, limit: int) -> list[str]:
    """The places a line may break, none of them wider than a line.

    Japanese breaks between phrases and Korean at spaces, as their subtitles do; a piece
    still too wide breaks where Unicode allows, and then between graphemes.
    """
    tag = type_.language.tag
    base = type_.language.base
    coarse = line_segments(text, "ja@lw=phrase" if base == "ja" else tag)
    if base == "ko":
        coarse = _keep_hangul_words(coarse)
    out: list[str] = []
    for piece in coarse:
        if _width(piece, type_) <= limit:
            out.append(piece)
            continue
        for segment in line_segments(piece, tag):
            if _width(segment, type_) <= limit:
                out.append(segment)
            else:
                out += _cut_graphemes(segment, type_, limit)
    return out


def _keep_hangul_words(segments: list[str]) -> list[str]:
    """Join segments that Unicode splits between two Hangul syllables of one word."""
    out: list[str] = []
    for segment in segments:
        if out and _is_hangul(out[-1][-1]) and _is_hangul(segment[0]):
            out[-1] += segment
        else:
            out.append(segment)
    return out


def _is_hangul(ch: str) -> bool:
    return script_of(ch) == Script.HANGUL


def _cut_graphemes(segment: str, type_: TypeStyle, limit: int) -> list[str]:
    out: list[str] = []
    chunk = ""
    for grapheme in graphemes(segment):
        if chunk and _width(chunk + grapheme, type_) > limit:
            out.append(chunk)
            chunk = ""
        chunk += grapheme
    return [*out, chunk] if chunk else out


def _fill(pieces: list[str], type_: TypeStyle, limit: int) -> list[list[str]]:
    """Greedy: each cue takes as many pieces as fill its two lines."""
    cues: list[list[str]] = []
    lines: list[list[str]] = []
    for piece in pieces:
        if lines and _width("".join(lines[-1]) + piece, type_) <= limit:
            lines[-1].append(piece)
            continue
        if len(lines) == _CUE_LINES:
            cues.append([p for line in lines for p in line])
            lines = []
        lines.append([piece])
    if lines:
        cues.append([p for line in lines for p in line])
    return cues


def _balance_tail(
    cues: list[list[str]], type_: TypeStyle, style: CaptionStyle, duration_s: float
) -> list[list[str]]:
    """Share the last two cues' text evenly when the last one would flash by.

    Greedy filling leaves whatever is over for the last cue, often one word; split
    at the break nearest half the speaking time instead, so both cues last about as long.
    Kept only if both halves still fit in two lines.
    """
    if len(cues) < 2:
        return cues
    last, before = _weight("".join(cues[-1])), _weight("".join(cues[-2]))
    total = sum(_weight("".join(c)) for c in cues) or 1.0
    if last >= _MIN_SHARE * before and duration_s * last / total >= _MIN_CUE_S:
        return cues
    limit = style.line_width
    tail = cues[-2] + cues[-1]
    half = (last + before) / 2
    # Cuts nearest the middle first: the first whose halves fit is the one to keep.
    cuts = sorted(range(1, len(tail)), key=lambda cut: abs(_weight("".join(tail[:cut])) - half))
    for cut in cuts:
        if _fits(tail[:cut], type_, limit) and _fits(tail[cut:], type_, limit):
            return [*cues[:-2], tail[:cut], tail[cut:]]
    return cues


def _fits(pieces: list[str], type_: TypeStyle, limit: int) -> bool:
    return len(_fill(pieces, type_, limit)) == 1


def _two_lines(pieces: list[str], type_: TypeStyle, limit: int) -> tuple[str, ...]:
    """The cue's pieces on one line if they fit, else on two lines as even as possible,
    so its second line is not a lone word either."""
    whole = "".join(pieces).strip()
    if _width(whole, type_) <= limit or len(pieces) < 2:
        return (whole,)
    best: tuple[float, tuple[str, str]] | None = None
    for cut in range(1, len(pieces)):
        top, bottom = "".join(pieces[:cut]).strip(), "".join(pieces[cut:]).strip()
        widest = max(_width(top, type_), _width(bottom, type_))
        if widest <= limit and (best is None or widest < best[0]):
            best = (widest, (top, bottom))
    return best[1] if best else (whole,)


def _width(text: str, type_: TypeStyle) -> float:
    # Trailing spaces are not drawn at a line's end, so they do not count against it.
    return layout_line(text.rstrip(), type_).width


def right_to_left(text: str) -> bool:
    """The scene's direction, by most of its letters: an Arabic scene that opens with a
    Latin name is still read from the right."""
    script = dominant_script(text)
    if script == Script.OTHER:
        return bidi.is_rtl(text)
    return script in (Script.ARABIC, Script.HEBREW)


def _weight(text: str) -> float:
    return sum(letter_weight(g) for g in graphemes(text))
