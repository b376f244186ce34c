"""The few steps every page shares: page setup, dataset, scores and the current selection.

``start_page`` -> ``load_scores`` -> ``current_selection`` keeps each page script to
"read controls, call core through ui.cache, render".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

from core.analysis.projection import DEFAULT_MAX_FIT
from ui import cache, coords, imported, state
from ui.errors import fail, user_errors

if TYPE_CHECKING:
    from core.analysis.projection import Projection
    from core.io.data import Dataset
    from core.prune.select import Selection
    from core.scores.metrics import Scores

SCORE_NOTE = "Scores: **higher = harder** (farther from its prototype, less typical)."


def start_page(
    title: str, *, layout: str = "wide", needs_k: bool = False
) -> tuple[state.Settings, Dataset]:
    """Configure the page, restore session state, load the current dataset, draw the sidebar.

    ``needs_k``: the page runs k-means itself, so the sidebar's k stays editable.
    """
    st.set_page_config(page_title=f"{title} · prunescope", layout=layout)  # type: ignore[arg-type]
    state.init_state()
    cache.start_umap_warmup()
    dataset = load_current_dataset()
    state.render_sidebar(
        n_examples=dataset.n,
        has_labels=dataset.labels is not None,
        needs_k=needs_k,
        imported=tuple(imported.imported_scores(st.session_state["dataset_key"])),
    )
    return state.settings(), dataset


def load_current_dataset() -> Dataset:
    """The dataset named by ``st.session_state["dataset_key"]``; resets k and pins on change."""
    dataset_key = st.session_state["dataset_key"]
    if dataset_key.startswith("upload:") and dataset_key not in st.session_state["uploaded"]:
        dataset_key = _restore_upload(dataset_key)
    with user_errors(prefix=f"Could not load the dataset ({dataset_key}): "):
        dataset = cache.get_dataset(dataset_key)
        default_k = cache.default_k(dataset_key)
    has_coords = coords.attached(dataset_key, dataset.n) is not None  # restored with the dataset
    imported.restore(dataset_key, dataset.n)  # scores imported for it in an earlier session
    cache.prefetch_umap(dataset_key, int(st.session_state["seed"]))  # the Map, before it is asked
    state.on_dataset_loaded(dataset_key, default_k, n_examples=dataset.n, has_coords=has_coords)
    state.show_notes()
    st.sidebar.caption(f"Dataset: **{dataset.name or dataset_key}** — {dataset.n:,} examples")
    return dataset


def _restore_upload(dataset_key: str) -> str:
    """An upload of an earlier session (a reload, a restart, a shared link) from the local
    store; when it is gone, the default dataset with a note. Returns the key to load."""
    from ui.uploads import restore_upload, stored_upload_kind

    with st.spinner("Restoring the dataset from the local cache…"):
        kind = stored_upload_kind(dataset_key)
        restored = restore_upload(dataset_key)
    if restored is not None:
        if kind in ("image_zip", "text_csv"):
            st.session_state["embedded"] = [*st.session_state["embedded"], dataset_key]
        return dataset_key
    fallback = state.default_dataset_key()
    state.add_note(
        "The dataset of this link is no longer in this machine's local cache; upload it again. "
        f"Showing {cache.dataset_label(fallback)}."
    )
    state.select_dataset(fallback)
    return fallback


def load_scores(settings: state.Settings) -> Scores:
    """Scores for the settings (cached); a core ``ValueError`` becomes an error box."""
    if imported.is_imported(settings.metric):
        found = imported.imported_scores(settings.dataset_key).get(settings.metric)
        if found is None:
            fail(f"{settings.metric} is not imported for this dataset; import the file again")
        return found
    progress = cache.LiveProgress(f"Scoring examples ({settings.metric})")
    try:
        scores = cache.scores_cached(*settings.key(), _progress=progress)
    except (ValueError, OSError) as exc:
        fail(str(exc) or exc.__class__.__name__)
    progress.done()
    return scores


def current_selection(dataset: Dataset, scores: Scores, settings: state.Settings) -> Selection:
    """``core.prune.select.select_kept`` for the pruning controls in session state (never cached).

    Mirrors ``python -m core prune``: the selection seed is the score seed, ``min_ratio`` is 0
    without balancing, and the Map page's pins are ``always_keep``/``always_drop``.
    """
    from core.prune.balance import balance_groups, normalize_balance
    from core.prune.select import select_kept

    ss = st.session_state
    always_keep, always_drop = state.pins()
    with user_errors():
        balance_by = normalize_balance(str(ss["balance_by"]))
        groups = balance_groups(dataset.labels, scores.clusters, balance_by, metric=scores.metric)
        return select_kept(
            scores.values,
            float(ss["keep_fraction"]),
            strategy=str(ss["strategy"]),
            groups=groups,
            balance_by=balance_by,
            min_ratio=float(ss["min_ratio"]) if balance_by else 0.0,
            seed=settings.seed,
            always_keep=always_keep,
            always_drop=always_drop,
            ccs_beta=None if ss["ccs_beta_auto"] else float(ss["ccs_beta"]),
            embeddings=dataset.embeddings if ss["strategy"] == "moderate" else None,
            labels=dataset.labels if ss["strategy"] == "moderate" else None,
        )


def deferred_exports(
    dataset: Dataset, scores: Scores, selection: Selection
) -> tuple[Callable[[], bytes], Callable[[], bytes]]:
    """The kept CSV and its manifest as callables for ``st.download_button(data=...)``.

    Streamlit runs them on click, on another thread without session state, so they close over
    plain values. The bytes equal ``python -m core prune``'s for the same parameters.
    """
    from core.export import build_manifest, kept_csv_bytes, manifest_bytes

    def csv() -> bytes:
        return kept_csv_bytes(dataset, scores, selection)

    def manifest() -> bytes:
        built = build_manifest(dataset, scores, selection, csv_bytes=csv(), csv_name="kept.csv")
        return manifest_bytes(built)

    return csv, manifest


def load_projection(
    settings: state.Settings, method: str, *, on_start: Callable[[], None] | None = None
) -> Projection:
    """The Map's cached 2-D coordinates of every row.

    ``on_start`` runs only when the projection is actually computed (a cache miss), before the
    work starts: the Map draws its PCA preview there while UMAP runs.
    """
    note = (
        f"UMAP is fitted on a sample of at most {DEFAULT_MAX_FIT:,} points and the others are "
        "placed by their nearest fitted neighbours. Its numba kernels compile once per machine "
        "(cached on disk)."
        if method == "umap"
        else ""
    )
    progress = cache.LiveProgress(
        f"Projecting to 2-D ({method.upper()})", note=note, on_start=on_start
    )
    with user_errors():
        projection = cache.projection_cached(
            settings.dataset_key, method, settings.seed, _progress=progress
        )
    progress.done()
    return projection


#: Examples in each strip of the landing page (hardest, easiest).
FINDINGS_STRIP = 8


def render_findings(dataset: Dataset, scores: Scores) -> None:
    """The landing page's summary of the current scores: hardest and easiest examples, histogram."""
    import numpy as np

    from ui import charts, gallery

    st.subheader("What prunescope finds here")
    order = np.argsort(scores.values, kind="stable")
    hardest = order[::-1][:FINDINGS_STRIP]
    easiest = order[:FINDINGS_STRIP]
    strips, histogram = st.columns([3, 2])
    with strips:
        st.markdown(f"**Hardest {len(hardest)}** (highest scores: atypical, ambiguous)")
        gallery.render_gallery(dataset, hardest, scores.values, width=64)
        st.markdown(f"**Easiest {len(easiest)}** (lowest scores: prototypical)")
        gallery.render_gallery(dataset, easiest, scores.values, width=64)
    chart = charts.score_histogram(
        scores.values, title=f"Scores of all {dataset.n:,} examples (higher = harder)"
    )
    histogram.vega_lite_chart(chart.data, chart.spec, key="home_histogram", width="stretch")
    st.caption(f"Metric {scores.metric} with the sidebar's settings; {SCORE_NOTE}")
