"""Surface references: a platform prefix and a small JSON object, stored with each job."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, TypeVar

T = TypeVar("T")


def encode(prefix: str, place: Any) -> str:
    """``prefix`` + the dataclass ``place`` as JSON."""
    return prefix + json.dumps(dataclasses.asdict(place), ensure_ascii=False)


def decode(prefix: str, kind: type[T], ref: str) -> T | None:
    """The dataclass a reference names, or None if it is not one of ``prefix``'s."""
    if not ref.startswith(prefix):
        return None
    try:
        return kind(**json.loads(ref[len(prefix) :]))
    except (ValueError, TypeError):
        return None
