"""Prune & export: choose what to keep, see what changes, download exactly what the CLI writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from core.analysis.inspection import count_groups, cut_neighbours
from ui import charts, gallery, state
from ui.compare import render_stability_check
from ui.page import SCORE_NOTE, current_selection, deferred_exports, load_scores, start_page
from ui.verify_panel import render_verify_panel

if TYPE_CHECKING:
    from core.io.data import Dataset
    from core.scores.metrics import Scores

NO_CUT_NOTES = {
    "random": "A random selection has no score cut.",
    "ccs": "CCS has no single score cut: after dropping the hardest examples it samples evenly "
    "across score strata (Zheng et al. 2023).",
    "moderate": "Moderate-DS has no score cut: it keeps the middle band of distances from each "
    "embedding to its class's median embedding (Xia et al. 2023; the score is not used).",
}

settings, dataset = start_page("Prune & export")
st.title("Prune & export")
st.caption(SCORE_NOTE)
scores = load_scores(settings)


@state.fragment
def selection_and_exports(dataset: Dataset, scores: Scores, settings: state.Settings) -> None:
    """Everything the pruning controls change. A fragment: moving the keep-fraction slider
    reruns only this part (not the sidebar, the dataset or the scores), which keeps a move fast
    on large datasets."""
    controls, readouts = st.columns([1, 2], gap="large")
    with controls:
        state.render_prune_controls()
        pinned_keep, pinned_drop = state.pins()
        st.caption(f"Map pins: {len(pinned_keep)} always-keep, {len(pinned_drop)} always-drop.")
        if (pinned_keep or pinned_drop) and st.button("Clear pins", on_click=state.clear_pins):
            st.rerun()  # the whole page: the sidebar counts the pins too

    selection = current_selection(dataset, scores, settings)
    if selection.strategy == "ccs":
        where = (
            "per group (balance is on)"
            if selection.balance_by
            else "global (one cut, all examples)"
        )
        st.caption(f"CCS: β = {selection.ccs_beta:.2f}, {where}.")
    kept_mask = selection.mask()
    pinned = (*selection.always_keep, *selection.always_drop)
    cut = cut_neighbours(scores.values, kept_mask, strategy=selection.strategy, pinned=pinned)
    with readouts:
        left, right = st.columns(2)
        left.metric("Kept", f"{selection.n_kept:,}", help="kept_count(n, f) = floor(f × n + 0.5)")
        right.metric("Pruned", f"{dataset.n - selection.n_kept:,}")
        hist = charts.score_histogram(scores.values, kept_mask=kept_mask, threshold=cut.threshold)
        st.vega_lite_chart(hist.data, hist.spec, key="score_hist", width="stretch")
        grouping = count_groups(
            labels=dataset.labels, class_names=dataset.class_names, clusters=scores.clusters
        )
        if grouping is not None:
            counts = charts.group_counts_chart(
                grouping.codes, list(grouping.names), kept_mask, group_title=grouping.kind
            )
            st.vega_lite_chart(counts.data, counts.spec, key="group_counts", width="stretch")

    st.subheader("At the cut")
    pinned_note = "; pinned examples are left out." if pinned else "."
    if cut.band is not None:
        st.caption(
            f"Kept band: scores {cut.band[0]:.4g} to {cut.band[1]:.4g} (higher = harder), the "
            "examples closest to the median score (per group when balanced); nearest the band edges "
            "first" + pinned_note
        )
    elif cut.threshold is None:
        st.caption(NO_CUT_NOTES.get(selection.strategy, NO_CUT_NOTES["random"]))
    else:
        st.caption(
            f"Cut at score ≈ {cut.threshold:.4g} (higher = harder); nearest the cut first"
            + pinned_note
        )
    if cut.just_kept.size or cut.just_pruned.size:
        kept_col, pruned_col = st.columns(2)
        with kept_col:
            st.markdown("**Just kept**")
            gallery.render_gallery(dataset, cut.just_kept, scores.values)
        with pruned_col:
            st.markdown("**Just pruned**")
            gallery.render_gallery(dataset, cut.just_pruned, scores.values)

    render_stability_check(
        settings, str(st.session_state["strategy"]), float(st.session_state["keep_fraction"])
    )

    st.subheader("Download")
    # Built when clicked, not on every slider move (a 1M-row CSV takes about a second to write).
    csv, manifest = deferred_exports(dataset, scores, selection)
    st.caption(
        "The same CSV bytes as `python -m core prune ... --out kept.csv` with these parameters; "
        "the manifest differs only in `created_at`."
    )
    first, second = st.columns(2)
    first.download_button(
        "Kept indices (CSV)", csv, "kept.csv", "text/csv", key="download_csv", on_click="ignore"
    )
    second.download_button(
        "Manifest (JSON)",
        manifest,
        "kept.manifest.json",
        "application/json",
        key="download_manifest",
        on_click="ignore",
    )


selection_and_exports(dataset, scores, settings)
render_verify_panel()  # outside the fragment: it does not depend on the selection
