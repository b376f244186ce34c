"""Map: the embedding in 2-D, coloured by score, cluster, label or kept/pruned; select and pin."""

from __future__ import annotations

import streamlit as st

from core.analysis.inspection import hardest_first
from ui import cache, charts, gallery, state
from ui.imported import layout_settings
from ui.page import SCORE_NOTE, current_selection, load_projection, load_scores, start_page

settings, dataset = start_page("Map")
st.title("Map")
st.caption(SCORE_NOTE)
scores = load_scores(settings)
settings = layout_settings(settings)  # an imported score: lay out without k-means

left, right = st.columns(2)
left.radio("Projection", state.PROJECTIONS, key="projection", horizontal=True)
colours = [c for c in state.COLOR_LABELS if c != "label" or dataset.labels is not None]
right.radio(
    "Colour by", colours, format_func=state.COLOR_LABELS.get, key="color_by", horizontal=True
)
if st.session_state["color_by"] == "score":
    st.radio(
        "Score colours",
        charts.SCORE_SCALES,
        key="score_scale",
        horizontal=True,
        help="quantile: colour by each score's percentile (scores are skewed, so a linear scale "
        "paints most points one colour); the colour bar names the percentiles' scores.",
    )
method = st.session_state["projection"]
projection = load_projection(settings, method)
st.caption(
    "UMAP (umap-learn) with random_state = seed and n_jobs = 1: single-threaded, so the layout "
    "is reproducible. "
    if method == "umap"
    else "PCA of the L2-normalised embeddings (first two components). "
)

rows = cache.map_points_cached(*settings.key(), state.MAX_MAP_POINTS)
if len(rows) < dataset.n:
    st.info(
        f"Showing {len(rows):,} of {dataset.n:,} points: above {state.MAX_MAP_POINTS:,} the map "
        "projects and plots a subsample stratified by score that always includes the hardest "
        "and easiest."
    )
kept_mask = None
if st.session_state["color_by"] == "kept":
    kept_mask = current_selection(dataset, scores, settings).mask()
centroid_ids, centroid_xy = cache.centroid_coords_cached(
    method, *settings.key(), state.MAX_MAP_POINTS
)
figure = charts.map_figure(
    projection.coords,
    rows,
    color_by=st.session_state["color_by"],
    scores=scores.values,
    ids=dataset.ids,
    clusters=scores.clusters,
    labels=dataset.label_strings(),
    kept_mask=kept_mask,
    centroid_ids=centroid_ids,
    centroid_coords=centroid_xy,
    score_scale=st.session_state["score_scale"],
)
if len(centroid_ids):  # k-NN metrics have no clusters, so no crosses
    st.caption("Crosses: cluster centres, placed at the median of their members' 2-D positions.")
event = st.plotly_chart(figure, on_select="rerun", selection_mode=("box", "lasso"), key="map")

st.subheader("Selection")
selected = charts.selected_rows(event)
if not selected:
    st.caption(
        "Drag a box on the map (or pick the lasso in its toolbar) to see those examples and pin "
        "them as always-keep or always-drop."
    )
else:
    st.caption(
        f"{len(selected):,} selected, hardest first; captions show label · score (higher = harder)."
    )
    gallery.render_gallery(dataset, hardest_first(scores.values, selected), scores.values)
    keep, drop, _ = st.columns([1, 1, 2])
    keep.button(
        "Always keep these", on_click=state.add_pins, args=(selected,), kwargs={"keep": True}
    )
    drop.button(
        "Always drop these", on_click=state.add_pins, args=(selected,), kwargs={"keep": False}
    )
pinned_keep, pinned_drop = state.pins()
if pinned_keep or pinned_drop:
    st.caption(
        f"Pinned: {len(pinned_keep)} always-keep, {len(pinned_drop)} always-drop "
        "(honoured by Prune & export and listed in its manifest)."
    )
    st.button("Clear pins", on_click=state.clear_pins)
