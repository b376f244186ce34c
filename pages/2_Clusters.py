"""Clusters: score distributions per prototype, cluster sizes and class mix, typical vs atypical."""

from __future__ import annotations

import streamlit as st

from core.analysis.inspection import cluster_extremes, largest_clusters
from core.scores.registry import get_metric
from ui import charts, gallery
from ui.page import SCORE_NOTE, load_scores, start_page

settings, dataset = start_page("Clusters")
st.title("Clusters")
st.caption(SCORE_NOTE)
scores = load_scores(settings)
if scores.clusters is None:
    st.info(
        f"The {scores.metric} metric has no clusters. Pick the self-supervised prototype or "
        "prototype margin metric in the sidebar to see the k-means clusters."
    )
    st.stop()

clusters = scores.clusters
n_clusters = int(clusters.max()) + 1
kind = "k-means cluster" if get_metric(scores.metric).kmeans_based else "class"
st.caption(f"{n_clusters} groups ({kind}s); an example's score is its distance to its centre.")

sizes, composition = st.columns(2)
sizes.plotly_chart(charts.cluster_sizes_figure(clusters, n_clusters), key="sizes")
if dataset.labels is not None:
    figure = charts.class_composition_figure(
        clusters, dataset.labels, dataset.class_names, n_clusters
    )
    composition.plotly_chart(figure, key="composition")
else:
    composition.caption("No labels: class composition needs a label column.")

top = largest_clusters(clusters, 8)
st.subheader(f"Score histograms of the {len(top)} largest clusters")
figure = charts.cluster_histograms(
    scores.values, clusters, top, title="Score distribution per cluster (higher = harder)"
)
st.plotly_chart(figure, key="small_multiples")

st.subheader("One cluster")
if st.session_state["cluster"] >= n_clusters:
    st.session_state["cluster"] = top[0]
chosen = st.selectbox(
    "Cluster",
    range(n_clusters),
    key="cluster",
    format_func=lambda c: f"cluster {c} ({int((clusters == c).sum()):,} examples)",
)
figure = charts.cluster_histograms(
    scores.values, clusters, [chosen], title="Score distribution of this cluster (higher = harder)"
)
st.plotly_chart(figure, key="one_cluster")
typical, atypical = cluster_extremes(scores.values, clusters, chosen)
easy, hard = st.columns(2)
with easy:
    st.markdown("**Most prototypical** (lowest scores, easiest)")
    gallery.render_gallery(dataset, typical, scores.values)
with hard:
    st.markdown("**Least prototypical** (highest scores, hardest)")
    gallery.render_gallery(dataset, atypical, scores.values)
