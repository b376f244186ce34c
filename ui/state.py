"""Every session-state key, its default, and the shared sidebar controls.

Pages call :func:`init_state` first thing, so a page opened directly (a deep link) restores the
dataset and settings from these defaults. Settings survive page switches: Streamlit deletes the
value of a widget that is not drawn on the current page, so :func:`init_state` copies every key
back into session state on each run (Streamlit's documented way to keep widget values).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec

import streamlit as st
from streamlit.errors import StreamlitWidgetAlreadyInstantiatedError

from core.analysis.curve import DEFAULT_FRACTIONS
from core.io.coords import PRECOMPUTED
from core.scores.kmeans import BACKENDS
from core.scores.metrics import DISTANCES
from core.scores.registry import METRICS, get_metric

P = ParamSpec("P")

#: Environment variables read once per session for the defaults (tests and benchmarks use them).
ENV_DATASET = "PRUNESCOPE_SAMPLE"  # a dataset key ("synthetic:2000:16:5:0") or a sample name
ENV_PROJECTION = "PRUNESCOPE_PROJECTION"  # "umap" (default) or "pca"

STRATEGY_LABELS = {
    "keep_hard": "Keep hard (highest scores)",
    "keep_easy": "Keep easy (lowest scores)",
    "random": "Random",
    "ccs": "CCS (coverage-centric, stratified)",
    "moderate": "Moderate-DS (median-distance band)",
    "middle_band": "Middle band of scores",
}
BALANCE_LABELS = {"none": "No balancing", "label": "Balance classes", "cluster": "Balance clusters"}
#: Where the shared balance default is chosen (Prune & export and Validate say it).
BALANCE_DEFAULT_NOTE = (
    "Default: balance classes when the data has labels (Prune & export and Validate alike), so "
    "no class is pruned away; the CLI's `--balance-by` still defaults to none."
)
COLOR_LABELS = {
    "score": "Score",
    "cluster": "Cluster",
    "label": "Label",
    "kept": "Kept / pruned",
}
#: Map projections. ``precomputed``: the coordinates opened for the dataset from a file
#: (``python -m core project``, ``ui.coords``); offered only where a dataset has them.
PROJECTIONS = ("umap", "pca", PRECOMPUTED)

#: Map page: every point is a WebGL marker up to this many; above it a density raster of all
#: points is drawn under a stratified sample of MAP_OVERLAY_POINTS markers (extremes included).
#: 50,000, not more: at 100,000 markers every rerun of the Map sends a 6 MB figure and the
#: browser redraws it (bench/bench_map_server.py); the raster and 20,000 markers are 2.4 MB.
MAX_SCATTER_POINTS = 50_000
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
    "balance_by": "label",  # class-balanced, as on Validate; "none" without labels (sidebar)
    "min_ratio": 0.5,
    "ccs_beta": 0.1,  # CCS: hardest fraction dropped first, when chosen by hand
    "ccs_beta_auto": True,  # CCS: beta from the keep fraction (core.prune.select.default_ccs_beta)
    "color_by": "score",
    "score_scale": "quantile",  # Map page: score colours by percentile or linearly
    "projection": "umap",
    "cluster": 0,
    "dedup_epsilon": 0.002,  # Deduplicate page: SemDeDup's epsilon (cosine > 1 - epsilon)
    "dedup_order": "keep_hard",  # Deduplicate page: which duplicate survives
    # Validate page (pages/4_Validate.py): the pruning-curve controls.
    "curve_fractions": list(DEFAULT_FRACTIONS),
    "curve_seeds": 3,
    "curve_balance": "class",
    "curve_compare": [],  # other metrics drawn on the same splits
    "curve_strategies": ["keep_hard", "keep_easy", "random"],
    "curve_unbalanced": False,
    "curve_probe": "logistic",  # core.analysis.curve.PROBES: the linear probe or the k-NN check
    # Theory page (pages/5_Theory.py): the teacher-student perceptron.
    "theory_n": 100,
    "theory_theta": 20,  # degrees: a realistic, imperfect metric shows all three claims at once
    "theory_seeds": 3,
    "theory_keep": 0.25,
    "theory_alpha": 16.0,
    "theory_frontier": False,  # the frontier sweep runs 36 grid points x seeds: off until asked
    # Landing page (app.py): the dataset picker; app.py sets it to dataset_key before drawing it.
    "dataset_choice": "",
    # Landing page upload panel (ui/upload_panel.py).
    "up_embedding": "pixels",  # image zip: embed with raw pixels or a freshly trained SSL encoder
    "local_embeddings": "",  # "Files on this machine": embeddings path
    "local_meta": "",  # "Files on this machine": metadata path
    "local_coords": "",  # "Files on this machine": 2-D coordinates path (python -m core project)
    "attach_coords_path": "",  # "Open 2-D coordinates for this dataset": a path in the data folder
    # Compare page (pages/7_Compare.py): metrics compared, the scatter's axes, the stability run.
    "compare_metrics": ["ssp", "prototype_margin", "knn_density"],
    "compare_x": "",  # set by the page to one of the compared metrics
    "compare_y": "",
    "stability_metric": "ssp",
    "stability_seeds": 5,
    "stability_ks": "",  # comma-separated k values; empty: k/2, k, 2k around the sidebar's k
    # Landing page: the score import panel's expander (open or folded), the file's column and
    # orientation.
    "import_open": False,
    "upload_open": False,  # the landing page's upload expander (ui/upload_panel.py)
    "import_column": "",
    "import_higher_is_easier": False,
}
# Plain values (never bound to a widget).
_VALUE_DEFAULTS: dict[str, Any] = {
    "dataset_key": "",  # filled by default_dataset_key()
    "k_dataset": "",  # the dataset key whose default k is in "k"; a change resets k and pins
    "pins_keep": (),  # sorted tuple of dataset row indices always kept
    "pins_drop": (),  # sorted tuple of dataset row indices never kept
    "uploaded": {},  # dataset key -> Dataset built from an upload in this session
    "curve_request": None,  # Validate page: the settings of the last Run (None: nothing to show)
    "curve_check_request": None,  # Validate page: the same Run with the other probe (or None)
    "url_read": False,  # the link's query string was read (once, at session start)
    "url_k": None,  # k from the link: applied when the session's first dataset loads
    "notes": [],  # one-time notes (values ignored from the link, pins cleared), shown once
    "embedded": [],  # dataset keys whose embeddings this session computed (image zip, texts)
    "stability_request": None,  # Compare page: the settings of the last stability run
    "stability_adopted": "",  # Compare page: what "Use the consensus as the score" did
    "prune_stability_request": None,  # Prune & export: the settings of the last stability check
    "imported_scores": {},  # dataset key -> {"imported:<column>": Scores}, imported or restored
    "import_message": "",  # landing page: what the last score import did
    "coords": {},  # dataset key -> core.io.store.StoredCoords opened for it (ui.coords)
    "coords_message": "",  # landing page: what the last "Open 2-D coordinates" did
    "url_projection": False,  # the link named a projection: the first dataset load keeps it
}
STATE_KEYS = tuple(_WIDGET_DEFAULTS) + tuple(_VALUE_DEFAULTS)
#: Keys that only name an element (buttons, uploaders, charts, tables, downloads). Streamlit owns
#: their values and refuses to have them set through session state, so they have no default and
#: are never re-stored; they are listed so that every key in use is declared here.
ELEMENT_KEYS = (
    # pages/1_Map.py, 2_Clusters.py, 3_Prune_and_export.py, 6_Deduplicate.py
    "map",
    "map_preview",
    "sizes",
    "composition",
    "small_multiples",
    "one_cluster",
    "score_hist",
    "group_counts",
    "download_csv",
    "download_manifest",
    "dedup_curve",
    "dedup_per_class",
    "dedup_per_cluster",
    # pages/4_Validate.py
    "curve_run",
    "curve_cancel",
    "curve",
    "curve_table",
    "curve_csv",
    "curve_verdicts",
    "curve_check",
    "curve_check_table",
    # pages/5_Theory.py
    "alpha",
    "keep",
    "theory_table",
    "theory_csv",
    "front",
    "frontier_table",
    # ui/page.py (the landing page's data summary)
    "home_histogram",
    # ui/upload_panel.py
    "up_embeddings",
    "up_meta",
    "up_coords",
    "local_open",
    "clear_cache",
    "download_embeddings",
    "download_ids",
    # pages/7_Compare.py
    "compare_spearman",
    "compare_kendall",
    "compare_pairs",
    "compare_scatter",
    "compare_disagreements",
    "stability_run",
    "stability_chart",
    "stability_csv",
    "stability_adopt",
    # Prune & export: stability check and export verification (ui/verify_panel.py)
    "prune_stability_run",
    "verify_csv",
    "verify_manifest",
    # Landing page: score file import (ui/imported.py)
    "import_file",
    "import_run",
    # Landing page: 2-D coordinates for the current dataset (ui/coords.py)
    "coords_file",
    "coords_attach",
    "coords_forget",
)


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
    from core.io.samples import list_samples

    names = [getattr(item, "name", item) for item in list_samples()]
    return f"sample:{names[0]}:ssl" if names else "synthetic:2000:32:10:0"


def _fresh(default: Any) -> Any:
    """A copy of a mutable default (list, dict), so that no session shares it."""
    return default.copy() if isinstance(default, list | dict) else default


def widget_default(key: str) -> Any:
    """The default of a widget's session key (``KeyError`` for a key that is not a widget's)."""
    return _WIDGET_DEFAULTS[key]


def init_state() -> None:
    """Set every missing key to its default and keep widget values across page switches.

    At session start the link's query string is read into the state (``ui.links``); on every
    run the current settings are written back to it, so a reload or a shared link shows the same
    view.
    """
    from ui import links

    state = st.session_state
    keep_widget_values()
    for key, value in _VALUE_DEFAULTS.items():
        if key not in state:
            state[key] = _fresh(value)
    if not state["dataset_key"]:
        state["dataset_key"] = default_dataset_key()
        state["projection"] = default_projection()
    if not state["url_read"]:
        links.read_query_params()
    links.sync_query_params()


def keep_widget_values() -> None:
    """Store every widget's value under its key, or its default when it has none yet.

    Streamlit forgets the value of a widget that a run does not draw (another page's). Written
    back as a plain session value at the start of every run, it outlives the page switch and the
    widget picks it up when it is drawn again. Fragment runs must do it too (:func:`fragment`).
    """
    state = st.session_state
    for key, value in _WIDGET_DEFAULTS.items():
        with contextlib.suppress(StreamlitWidgetAlreadyInstantiatedError):
            # Raised for a widget drawn earlier in this run (a fragment inside a full run):
            # that run's start stored it already.
            state[key] = state[key] if key in state else _fresh(value)


def fragment(body: Callable[P, None]) -> Callable[P, None]:
    """``st.fragment`` for page parts that hold widgets: a widget there reruns only the part.

    Each run of the part starts as a full run does: widget values are stored under their keys
    (:func:`keep_widget_values`; without it a fragment run loses the values of other pages'
    widgets and of its own, and the next page shows defaults) and the link is synced.
    """
    from ui import links

    @functools.wraps(body)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        keep_widget_values()
        links.sync_query_params()
        body(*args, **kwargs)

    return st.fragment(run)


def default_projection() -> str:
    """The Map's projection when no file's coordinates apply: ``$PRUNESCOPE_PROJECTION`` (umap or
    pca) or the widget default, umap."""
    env_projection = os.environ.get(ENV_PROJECTION, "").strip().lower()
    if env_projection in PROJECTIONS and env_projection != PRECOMPUTED:
        return env_projection
    return str(_WIDGET_DEFAULTS["projection"])


def add_note(message: str) -> None:
    """Queue a one-time note; :func:`show_notes` draws it once as an ``st.info``."""
    st.session_state["notes"] = [*st.session_state["notes"], message]


def show_notes() -> None:
    """Draw the queued notes (ignored link values, pins cleared) once, then forget them."""
    for message in st.session_state["notes"]:
        st.info(message)
    st.session_state["notes"] = []


def on_dataset_loaded(
    dataset_key: str, default_k: int, *, n_examples: int = 0, has_coords: bool = False
) -> None:
    """Reset what depends on the dataset when it changes; keep what does not.

    The session's first dataset keeps the link's k and keep fraction (``ui.links``). Switching
    to another dataset resets k to the new default, the keep fraction to its default and the
    chosen cluster, and replaces the pins by those stored for the new dataset (usually none),
    with a note when the old dataset's pins are cleared. Metric, seed, strategy and the other
    settings stay. Pins stored for ``dataset_key`` (``core.io.store``) are restored.

    ``has_coords``: 2-D coordinates were opened for the dataset (``ui.coords``), so the Map draws
    them (``precomputed``) unless the link named a projection for the session's first dataset;
    switching to a dataset without them goes back to :func:`default_projection`, with a note.
    """
    from core.io.store import load_pins

    state = st.session_state
    previous = state["k_dataset"]
    if previous == dataset_key:
        return
    url_k, state["url_k"] = state["url_k"], None
    state["k"] = int(url_k) if url_k is not None and not previous else int(default_k)
    state["k_dataset"] = dataset_key
    if has_coords and (previous or not state["url_projection"]):
        state["projection"] = PRECOMPUTED
    elif previous and state["projection"] == PRECOMPUTED:
        state["projection"] = default_projection()
        add_note(
            "the Map shows a "
            + state["projection"].upper()
            + " map: the 2-D coordinates from a file belonged to the previous dataset"
        )
    if previous:
        state["keep_fraction"] = _WIDGET_DEFAULTS["keep_fraction"]
        state["cluster"] = 0
        if state["pins_keep"] or state["pins_drop"]:
            from ui.cache import dataset_label

            add_note(f"pins cleared: they belonged to {dataset_label(previous)}")
    state["pins_keep"], state["pins_drop"] = load_pins(dataset_key, n_examples=n_examples)


def select_dataset(dataset_key: str) -> None:
    """Make ``dataset_key`` the current dataset (its per-dataset settings reset on the next load)."""
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
    _store_pins()


def clear_pins() -> None:
    """Remove every always-keep and always-drop pin."""
    st.session_state["pins_keep"] = ()
    st.session_state["pins_drop"] = ()
    _store_pins()


def _store_pins() -> None:
    """Keep the current dataset's pins in the local store (best effort: caching is optional)."""
    from core.io.store import save_pins

    state = st.session_state
    with contextlib.suppress(OSError, ValueError):
        save_pins(str(state["dataset_key"]), state["pins_keep"], state["pins_drop"])


def metric_label(metric: str) -> str:
    """The metric's short sidebar name (``core.scores.registry``); imported scores by name."""
    if metric.startswith("imported:"):
        return metric
    return get_metric(metric).label


def render_sidebar(
    *,
    n_examples: int | None = None,
    has_labels: bool = True,
    needs_k: bool = False,
    imported: tuple[str, ...] = (),
) -> None:
    """Draw the shared score controls (metric, k, seed, distance, backend) in the sidebar.

    ``needs_k``: the page itself runs k-means (Deduplicate), so k and backend stay editable
    whatever the metric. ``imported``: ``"imported:<column>"`` metrics offered after the registry's.
    """
    state = st.session_state
    metrics = [m for m in METRICS if has_labels or not get_metric(m).needs_labels]
    metrics += list(imported)
    if state["metric"] not in metrics:
        if str(state["metric"]).startswith("imported:"):
            st.info(
                f"{state['metric']} is not imported for this dataset (import the score file "
                "again on the start page); showing SSP."
            )
        state["metric"] = "ssp"
    if not has_labels and state["balance_by"] == "label":
        state["balance_by"] = "none"  # the shared default balances classes; there are none
    with st.sidebar:
        st.subheader("Score settings")
        st.caption("Every score: **higher = harder** (less prototypical).")
        st.selectbox(
            "Metric",
            metrics,
            format_func=metric_label,
            key="metric",
            help="\n".join(
                f"- **{metric_label(m)}**: {get_metric(m).help}" for m in metrics if m in METRICS
            ),
        )
        imported_metric = state["metric"] in imported
        uses_k = needs_k or (not imported_metric and get_metric(state["metric"]).uses_k)
        uses_distance = state["metric"] != "random" and not imported_metric
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
    from ui import links

    links.sync_query_params()  # after the dataset loaded: k may have been reset to its default


def render_ccs_beta() -> None:
    """CCS's beta: by default from the keep fraction (Zheng et al. 2023), else a slider."""
    from core.prune.select import default_ccs_beta

    state = st.session_state
    auto = default_ccs_beta(float(state["keep_fraction"]))
    st.checkbox(
        f"CCS β from the keep fraction (now {auto:.2f})",
        key="ccs_beta_auto",
        help="Zheng et al. 2023 tune the hard cutoff β to the pruning rate: 0 up to 50% pruning, "
        "0.1 at 70-80%, 0.3 at 90% and beyond, linear in between "
        "(core.prune.select.CCS_BETA_SCHEDULE).",
    )
    st.slider(
        "CCS: hardest fraction dropped first (β)",
        0.0,
        0.5,
        step=0.01,
        key="ccs_beta",
        disabled=bool(state["ccs_beta_auto"]),
        help="Coverage-centric coreset selection (Zheng et al. 2023) first removes the "
        "hardest β (likely mislabelled or noisy), then samples evenly across 50 score strata. "
        "Same as `python -m core prune --strategy ccs --ccs-beta β`.",
    )


def render_prune_controls() -> None:
    """Keep fraction, strategy, balance and min ratio (keys shared with the Validate page)."""
    state = st.session_state
    st.slider("Keep fraction", 0.01, 1.0, step=0.01, key="keep_fraction", format="%.2f")
    st.radio(
        "Strategy", list(STRATEGY_LABELS), format_func=STRATEGY_LABELS.__getitem__, key="strategy"
    )
    if state["strategy"] == "ccs":
        render_ccs_beta()
    st.selectbox(
        "Balance", list(BALANCE_LABELS), format_func=BALANCE_LABELS.__getitem__, key="balance_by"
    )
    st.caption(BALANCE_DEFAULT_NOTE)
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
