"""The view's settings in the URL's query string, so a link reproduces what its sender saw.

:func:`read_query_params` runs once per session (from ``ui.state.init_state``): each known
parameter is validated and copied into session state; a bad value is ignored with a note, never a
traceback. :func:`sync_query_params` writes the current settings back on every run (the dataset,
metric, k, seed, strategy, keep fraction and balance always; other page controls, Validate's,
Theory's, Deduplicate's, Compare's and the Map's among them, when they differ from their
defaults; list values comma-separated). Pins are too long for a URL: ``core.io.store`` keeps them
per dataset.
Parameters this module does not know are left alone (other pages may use them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import streamlit as st

from core.analysis.curve import BALANCES as CURVE_BALANCES
from core.analysis.curve import PROBES
from core.prune.semdedup import ORDERS
from core.scores.kmeans import BACKENDS
from core.scores.metrics import DISTANCES
from core.scores.registry import METRICS
from ui import state

#: Largest synthetic dataset a link may ask for (n, d): a link must not exhaust a served machine.
MAX_SYNTHETIC = (200_000, 4096)
#: Map page score colour scales (``ui.charts.SCORE_SCALES``; not imported here to keep plotly out).
SCORE_SCALES = ("quantile", "linear")
#: The choices of page widgets defined in the pages (pages cannot be imported; the page tests
#: check these against the widgets): Validate's kept fractions, Theory's α_tot, Deduplicate's ε.
CURVE_FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
THEORY_ALPHAS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
DEDUP_EPSILONS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02,
                  0.03, 0.05, 0.075, 0.1, 0.15, 0.2)  # fmt: skip


def _choice(options: Iterable[str]) -> Callable[[str], str]:
    allowed = tuple(options)

    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"should be one of {', '.join(allowed)}")
        return text

    return parse


def _metric(text: str) -> str:
    """A registry metric, or ``imported:<column>`` (checked against the dataset's imported
    scores once the dataset is loaded: ``ui.state.render_sidebar``)."""
    if text.startswith("imported:") and 0 < len(text) - len("imported:") <= 200:
        return text
    return _choice(METRICS)(text)


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"should be a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"should be a whole number from {low} to {high}")
        return value

    return parse


def _stepped(low: int, high: int, step: int) -> Callable[[str], int]:
    """A slider's whole number: in ``[low, high]`` on its steps of ``step`` from ``low``."""
    whole = _integer(low, high)

    def parse(text: str) -> int:
        value = whole(text)
        if (value - low) % step:
            raise ValueError(f"should be a whole number from {low} to {high} in steps of {step}")
        return value

    return parse


def _fraction(low: float, high: float, step: float = 0.01) -> Callable[[str], float]:
    """A slider's number in ``[low, high]``, rounded to 2 decimals and on its steps of ``step``."""
    message = f"should be a number from {low:g} to {high:g}" + (
        f" in steps of {step:g}" if step != 0.01 else ""
    )

    def parse(text: str) -> float:
        try:
            value = round(float(text), 2)  # the sliders move in steps of 0.01 or coarser
        except ValueError:
            raise ValueError(message) from None
        if not low <= value <= high:  # NaN fails this too
            raise ValueError(message)
        if abs((value - low) / step - round((value - low) / step)) > 1e-6:
            raise ValueError(message)
        return value

    return parse


def _number_choice(options: Iterable[float]) -> Callable[[str], float]:
    """One of a select slider's numbers (written with ``:g``, read back as the same float)."""
    allowed = tuple(options)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        for option in allowed:
            if abs(value - option) <= 1e-9 * max(1.0, abs(option)):
                return option
        raise ValueError(f"should be one of {', '.join(f'{o:g}' for o in allowed)}")

    return parse


