"""Right-to-left and left-to-right text on one line, in the order the eye reads it.

This is the Unicode Bidirectional Algorithm (UAX #9) for one line of plain text: the
weak-type rules W1 to W7, the neutral rules N1 to N2, the implicit levels I1 to I2 and the
reordering L1 to L2. Explicit embeddings and isolates are left out (a story's text has no
use for them, and HarfBuzz draws nothing for them), and so is bracket pairing
(N0), which only matters for a bracket that encloses text of the other direction.

raqm orders text inside one font run; this orders the runs, because one line of captions
can need several fonts (Arabic letters from one, a Latin name from another).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

_STRONG_R = frozenset({"R", "AL"})
_NUMBER = frozenset({"EN", "AN"})
_SEPARATOR = frozenset({"ES", "CS"})


def is_rtl(text: str) -> bool:
    """Whether the text's first strong letter is right-to-left (UAX #9 rules P2 to P3)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return False
        if kind in _STRONG_R:
            return True
    return False


def levels(units: Sequence[str], *, rtl: bool) -> list[int]:
    """The embedding level of each unit (a grapheme: its first code point decides), on a
    line whose paragraph direction is right-to-left when ``rtl``; odd levels read right to
    left."""
    base = 1 if rtl else 0
    sos = "R" if rtl else "L"
    kinds = [unicodedata.bidirectional(u[0]) if u else "ON" for u in units]
    # W1: an orphan combining mark takes the type of what precedes it.
    for i, kind in enumerate(kinds):
        if kind == "NSM":
            kinds[i] = kinds[i - 1] if i else sos
    # W2, W3: a European number after Arabic letters is an Arabic number; AL is R.
    last_strong = sos
    for i, kind in enumerate(kinds):
        if kind in ("L", "R", "AL"):
            last_strong = kind
        elif kind == "EN" and last_strong == "AL":
            kinds[i] = "AN"
        if kinds[i] == "AL":
            kinds[i] = "R"
    # W4: one separator between two numbers of a type joins them ("1,000", "3.5").
    for i in range(1, len(kinds) - 1):
        before, after = kinds[i - 1], kinds[i + 1]
        joins = kinds[i] == "CS" or before == "EN"  # ES joins European numbers only
        if kinds[i] in _SEPARATOR and before == after and before in _NUMBER and joins:
            kinds[i] = before
    # W5: currency and percent signs next to a European number are part of it.
    for i, kind in enumerate(kinds):
        if kind == "EN":
            for step in (-1, 1):
                j = i + step
                while 0 <= j < len(kinds) and kinds[j] == "ET":
                    kinds[j] = "EN"
                    j += step
    # W6 leaves the rest neutral; W7: a European number in left-to-right context is L.
    last_strong = sos
    for i, kind in enumerate(kinds):
        if kind in ("L", "R"):
            last_strong = kind
        elif kind == "EN" and last_strong == "L":
            kinds[i] = "L"
    resolved = _neutrals(kinds, sos)
    out = [_implicit(kind, base) for kind in resolved]
    # L1: spaces at the end of the line sit at the paragraph's level.
    for i in range(len(units) - 1, -1, -1):
        if not units[i].isspace():
            break
        out[i] = base
    return out


def visual_order(line_levels: Sequence[int]) -> list[int]:
    """Indices of the units from left to right (UAX #9 rule L2)."""
    order = list(range(len(line_levels)))
    if not order:
        return order
    highest = max(line_levels)
    lowest_odd = min((lvl for lvl in line_levels if lvl % 2), default=highest + 1)
    for level in range(highest, lowest_odd - 1, -1):
        i = 0
        while i < len(order):
            if line_levels[order[i]] >= level:
                j = i
                while j < len(order) and line_levels[order[j]] >= level:
                    j += 1
                order[i:j] = reversed(order[i:j])
                i = j
            else:
                i += 1
    return order


def _neutrals(kinds: list[str], sos: str) -> list[str]:
    """N1 to N2: neutrals between two strong types of one direction take it (numbers count as
    right-to-left); the others take the paragraph's direction."""
    strong = ["L" if k == "L" else "R" if k in ("R", "EN", "AN") else None for k in kinds]
    out = list(kinds)
    i = 0
    while i < len(kinds):
        if strong[i] is not None:
            i += 1
            continue
        j = i
        while j < len(kinds) and strong[j] is None:
            j += 1
        before = (strong[i - 1] if i else None) or sos
        after = (strong[j] if j < len(kinds) else None) or sos
        direction = before if before == after else sos
        out[i:j] = [direction] * (j - i)
        i = j
    return out


def _implicit(kind: str, base: int) -> int:
    if base % 2 == 0:
        return base + 1 if kind == "R" else base + 2 if kind in _NUMBER else base
    return base + 1 if kind in ("L", "EN", "AN") else base
