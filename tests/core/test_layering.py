"""The rulebook of core/, read from the source: imports point one way, one definition per check."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
CLI = CORE / "cli"


def _modules() -> list[tuple[Path, ast.Module]]:
    return [
        (path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(CORE.rglob("*.py"))
    ]


def _imported(tree: ast.Module) -> list[tuple[int, str]]:
    """Every module an ``import`` / ``from ... import`` names, at any depth (lazy imports too)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _is_within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_scan_sees_the_tree() -> None:
    names = {path.relative_to(CORE).as_posix() for path, _ in _modules()}
    assert {"validate.py", "io/data.py", "scores/registry.py", "cli/__init__.py"} <= names


def test_only_the_cli_imports_the_cli() -> None:
    """The library never calls back into its command line (``python -m core`` is the one door)."""
    allowed = {CORE / "__main__.py"}
    offenders = [
        f"{path.relative_to(CORE.parent)}:{line} imports {name}"
        for path, tree in _modules()
        if CLI not in path.parents and path not in allowed
        for line, name in _imported(tree)
        if _is_within(name, "core.cli")
    ]
    assert not offenders, offenders


def test_core_never_imports_streamlit() -> None:
    offenders = [
        f"{path.relative_to(CORE.parent)}:{line} imports {name}"
        for path, tree in _modules()
        for line, name in _imported(tree)
        if _is_within(name, "streamlit")
    ]
    assert not offenders, offenders


def test_each_check_helper_is_defined_once() -> None:
    """``check_x`` / ``_check_x`` (a public check and a private twin count as the same rule)."""
    where: dict[str, list[str]] = defaultdict(list)
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                node.name.startswith(("check_", "_check_"))
            ):
                where[node.name.lstrip("_")].append(
                    f"{path.relative_to(CORE.parent)}:{node.lineno}"
                )
    assert where, "no check helpers found: the scan is broken"
    repeated = {name: places for name, places in where.items() if len(places) > 1}
    assert not repeated, repeated
