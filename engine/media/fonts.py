"""Which installed font draws which character: faces per script, found on disk, by cmap.

Captions must never show a box (.notdef), so a face is used for a character only when
its character map has every code point of it. The faces are Debian's Noto families
(``fonts-noto-core``, ``fonts-noto-cjk``), with DejaVu behind them on a machine without
Noto; each script lists the faces that suit it, best first.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont, TTLibError  # type: ignore[import-untyped]
from PIL import ImageFont, features

from engine.models import Language
from engine.segment import Script

# Where Debian, other Linux distributions and macOS keep fonts, user folders first so a
# font a user installed wins over the system's copy of the same file.
FONT_DIRS: tuple[Path, ...] = (
    Path.home() / ".local/share/fonts",
    Path.home() / ".fonts",
    Path("/usr/local/share/fonts"),
    Path("/usr/share/fonts"),
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts"),
)
_FONT_SUFFIXES = (".ttf", ".otf", ".ttc")

# raqm shapes Arabic and Indic text and orders right-to-left runs; without it Pillow draws
# letters one by one, unjoined. Pillow's wheels include it.
LAYOUT = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC

_CJK = "NotoSansCJK"  # one collection for Han, kana and Hangul; the face picks the region
_LATIN = ("NotoSans", "DejaVuSans")
_BY_SCRIPT: dict[Script, tuple[str, ...]] = {
    Script.LATIN: _LATIN,
    Script.CYRILLIC: _LATIN,
    Script.GREEK: _LATIN,
    Script.ARMENIAN: ("NotoSansArmenian", *_LATIN),
    Script.GEORGIAN: ("NotoSansGeorgian", *_LATIN),
    # Naskh is the style Arabic and Persian readers read books and subtitles in.
    Script.ARABIC: ("NotoNaskhArabic", "NotoSansArabic"),
    Script.HEBREW: ("NotoSansHebrew",),
    Script.DEVANAGARI: ("NotoSansDevanagari",),
    Script.BENGALI: ("NotoSansBengali",),
    Script.GURMUKHI: ("NotoSansGurmukhi",),
    Script.GUJARATI: ("NotoSansGujarati",),
    Script.TAMIL: ("NotoSansTamil",),
    Script.TELUGU: ("NotoSansTelugu",),
    Script.KANNADA: ("NotoSansKannada",),
    Script.MALAYALAM: ("NotoSansMalayalam",),
    Script.SINHALA: ("NotoSansSinhala",),
    Script.THAI: ("NotoSansThai", "NotoLoopedThai"),
    Script.LAO: ("NotoSansLao",),
    Script.KHMER: ("NotoSansKhmer",),
    Script.MYANMAR: ("NotoSansMyanmar",),
    Script.ETHIOPIC: ("NotoSansEthiopic",),
    Script.HAN: (_CJK,),
    Script.KANA: (_CJK,),
    Script.HANGUL: (_CJK,),
}
# Tried after a script's own faces: punctuation, symbols and stray letters of any script.
_FALLBACK = (*_LATIN, "NotoSansSymbols", "NotoSansSymbols2", "NotoSansMath", _CJK)

# The region of a CJK collection face by language: Japanese kanji, Korean hanja and the
# two Chinese standards draw the same code point differently.
_CJK_REGION = {"ja": "JP", "ko": "KR", "zh": "SC"}
_TRADITIONAL = frozenset({"Hant", "TW", "HK", "MO"})


@dataclass(frozen=True)
class Face:
    """One face of a font file (a .ttc collection holds several; ``index`` picks one)."""

    path: Path
    index: int = 0


def faces_for(
    script: Script, language: Language, *, preferred: Path | None = None
) -> tuple[Face, ...]:
    """The faces to draw a run of ``script`` with, best first, that exist on this machine.

    ``preferred`` (the operator's caption font) comes first, for whatever it covers.
    """
    return _faces(script, language.tag, preferred)


def covers(face: Face, grapheme: str) -> bool:
    """Whether the face has a glyph for every code point of the grapheme.

    Default-ignorable code points (joiners, variation selectors, direction marks) are not
    drawn at all, so they need no glyph: HarfBuzz hides them when the font lacks them.
    """
    cmap = character_map(face)
    return all(ord(ch) in cmap or _ignorable(ch) for ch in grapheme)


@lru_cache(maxsize=64)
def character_map(face: Face) -> frozenset[int]:
    """The code points the face has glyphs for (read once per face: a CJK cmap is large)."""
    try:
        with TTFont(face.path, fontNumber=face.index, lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except (OSError, TTLibError):
        return frozenset()


def pillow_font(face: Face, size: int) -> ImageFont.FreeTypeFont:
    """The face at a pixel size, loaded once per thread.

    Loading a CJK collection takes milliseconds, so fonts are kept; but one FreeType face
    must not be used by two threads at once, and parallel scenes draw their captions in
    parallel threads.
    """
    fonts: dict[tuple[Face, int], ImageFont.FreeTypeFont] | None = getattr(_LOADED, "fonts", None)
    if fonts is None:
        fonts = _LOADED.fonts = {}
    font = fonts.get((face, size))
    if font is None:
        font = ImageFont.truetype(str(face.path), size, index=face.index, layout_engine=LAYOUT)
        fonts[(face, size)] = font
    return font


_LOADED = threading.local()


def font_files(dirs: Iterable[Path] = FONT_DIRS) -> dict[str, Path]:
    """Every font file under the folders, by file name without suffix; first folder wins."""
    return dict(_index(tuple(dirs)))


@lru_cache(maxsize=8)
def _index(dirs: tuple[Path, ...]) -> tuple[tuple[str, Path], ...]:
    found: dict[str, Path] = {}
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in _FONT_SUFFIXES and path.is_file():
                found.setdefault(path.stem, path)
    return tuple(found.items())


@lru_cache(maxsize=256)
def _faces(script: Script, tag: str, preferred: Path | None) -> tuple[Face, ...]:
    files = font_files()
    out: list[Face] = [Face(preferred)] if preferred and preferred.is_file() else []
    for family in (*_BY_SCRIPT.get(script, ()), *_FALLBACK):
        face = _bold_face(family, tag, files)
        if face is not None and face not in out:
            out.append(face)
    return tuple(out)


def _bold_face(family: str, tag: str, files: dict[str, Path]) -> Face | None:
    # Captions are read over moving pictures: bold where the family has it.
    path = files.get(f"{family}-Bold") or files.get(f"{family}-Regular") or files.get(family)
    if path is None:
        return None
    if path.suffix.lower() != ".ttc":
        return Face(path)
    return Face(path, _collection_index(path, _region(tag)))


def _region(tag: str) -> str:
    base, *subtags = tag.split("-")
    if base == "zh" and _TRADITIONAL.intersection(subtags):
        return "HK" if "HK" in subtags else "TC"
    return _CJK_REGION.get(base, "SC")


@lru_cache(maxsize=32)
def _collection_index(path: Path, region: str) -> int:
    """The first face of a collection whose family ends in the region ("Noto Sans CJK JP"),
    else the first face; the proportional faces come before the monospaced ones."""
    try:
        collection = TTCollection(path, lazy=True)
    except (OSError, TTLibError):
        return 0
    with collection:
        for index, font in enumerate(collection.fonts):
            if str(font["name"].getDebugName(1) or "").endswith(f" {region}"):
                return index
    return 0


def _ignorable(ch: str) -> bool:
    code = ord(ch)
    return (
        unicodedata.category(ch) == "Cf"
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or code == 0x034F
    )
