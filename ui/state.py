"""Every session-state key, its default, and the shared sidebar controls.

Pages call :func:`init_state` first thing, so a page opened directly (a deep link) restores the
dataset and settings from these defaults. Settings survive page switches: Streamlit deletes the
value of a widget that is not drawn on the current page, so :func:`init_state` copies every key
back into session state on each run (Streamlit's documented way to keep widget values).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.scores.kmeans import BACKENDS
from core.scores.metrics import DISTANCES, LABEL_METRICS

#: Environment variables read once per session for the defaults (tests and benchmarks use them).
ENV_DATASET = "PRUNESCOPE_SAMPLE"  # a dataset key ("synthetic:2000:16:5:0") or a sample name
ENV_PROJECTION = "PRUNESCOPE_PROJECTION"  # "umap" (default) or "pca"

#: Short names that fit the sidebar; METRIC_HELP says what each one measures.
METRIC_LABELS = {
    "ssp": "Self-supervised prototype",
    "prototype_margin": "Prototype margin",
    "class_prototype": "Class prototype (labels)",
    "knn_density": "k-NN density",
    "knn_disagreement": "k-NN disagreement (labels)",
    "random": "Random (baseline)",
}
METRIC_HELP = {
    "ssp": "distance to the nearest k-means centroid (Sorscher et al. 2022)",
    "prototype_margin": "nearest minus second-nearest centroid distance (between two = harder)",
    "class_prototype": "distance to the mean embedding of the example's own class",
    "knn_density": "mean distance to the k nearest neighbours (sparse = harder)",
    "knn_disagreement": "share of the k nearest neighbours with another label (possible mislabels)",
    "random": "seeded uniform scores: the baseline to beat",
}
#: Metrics using k (clusters, or neighbours for the k-NN ones); LABEL_METRICS need labels.
K_METRICS = ("ssp", "prototype_margin", "knn_density", "knn_disagreement")
STRATEGY_LABELS = {
    "keep_hard": "Keep hard (highest scores)",
    "keep_easy": "Keep easy (lowest scores)",
    "random": "Random",
    "ccs": "CCS (coverage-centric, stratified)",
    "moderate": "Moderate (middle band)",
}
BALANCE_LABELS = {"none": "No balancing", "label": "Balance classes", "cluster": "Balance clusters"}
COLOR_LABELS = {
    "score": "Score",
    "cluster": "Cluster",
    "label": "Label",
    "kept": "Kept / pruned",
}
PROJECTIONS = ("umap", "pca")

#: Map page: every point is a WebGL marker up to this many; above it a density raster of all
#: points is drawn under a stratified sample of MAP_OVERLAY_POINTS markers (extremes included).
MAX_SCATTER_POINTS = 200_000
MAP_OVERLAY_POINTS = 20_000
#: Map page: the density raster is DENSITY_BINS x DENSITY_BINS cells.
DENSITY_BINS = 300
#: Upload limit in MB; the same number is ``server.maxUploadSize`` in .streamlit/config.toml.
MAX_UPLOAD_MB = 200

# Keys whose value is a widget's and must be re-stored each run to survive page switches.
_WIDGET_DEFAULTS: dict[str, Any] = {
    "metric": "ssp",
    "k": 10,  # replaced by core.scores.metrics.default_k for the dataset on first load
    "seed": 0,
    "distance": "cosine",
    "backend": "auto",
    "keep_fraction": 0.8,
    "strategy": "keep_hard",
    "balance_by": "none",
    "min_ratio": 0.5,
    "ccs_beta": 0.1,  # CCS: hardest fraction dropped first (core.prune.select.DEFAULT_CCS_BETA)
    "color_by": "score",
    "projection": "umap",
    "cluster": 0,
    "dedup_epsilon": 0.002,  # Deduplicate page: SemDeDup's epsilon (cosine > 1 - epsilon)
    "dedup_order": "keep_hard",  # Deduplicate page: which duplicate survives
}
# Plain values (never bound to a widget).
_VALUE_DEFAULTS: dict[str, Any] = {
    "dataset_key": "",  # filled by default_dataset_key()
    "k_dataset": "",  # the dataset key whose default k is in "k"; a change resets k and pins
    "pins_keep": (),  # sorted tuple of dataset row indices always kept
    "pins_drop": (),  # sorted tuple of dataset row indices never kept
    "uploaded": {},  # dataset key -> Dataset built from an upload in this session
}
STATE_KEYS = tuple(_WIDGET_DEFAULTS) + tuple(_VALUE_DEFAULTS)


@dataclass(frozen=True, slots=True)
class Settings:
    """The sidebar settings that decide the scores: small hashable values for cache keys."""

    dataset_key: str
    metric: str
    k: int
    distance: str
    backend: str
    seed: int

    def key(self) -> tuple[str, str, int, str, str, int]:
        """``(dataset_key, metric, k, distance, backend, seed)``: the score cache key."""
        return (self.dataset_key, self.metric, self.k, self.distance, self.backend, self.seed)


def default_dataset_key() -> str:
    """The dataset shown when nothing was chosen: ``$PRUNESCOPE_SAMPLE`` or the first sample."""
    env = os.environ.get(ENV_DATASET, "").strip()
    if env:
        return env if ":" in env else f"sample:{env}:ssl"
    try:
        from core.io.samples import list_samples
    except ImportError:  # sample data not built yet: a synthetic stand-in keeps the app usable
        return "synthetic:2000:32:10:0"
    names = [getattr(item, "name", item) for item in list_samples()]
    return f"sample:{names[0]}:ssl" if names else "synthetic:2000:32:10:0"


def init_state() -> None:
    """Set every missing key to its default and keep widget values across page switches."""
    state = st.session_state
    for key, value in _WIDGET_DEFAULTS.items():
        state[key] = state.get(key, value)
    for key, value in _VALUE_DEFAULTS.items():
        if key not in state:
            state[key] = value.copy() if isinstance(value, dict) else value
    if not state["dataset_key"]:
        state["dataset_key"] = default_dataset_key()
        env_projection = os.environ.get(ENV_PROJECTION, "").strip().lower()
        if env_projection in PROJECTIONS:
            state["projection"] = env_projection


def on_dataset_loaded(dataset_key: str, default_k: int) -> None:
    """Reset the per-dataset settings (k to its default, pins) when the dataset changes."""
    state = st.session_state
    if state["k_dataset"] != dataset_key:
        state["k"] = int(default_k)
        state["k_dataset"] = dataset_key
        state["pins_keep"] = ()
        state["pins_drop"] = ()
        state["cluster"] = 0


def select_dataset(dataset_key: str) -> None:
    """Make ``dataset_key`` the current dataset (its k and pins are reset on the next load)."""
    st.session_state["dataset_key"] = dataset_key


def settings() -> Settings:
    """The current score settings from session state."""
    state = st.session_state
    return Settings(
        dataset_key=str(state["dataset_key"]),
        metric=str(state["metric"]),
        k=int(state["k"]),
        distance=str(state["distance"]),
        backend=str(state["backend"]),
        seed=int(state["seed"]),
    )


def pins() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(always_keep, always_drop) row indices pinned on the Map page."""
    return tuple(st.session_state["pins_keep"]), tuple(st.session_state["pins_drop"])


