"""Imports go one way: cli/wiring -> bot -> operations -> training -> model -> storage.

Parses every module's imports (top-level and inside functions, ``TYPE_CHECKING`` blocks
included: an upward name in a type hint is still an upward dependency) and fails on an
import cycle between modules or an import of a layer above. docs/architecture.md explains
the layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Layers from the top; a package may import its own layer and the ones below it.
LAYERS: list[set[str]] = [
    {"cli"},
    {"wiring"},
    {"bot"},
    {"operations"},
    {"training"},
    {"model"},
    {"storage"},
]
CHECKED = ("cli", "wiring", "bot", "operations", "training", "model", "storage", "migrations")
#: migrations/ may use storage/ (its models), nothing above.
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer} | {"migrations": 5.5}
MAX_LINES = 400


def modules() -> Iterator[tuple[str, Path]]:
    for package in CHECKED:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def imported(name: str, path: Path) -> set[str]:
    """Our modules that ``path`` imports (resolved to module names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in RANK}


def graph() -> dict[str, set[str]]:
    names = dict(modules())
    edges: dict[str, set[str]] = {}
    for name, path in names.items():
        targets = set()
        for module in imported(name, path):
            # "from pkg import mod" names a module; "from mod import func" names the module.
            while module and module not in names:
                module = module.rpartition(".")[0]
            if module and module != name:
                targets.add(module)
        edges[name] = targets
    return edges


def test_no_upward_imports() -> None:
    upward = []
    for name, targets in graph().items():
        for target in targets:
            if RANK[target.split(".")[0]] < RANK[name.split(".")[0]]:
                upward.append(f"{name} imports {target}")
    assert upward == []


def test_no_import_cycles() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == []


def test_bot_holds_no_command_line_code() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for name, path in modules()
        if name.startswith("bot")
        and ("import typer" in path.read_text(encoding="utf-8") or path.stem.startswith("cli"))
    ]
    assert offenders == []


@pytest.mark.parametrize("package", CHECKED)
def test_modules_stay_small(package: str) -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for _, path in modules()
        if path.relative_to(ROOT).parts[0] == package
        and (n := len(path.read_text(encoding="utf-8").splitlines())) >= MAX_LINES
    }
    assert long == {}


def test_the_checker_sees_a_cycle_and_an_upward_import(tmp_path: Path) -> None:
    # The checks above must be able to fail: a known-bad pair is caught.
    bad = tmp_path / "storage_bad.py"
    bad.write_text("from bot.app import serve\nfrom storage import db\n", encoding="utf-8")
    assert {"bot.app", "storage.db"} <= imported("storage.storage_bad", bad)