def _list(parse_item: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    """A multiselect's values, comma-separated (empty: none); every item checked, no repeats."""

    def parse(text: str) -> list[Any]:
        items = [parse_item(part.strip()) for part in text.split(",")] if text else []
        if len(set(items)) != len(items):
            raise ValueError("lists a value twice")
        return items

    return parse


def _boolean(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError("should be 0 or 1")
    return text == "1"


#: URL parameter -> (session-state key, parser). ``dataset`` is handled by :func:`_dataset`.
URL_PARAMS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "metric": ("metric", _metric),
    "k": ("k", _integer(1, 100_000)),
    "seed": ("seed", _integer(0, 2**31 - 1)),
    "distance": ("distance", _choice(DISTANCES)),
    "backend": ("backend", _choice(BACKENDS)),
    "strategy": ("strategy", _choice(state.STRATEGY_LABELS)),
    "keep": ("keep_fraction", _fraction(0.01, 1.0)),
    "balance": ("balance_by", _choice(state.BALANCE_LABELS)),
    "min_ratio": ("min_ratio", _fraction(0.0, 1.0)),
    "ccs_beta": ("ccs_beta", _fraction(0.0, 0.5)),
    "ccs_auto": ("ccs_beta_auto", _boolean),
    "projection": ("projection", _choice(state.PROJECTIONS)),
    "color": ("color_by", _choice(state.COLOR_LABELS)),
    "scale": ("score_scale", _choice(SCORE_SCALES)),
    "cluster": ("cluster", _integer(0, 100_000)),
    "dedup_order": ("dedup_order", _choice(ORDERS)),
    "eps": ("dedup_epsilon", _number_choice(DEDUP_EPSILONS)),
    # Validate (pages/4_Validate.py)
    "v_fracs": ("curve_fractions", _list(_number_choice(CURVE_FRACTIONS))),
    "v_seeds": ("curve_seeds", _integer(1, 10)),
    "v_balance": ("curve_balance", _choice(CURVE_BALANCES)),
    "v_compare": ("curve_compare", _list(_choice(METRICS))),
    "v_strats": ("curve_strategies", _list(_choice(state.STRATEGY_LABELS))),
    "v_unbal": ("curve_unbalanced", _boolean),
    "v_probe": ("curve_probe", _choice(PROBES)),
    # Theory (pages/5_Theory.py)
    "t_n": ("theory_n", _stepped(20, 300, 10)),
    "t_theta": ("theory_theta", _stepped(0, 60, 5)),
    "t_seeds": ("theory_seeds", _integer(1, 10)),
    "t_keep": ("theory_keep", _fraction(0.05, 1.0, 0.05)),
    "t_alpha": ("theory_alpha", _number_choice(THEORY_ALPHAS)),
    "t_frontier": ("theory_frontier", _boolean),
    # Compare (pages/7_Compare.py): registry metrics only
    "cmp": ("compare_metrics", _list(_choice(METRICS))),
}
#: Written on every run; the other parameters only when they differ from their defaults.
ALWAYS_WRITTEN = ("dataset", "metric", "k", "seed", "strategy", "keep", "balance")


def _dataset(text: str) -> str:
    """A dataset key from a link: a shipped sample, bounded synthetic blobs, or a stored upload."""
    from core.io.store import has_entry
    from ui import cache

    kind, _, rest = text.partition(":")
    if kind == "sample" and text in cache.sample_keys():
        return text
    if kind == "synthetic":
        parts = rest.split(":")
        if len(parts) == 4 and all(p.isdigit() for p in parts):
            n, d = int(parts[0]), int(parts[1])
            if 2 <= n <= MAX_SYNTHETIC[0] and 1 <= d <= MAX_SYNTHETIC[1]:
                return text
    if kind == "upload":
        digest = rest
        if text in st.session_state["uploaded"] or has_entry(digest):
            return text
        raise ValueError("this upload is not in this machine's local cache; upload it again")
    raise ValueError("is not a shipped sample, synthetic:n:d:classes:seed or a stored upload")


def read_query_params() -> None:
    """Copy the link's settings into session state (once per session); note what was ignored."""
    ss = st.session_state
    ss["url_read"] = True
    ignored = []
    for name, raw in st.query_params.to_dict().items():
        key, parse = (
            ("dataset_key", _dataset) if name == "dataset" else URL_PARAMS.get(name, ("", None))
        )
        if parse is None:
            continue
        try:
            value = parse(raw)
        except ValueError as exc:
            ignored.append(f"`{name}={raw[:80]}` ({exc})")
            continue
        ss[key] = value
        if name == "k":
            ss["url_k"] = value  # the first dataset load would otherwise reset k to its default
        if name == "projection":
            ss["url_projection"] = True  # kept even when the dataset has coordinates from a file
    if ignored:
        ss["notes"] = [*ss["notes"], "Ignored from the link: " + "; ".join(ignored) + "."]


def _format(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_format(item) for item in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{round(value, 4):g}"
    return str(value)


def url_params() -> dict[str, str]:
    """The query string that reproduces the current view (see :data:`ALWAYS_WRITTEN`)."""
    ss = st.session_state
    params = {"dataset": str(ss["dataset_key"])}
    for name, (key, _) in URL_PARAMS.items():
        if name in ALWAYS_WRITTEN or ss[key] != state.widget_default(key):
            params[name] = _format(ss[key])
    return params


def sync_query_params() -> None:
    """Write :func:`url_params` into ``st.query_params`` (only the parameters that changed)."""
    wanted = url_params()
    current = st.query_params.to_dict()
    for name in ("dataset", *URL_PARAMS):
        if name in wanted and current.get(name) != wanted[name]:
            st.query_params[name] = wanted[name]
        elif name not in wanted and name in current:
            del st.query_params[name]
