"""Map: the embedding in 2-D, coloured by score, cluster, label or kept/pruned; select and pin."""

from __future__ import annotations

import streamlit as st

from core.analysis.inspection import hardest_first
from ui import cache, charts, coords, gallery, map_view, state
from ui.imported import layout_settings
from ui.page import SCORE_NOTE, current_selection, load_projection, load_scores, start_page

settings, dataset = start_page("Map")
st.title("Map")
st.caption(SCORE_NOTE)
scores = load_scores(settings)
settings = layout_settings(settings)  # an imported score: lay out without k-means

found = coords.attached(settings.dataset_key, dataset.n)  # coordinates opened from a file
left, right = st.columns(2)
left.radio(
    "Projection",
    coords.map_projections(found),
    format_func=lambda method: coords.projection_label(method, found),
    key="projection",
    horizontal=True,
)
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
color_by = st.session_state["color_by"]
kept_mask = None
if color_by == "kept":
    kept_mask = current_selection(dataset, scores, settings).mask()
chart = st.empty()


def draw_pca_preview() -> None:
    """While UMAP computes (a cache miss only), show the PCA map at once in its place."""
    pca = cache.projection_cached(settings.dataset_key, "pca", settings.seed)
    preview = map_view.map_view(settings, dataset, "pca")
    figure = map_view.map_figure(
        preview, pca.coords, settings=settings, dataset=dataset, scores=scores,
        color_by=color_by, kept_mask=kept_mask,
    )  # fmt: skip
    with chart.container():
        st.plotly_chart(figure, key="map_preview")
        st.caption("PCA shown while UMAP computes; the UMAP map replaces it when ready.")


projection = None
if method == state.PRECOMPUTED and found is not None:
    xy = found.coords
else:
    projection = load_projection(
        settings, method, on_start=draw_pca_preview if method == "umap" else None
    )
    xy = projection.coords
view = map_view.map_view(settings, dataset, method, found)
figure = map_view.map_figure(
    view, xy, settings=settings, dataset=dataset, scores=scores,
    color_by=color_by, kept_mask=kept_mask, score_scale=st.session_state["score_scale"],
)  # fmt: skip
event = chart.plotly_chart(figure, on_select="rerun", selection_mode=("box", "lasso"), key="map")
st.caption(
    map_view.projection_note(method, dataset.n, projection=projection, found=found)
    + (
        "Crosses: cluster centres, placed at the median of their members' 2-D positions."
        if scores.clusters is not None  # k-NN metrics have no clusters, so no crosses
        else ""
    )
)
if view.raster:
    st.info(
        f"All {dataset.n:,} points are drawn as a density map (grey, darker = denser); "
        f"{len(view.rows):,} of them, stratified by score with the hardest and easiest, are "
        "drawn on top for hover. A box or lasso selects every point inside it."
    )

st.subheader("Selection")
selected = map_view.selected_map_rows(event, view, xy)
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
