"""The layers hold: which package may import which, and no import cycles anywhere.

    bot ──▶ engine (its public face, engine.books, media, providers to build them)
    engine core ──▶ ports ◀── providers        storage and journal are the core's alone

Imports are read from the source with ``ast`` (every import: module level, inside
functions and under ``if TYPE_CHECKING:``), so a rule cannot be dodged by importing late.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "bot")

# The engine reports metrics through engine/telemetry.py and never imports an exporter.
ENGINE_FORBIDDEN_ROOTS = {"bot", "discord", "aiogram", "prometheus_client"}
# What providers may not see: they get a RequestTicket (engine.ports), never the books.
PROVIDER_FORBIDDEN = ("engine.storage", "engine.journal", "engine.cache", "engine.books")
PROVIDER_FAMILY = "engine.providers"
STORAGE = "engine.storage"


def module_sources(root: Path = ROOT) -> dict[str, str]:
    """Every module of the project's packages, by dotted name, with its source."""
    sources = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            sources[name] = path.read_text(encoding="utf-8")
    return sources


def imports_of(module: str, source: str, known: Iterable[str]) -> set[str]:
    """The modules ``module`` imports: ``from a import b`` names ``a.b`` when that is a module."""
    names = set(known)
    package = module if _is_package(module, source) else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in names else base)
    return found


def _is_package(module: str, source: str) -> bool:
    return (ROOT / module.replace(".", "/") / "__init__.py").is_file()


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def import_graph(sources: Mapping[str, str]) -> dict[str, set[str]]:
    """Module → the project modules it imports."""
    return {
        module: {target for target in imports_of(module, source, sources) if target in sources}
        for module, source in sources.items()
    }


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import each other in a loop (Tarjan's components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _reaches_storage(source: str) -> bool:
    """``something.storage`` anywhere: adapters ask the engine and its books instead."""
    return any(
        isinstance(node, ast.Attribute) and node.attr in {"storage", "_storage"}
        for node in ast.walk(ast.parse(source))
    )


def violations(sources: Mapping[str, str]) -> dict[str, list[str]]:
    """Every broken layer rule, as ``rule → ["importer → imported", …]``."""
    broken: dict[str, list[str]] = {}

    def note(rule: str, importer: str, imported: str) -> None:
        broken.setdefault(rule, []).append(f"{importer} → {imported}")

    for module, source in sources.items():
        for imported in sorted(imports_of(module, source, sources)):
            root = imported.split(".")[0]
            if _within(module, "engine") and root in ENGINE_FORBIDDEN_ROOTS:
                note("the engine imports a chat library, bot or an exporter", module, imported)
            is_provider = _within(module, PROVIDER_FAMILY)
            if _within(module, "engine") and not is_provider and _within(imported, PROVIDER_FAMILY):
                note("the engine core imports a provider family", module, imported)
            if is_provider and any(_within(imported, p) for p in PROVIDER_FORBIDDEN):
                note(
                    "a provider imports storage, the journal, the cache or the books",
                    module,
                    imported,
                )
            if _within(module, "bot") and _within(imported, STORAGE):
                note("an adapter imports engine.storage", module, imported)
        if _within(module, "bot") and _reaches_storage(source):
            note("an adapter reaches the engine's storage through an attribute", module, "storage")
    for package in PACKAGES:
        graph = import_graph({m: s for m, s in sources.items() if _within(m, package)})
        for group in cycles(graph):
            broken.setdefault(f"an import cycle in {package}/", []).append(" ↔ ".join(group))
    return broken


def test_the_project_keeps_its_layers_and_has_no_import_cycles() -> None:
    sources = module_sources()
    assert len([m for m in sources if m.startswith("engine.providers")]) > 5
    assert len([m for m in sources if m.startswith("bot.")]) > 10
    assert violations(sources) == {}


# Each rule, shown to catch what it is for, on the real tree with one line added.


def with_line(module: str, line: str) -> dict[str, str]:
    sources = module_sources()
    sources[module] = sources[module] + "\n" + line + "\n"
    return sources


@pytest.mark.parametrize(
    ("module", "line", "rule"),
    [
        ("engine.pipeline", "import aiogram", "the engine imports a chat library"),
        ("engine.scenes", "from engine.providers.local import LocalVoice", "provider family"),
        ("engine.providers.fal", "from engine.storage.jobs import JobStore", "a provider imports"),
        ("engine.providers.openai", "from engine.journal import Journal", "a provider imports"),
        ("bot.run", "from engine.storage import Storage", "an adapter imports engine.storage"),
        ("bot.admin", "rows = books.storage.db", "an adapter reaches the engine's storage"),
        ("engine.models", "from engine.job import JobRun", "an import cycle in engine/"),
        (
            "engine.storage.migrations",
            "if TYPE_CHECKING:\n    from engine.storage.db import Transaction",
            "an import cycle in engine/",
        ),
        ("bot.pacing", "from bot.run import run", "an import cycle in bot/"),
    ],
)
def test_each_rule_catches_a_forbidden_import(module: str, line: str, rule: str) -> None:
    broken = violations(with_line(module, line))
    assert [name for name in broken if rule in name], broken


def test_from_imports_resolve_to_the_module_they_name() -> None:
    known = {"engine", "engine.media", "engine.media.ffmpeg", "engine.models"}
    source = "from engine.media import ffmpeg\nfrom engine.models import Stage\nimport os\n"
    assert imports_of("bot.x", source, known) == {"engine.media.ffmpeg", "engine.models", "os"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
