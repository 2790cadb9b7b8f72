"""What every benchmark prints: how to rerun it, one figure a line, then all of them as JSON."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Mapping, Sequence


def p99(values: Sequence[float]) -> float:
    """The 99th percentile by nearest rank (the largest value below the top 1 %)."""
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def machine() -> str:
    """The machine the figures were measured on."""
    return f"{os.cpu_count()} cores, Python {platform.python_version()}"


def report(script: str, figures: Mapping[str, object]) -> None:
    """Print the command, the figures aligned, and the JSON line other tools read."""
    print(f"command: python bench/{script} " + " ".join(sys.argv[1:]))
    width = max(len(name) for name in figures)
    for name, value in figures.items():
        print(f"{name:>{width}}: {value}")
    print(json.dumps(figures))