def add_pins(indices: list[int] | tuple[int, ...], *, keep: bool) -> None:
    """Pin ``indices`` as always-keep (``keep=True``) or always-drop; a row has one pin at most."""
    state = st.session_state
    new = {int(i) for i in indices}
    pinned_keep = set(state["pins_keep"]) - new
    pinned_drop = set(state["pins_drop"]) - new
    (pinned_keep if keep else pinned_drop).update(new)
    state["pins_keep"] = tuple(sorted(pinned_keep))
    state["pins_drop"] = tuple(sorted(pinned_drop))


def clear_pins() -> None:
    """Remove every always-keep and always-drop pin."""
    st.session_state["pins_keep"] = ()
    st.session_state["pins_drop"] = ()


def render_sidebar(
    *, n_examples: int | None = None, has_labels: bool = True, needs_k: bool = False
) -> None:
    """Draw the shared score controls (metric, k, seed, distance, backend) in the sidebar.

    ``needs_k``: the page itself runs k-means (Deduplicate), so k and backend stay editable
    whatever the metric.
    """
    state = st.session_state
    metrics = [m for m in METRIC_LABELS if has_labels or m not in LABEL_METRICS]
    if state["metric"] not in metrics:
        state["metric"] = "ssp"
    with st.sidebar:
        st.subheader("Score settings")
        st.caption("Every score: **higher = harder** (less prototypical).")
        st.selectbox(
            "Metric",
            metrics,
            format_func=METRIC_LABELS.__getitem__,
            key="metric",
            help="\n".join(f"- **{METRIC_LABELS[m]}**: {METRIC_HELP[m]}" for m in metrics),
        )
        uses_k = needs_k or state["metric"] in K_METRICS
        uses_distance = state["metric"] != "random"
        st.number_input(
            "k (clusters; neighbours for k-NN metrics)",
            min_value=1,
            step=1,
            key="k",
            disabled=not uses_k,
            help="Default: the number of classes when labels exist, else round(sqrt(n/2)) "
            + (f"(n = {n_examples:,})" if n_examples else "")
            + ". Sorscher et al. report results hold within an order of magnitude of it.",
        )
        st.number_input("Seed", min_value=0, step=1, key="seed")
        st.radio("Distance", DISTANCES, key="distance", horizontal=True, disabled=not uses_distance)
        st.selectbox("Backend (faiss / scikit-learn)", BACKENDS, key="backend", disabled=not uses_k)
        pinned_keep, pinned_drop = pins()
        if pinned_keep or pinned_drop:
            st.caption(f"Pins: {len(pinned_keep)} always-keep, {len(pinned_drop)} always-drop.")


def render_prune_controls() -> None:
    """Keep fraction, strategy, balance and min ratio (keys shared with the Validate page)."""
    state = st.session_state
    st.slider("Keep fraction", 0.01, 1.0, step=0.01, key="keep_fraction", format="%.2f")
    st.radio(
        "Strategy", list(STRATEGY_LABELS), format_func=STRATEGY_LABELS.__getitem__, key="strategy"
    )
    if state["strategy"] == "ccs":
        st.slider(
            "CCS: hardest fraction dropped first (β)",
            0.0,
            0.5,
            step=0.01,
            key="ccs_beta",
            help="Coverage-centric coreset selection (Zheng et al. 2023) first removes the "
            "hardest β (likely mislabelled or noisy), then samples evenly across 50 score strata. "
            "Same as `python -m core prune --strategy ccs --ccs-beta β`.",
        )
    st.selectbox(
        "Balance", list(BALANCE_LABELS), format_func=BALANCE_LABELS.__getitem__, key="balance_by"
    )
    st.slider(
        "Minimum ratio r",
        0.0,
        1.0,
        step=0.05,
        key="min_ratio",
        disabled=state["balance_by"] == "none",
        help="Every group keeps at least min(size, ceil(r × kept / groups)) (Sorscher et al.: "
        "metrics amplify class imbalance, so balancing matters).",
    )
