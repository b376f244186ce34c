"""ui.state holds every session-state key: page settings survive a page switch, and no page, ui
module or app.py uses a key that ui/state.py does not register."""

from __future__ import annotations

import ast

from streamlit.testing.v1 import AppTest

from tests.pages.conftest import ROOT, page_path
from ui import state

SOURCES = sorted(
    [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")],
    key=lambda p: p.name,
)


def _app() -> AppTest:
    at = AppTest.from_file(page_path("app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    return at


def _round_trip(at: AppTest, page: str) -> None:
    """Leave ``page`` for the landing page (which draws none of its widgets), then come back."""
    at.switch_page("app.py").run()
    assert not at.exception
    at.switch_page(page).run()
    assert not at.exception


def test_validate_settings_survive_a_page_switch() -> None:
    at = _app()
    at.switch_page("pages/4_Validate.py").run()
    assert not at.exception
    at.multiselect(key="curve_fractions").set_value([0.3, 1.0])
    at.number_input(key="curve_seeds").set_value(2)
    at.selectbox(key="curve_balance").set_value("cluster")
    at.multiselect(key="curve_compare").set_value(["random"])
    at.multiselect(key="curve_strategies").set_value(["ccs", "random"])
    at.checkbox(key="curve_unbalanced").check()
    at.run()
    assert not at.exception
    _round_trip(at, "pages/4_Validate.py")
    assert at.multiselect(key="curve_fractions").value == [0.3, 1.0]
    assert at.number_input(key="curve_seeds").value == 2
    assert at.selectbox(key="curve_balance").value == "cluster"
    assert at.multiselect(key="curve_compare").value == ["random"]
    assert at.multiselect(key="curve_strategies").value == ["ccs", "random"]
    assert at.checkbox(key="curve_unbalanced").value is True


def test_theory_settings_survive_a_page_switch() -> None:
    at = _app()
    # A small model first, so that each run of the page below is quick.
    at.session_state["theory_n"] = 20
    at.session_state["theory_seeds"] = 1
    at.switch_page("pages/5_Theory.py").run()
    assert not at.exception
    assert at.slider(key="theory_n").value == 20
    at.slider(key="theory_theta").set_value(30)
    at.slider(key="theory_keep").set_value(0.5)
    at.select_slider(key="theory_alpha").set_value(4.0)
    at.run()
    assert not at.exception
    _round_trip(at, "pages/5_Theory.py")
    assert at.slider(key="theory_n").value == 20
    assert at.slider(key="theory_seeds").value == 1
    assert at.slider(key="theory_theta").value == 30
    assert at.slider(key="theory_keep").value == 0.5
    assert at.select_slider(key="theory_alpha").value == 4.0


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_session_state(node: ast.AST, aliases: set[str]) -> bool:
    """``st.session_state`` or a local alias of it (``ss = st.session_state``)."""
    if isinstance(node, ast.Attribute) and node.attr == "session_state":
        return True
    return isinstance(node, ast.Name) and node.id in aliases


def used_keys(source: str) -> set[str]:
    """Literal keys of ``session_state[...]``, ``session_state.get/pop(...)`` and ``key=...``."""
    tree = ast.parse(source)
    aliases = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_session_state(node.value, set())
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    keys: set[str | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_session_state(node.value, aliases):
            keys.add(_string(node.slice))
        elif isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in {"get", "pop", "setdefault"}
                and _is_session_state(func.value, aliases)
                and node.args
            ):
                keys.add(_string(node.args[0]))
            keys.update(_string(kw.value) for kw in node.keywords if kw.arg == "key")
    keys.discard(None)
    return {key for key in keys if key is not None}


def test_the_key_finder_sees_every_form() -> None:
    source = (
        "import streamlit as st\nss = st.session_state\n"
        "st.session_state['a'] = 1\nss['b']\nss.get('c')\nst.session_state.pop('d', None)\n"
        "st.slider('x', key='e')\nst.button('y')\n"
    )
    assert used_keys(source) == {"a", "b", "c", "d", "e"}


def test_every_session_state_key_is_registered_in_ui_state() -> None:
    registered = set(state.STATE_KEYS) | set(state.ELEMENT_KEYS)
    found = {path.name: used_keys(path.read_text(encoding="utf-8")) for path in SOURCES}
    assert sum(len(keys) for keys in found.values()) > 40  # the finder does find keys
    missing = {name: sorted(keys - registered) for name, keys in found.items() if keys - registered}
    assert not missing, f"keys used but not registered in ui/state.py: {missing}"


def test_registered_key_groups_do_not_overlap() -> None:
    assert len(state.STATE_KEYS) == len(set(state.STATE_KEYS))
    assert not set(state.STATE_KEYS) & set(state.ELEMENT_KEYS)
