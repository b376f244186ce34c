"""Deduplicate: SemDeDup near-duplicates within k-means clusters, live in ε; download what the CLI writes."""

from __future__ import annotations

import streamlit as st

from core.prune.semdedup import dedup_outputs, duplicate_pairs, removed_at, removed_counts
from ui import cache, charts, gallery
from ui.errors import user_errors
from ui.page import start_page

#: Log-ish slider stops: SSL embeddings are tight, so the interesting range starts small.
EPSILONS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03,
            0.05, 0.075, 0.1, 0.15, 0.2)  # fmt: skip
ORDER_LABELS = {
    "keep_hard": "Keep hard (the member farthest from the centroid survives)",
    "keep_easy": "Keep easy (the nearest survives)",
    "random": "Random survivor (seeded)",
}

settings, dataset = start_page("Deduplicate", needs_k=True)
st.title("Deduplicate (SemDeDup)")
st.caption(
    "Abbas et al. 2023: within each k-means cluster of the L2-normalised embeddings, members are "
    "ordered and every member whose cosine similarity to an earlier one (removed or not) exceeds "
    f"1 − ε is removed. k = {settings.k}, seed = {settings.seed} and the backend come from the "
    "sidebar; similarity is always cosine."
)

controls, readouts = st.columns([1, 2], gap="large")
with controls:
    st.select_slider(
        "ε: duplicates have cosine similarity > 1 − ε",
        EPSILONS,
        key="dedup_epsilon",
        format_func=lambda value: f"{value:g}",
    )
    st.radio(
        "Which duplicate survives",
        list(ORDER_LABELS),
        format_func=ORDER_LABELS.__getitem__,
        key="dedup_order",
    )
epsilon, order = float(st.session_state["dedup_epsilon"]), str(st.session_state["dedup_order"])

# k-means and the similarity pass run once per (dataset, k, seed, backend, order); moving ε only
# thresholds the cached max_similarity.
progress = cache.LiveProgress("Running SemDeDup (k-means, then similarities within clusters)")
with user_errors():
    result = cache.dedup_cached(
        settings.dataset_key, settings.k, settings.seed, settings.backend, order, _progress=progress
    )
    progress.done()
    removed = removed_at(result, epsilon)
    curve = removed_counts(result, charts.EPSILON_GRID)
    most_similar = duplicate_pairs(dataset.embeddings, result, epsilon, n=20)
    at_threshold = duplicate_pairs(
        dataset.embeddings, result, epsilon, n=20, nearest_threshold=True
    )
n_removed = int(removed.sum())

with readouts:
    first, second, third = st.columns(3)
    first.metric("Removed", f"{n_removed:,}")
    second.metric("Removed fraction", f"{n_removed / dataset.n:.1%}")
    third.metric("Kept", f"{dataset.n - n_removed:,}")
    figure = charts.removal_curve_figure(
        charts.EPSILON_GRID, curve, dataset.n, epsilon=epsilon, n_removed=n_removed
    )
    st.plotly_chart(figure, key="dedup_curve")

st.subheader("Where the duplicates are")
if n_removed == 0:
    st.caption(f"Nothing is removed at ε = {epsilon:g}: no pair in a cluster is that similar.")
else:
    by_class, by_cluster = st.columns(2)
    if dataset.labels is not None:
        by_class.plotly_chart(
            charts.removed_per_group_figure(
                dataset.labels, list(dataset.class_names), removed, group_title="class"
            ),
            key="dedup_per_class",
        )
    by_cluster.plotly_chart(
        charts.removed_per_group_figure(
            result.clusters, [str(c) for c in range(settings.k)], removed, group_title="cluster"
        ),
        key="dedup_per_cluster",
    )

st.subheader("Duplicate pairs")
st.caption(
    "Left: a removed example; right: the earlier member of its cluster it duplicates (what "
    "`--removed` lists at this ε: the first over 1 − ε in the cluster's order), with their "
    "cosine similarity, and the highest similarity to any earlier member when that is larger."
)
most_tab, threshold_tab = st.tabs(
    ["Most similar", f"Nearest the threshold (cosine just > {1 - epsilon:g})"]
)
for tab, pairs in ((most_tab, most_similar), (threshold_tab, at_threshold)):
    with tab:
        gallery.render_pairs(
            dataset, pairs.removed, pairs.duplicate_of, pairs.similarity, pairs.max_similarity
        )

st.subheader("Download")
backend = "" if settings.backend == "auto" else f" --backend {settings.backend}"
st.caption(
    f"The same CSV bytes as `python -m core dedup EMB --meta META --k {settings.k} "
    f"--epsilon {epsilon:g} --order {order} --seed {settings.seed}{backend} --out kept.csv`; "
    "the manifest differs only in `created_at`. Score column: cosine distance to the cluster "
    "centroid (higher = harder)."
)
left, right = st.columns(2)
# Built when clicked (deferred), not on every move of the epsilon slider.
left.download_button(
    "Kept indices (CSV)",
    lambda: dedup_outputs(dataset, result, epsilon=epsilon, csv_name="kept.csv")[0],
    "kept.csv",
    "text/csv",
    key="download_csv",
    on_click="ignore",
)
right.download_button(
    "Manifest (JSON)",
    lambda: dedup_outputs(dataset, result, epsilon=epsilon, csv_name="kept.csv")[1],
    "kept.manifest.json",
    "application/json",
    key="download_manifest",
    on_click="ignore",
)
