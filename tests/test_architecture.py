"""The engine stays platform-free: it never imports an adapter or a chat library."""

from __future__ import annotations

import ast
from pathlib import Path

import engine

# The engine reports metrics through engine/telemetry.py and never imports an exporter.
FORBIDDEN = {"bot", "discord", "aiogram", "prometheus_client"}


def imported_roots(source: str) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_engine_never_imports_bot_chat_libraries_or_metrics() -> None:
    files = sorted(Path(engine.__file__).parent.rglob("*.py"))
    assert len(files) > 10
    offenders = {
        str(path): sorted(imported_roots(path.read_text()) & FORBIDDEN)
        for path in files
        if imported_roots(path.read_text()) & FORBIDDEN
    }
    assert offenders == {}


def test_the_check_catches_a_forbidden_import() -> None:
    assert imported_roots("from bot.cli import main\nimport discord.ui\n") == {"bot", "discord"}
    assert imported_roots("import aiogram") == {"aiogram"}
