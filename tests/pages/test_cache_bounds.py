"""Every Streamlit cache in the app is bounded, so server memory cannot grow without limit."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHES = ("cache_data", "cache_resource")


def _app_files() -> list[Path]:
    return sorted([ROOT / "app.py", *(ROOT / "ui").rglob("*.py"), *(ROOT / "pages").rglob("*.py")])


def _cache_calls(tree: ast.AST) -> list[ast.expr]:
    """Every use of ``st.cache_data`` / ``st.cache_resource``: bare decorator or call."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_cache(node.func):
            found.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += [d for d in node.decorator_list if _is_cache(d)]
    return found


def _is_cache(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in CACHES


def test_every_cache_has_max_entries() -> None:
    unbounded: list[str] = []
    n_caches = 0
    for path in _app_files():
        for node in _cache_calls(ast.parse(path.read_text(encoding="utf-8"))):
            n_caches += 1
            keywords = {kw.arg for kw in node.keywords} if isinstance(node, ast.Call) else set()
            if "max_entries" not in keywords:
                unbounded.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert n_caches >= 10, "the scan found too few caches: is it looking in the right place?"
    assert not unbounded, f"caches without max_entries: {unbounded}"


def test_data_caches_expire() -> None:
    tree = ast.parse((ROOT / "ui" / "cache.py").read_text(encoding="utf-8"))
    for node in _cache_calls(tree):
        assert isinstance(node, ast.Call)
        if isinstance(node.func, ast.Attribute) and node.func.attr == "cache_data":
            assert "ttl" in {kw.arg for kw in node.keywords}, f"ui/cache.py:{node.lineno}"


def test_scan_catches_an_unbounded_cache() -> None:
    source = "import streamlit as st\n@st.cache_data\ndef f(): ...\n@st.cache_resource(ttl=5)\ndef g(): ...\n"
    calls = _cache_calls(ast.parse(source))
    assert len(calls) == 2
    assert all(
        not isinstance(c, ast.Call) or "max_entries" not in {k.arg for k in c.keywords}
        for c in calls
    )
