"""Compare: do difficulty metrics agree (rank correlation, kept-set overlap, disagreements), and
how much does a k-means score move with the seed and k?"""

from __future__ import annotations

import streamlit as st

from core.analysis.compare import disagreements
from core.analysis.projection import stratified_subsample
from core.analysis.stability import STABILITY_METRICS, stability_csv_bytes
from ui import cache, charts, compare, gallery, imported, state
from ui.errors import fail, user_errors
from ui.page import SCORE_NOTE, start_page

settings, dataset = start_page("Compare")
ss = st.session_state
st.title("Compare")
st.caption(SCORE_NOTE)

options = compare.metric_options(dataset, settings.dataset_key)
ss["compare_metrics"] = [m for m in ss["compare_metrics"] if m in options]
st.multiselect("Metrics to compare", options, format_func=state.metric_label, key="compare_metrics")
metrics = list(ss["compare_metrics"])
if len(metrics) < 2:
    fail("Pick at least two metrics to compare.")
values = compare.scores_of(settings, metrics)
keep_fraction, strategy = float(ss["keep_fraction"]), str(ss["strategy"])
with user_errors():
    result = cache.compare_cached(
        compare.compare_key(settings, metrics), keep_fraction, strategy, settings.seed, values
    )

st.subheader("Rank correlation")
left, right = st.columns(2)
for column, name, key in (
    (left, "spearman", "compare_spearman"),
    (right, "kendall", "compare_kendall"),
):
    matrix = charts.pair_matrix(metrics, result.pairs, name)
    title = f"{name.capitalize()} rank correlation"
    column.plotly_chart(charts.correlation_heatmap(metrics, matrix, title=title), key=key)
if result.kendall_sample:
    st.caption(f"Kendall's tau on a seeded sample of {result.kendall_sample:,} examples.")
st.subheader("Kept-set overlap")
st.caption(
    f"Jaccard |A ∩ B| / |A ∪ B| of the kept sets at keep fraction {keep_fraction:.2f}, strategy "
    f"{strategy} (Prune & export's settings; no balancing, no pins)."
)
st.dataframe(result.pairs, hide_index=True, key="compare_pairs")

st.subheader("Score against score")
for axis, default in (("compare_x", metrics[0]), ("compare_y", metrics[1])):
    if ss[axis] not in metrics:
        ss[axis] = default
x_col, y_col = st.columns(2)
x_col.selectbox("x", metrics, format_func=state.metric_label, key="compare_x")
y_col.selectbox("y", metrics, format_func=state.metric_label, key="compare_y")
x_name, y_name = str(ss["compare_x"]), str(ss["compare_y"])
rows = stratified_subsample(values[x_name], state.MAX_SCATTER_POINTS, seed=settings.seed)
if len(rows) < dataset.n:
    st.info(f"Showing {len(rows):,} of {dataset.n:,} points, stratified by the x score.")
scatter = charts.score_scatter(
    values[x_name], values[y_name], rows, ids=dataset.ids, x_name=x_name, y_name=y_name
)
st.plotly_chart(scatter, key="compare_scatter")

if x_name != y_name:
    st.subheader("Where they disagree most")
    table = disagreements(values[x_name], values[y_name], top=12)
    st.caption(
        f"Percentile ranks (1 = hardest); rank_difference = {x_name} − {y_name}. Captions show "
        f"the {x_name} score."
    )
    st.dataframe(table, hide_index=True, key="compare_disagreements")
    gallery.render_gallery(dataset, table["index"].to_numpy(), values[x_name])

st.subheader("Stability over seeds and k")
st.caption(
    "Recompute a k-means score for each seed and k: where the kept set stops moving as k "
    "grows, k is large enough."
)
left, middle, right = st.columns(3)
left.selectbox(
    "k-means metric", STABILITY_METRICS, format_func=state.metric_label, key="stability_metric"
)
middle.number_input("Seeds", min_value=2, max_value=20, step=1, key="stability_seeds")
right.text_input("k values (comma-separated; empty: k/2, k, 2k)", key="stability_ks")
with user_errors():
    ks = compare.parse_ks(str(ss["stability_ks"]), settings.k, dataset.n)
seeds = tuple(range(int(ss["stability_seeds"])))
request = (settings.dataset_key, str(ss["stability_metric"]), ks, seeds, keep_fraction, strategy)
if st.button("Run stability", key="stability_run"):
    ss["stability_request"] = request
if ss["stability_request"] == request:
    progress = cache.LiveProgress("Re-running k-means over seeds and k")
    with user_errors():
        runs = cache.stability_cached(
            *request, settings.distance, settings.backend, _progress=progress
        )
    progress.done()
    table = compare.stability_table(runs)
    title = f"{ss['stability_metric']}: agreement across {len(seeds)} seeds"
    st.plotly_chart(charts.stability_figure(table, title=title), key="stability_chart")
    st.dataframe(table, hide_index=True)
    chosen = ks[len(ks) // 2] if settings.k not in runs else settings.k
    st.caption(compare.stability_sentence(runs[chosen]) + f" (k = {chosen})")
    consensus = stability_csv_bytes(runs[chosen], dataset.ids)
    file_name = f"stability_{ss['stability_metric']}_k{chosen}.csv"
    download, use = st.columns(2)
    download.download_button(
        f"Consensus scores at k = {chosen} (CSV: mean and std over seeds)",
        consensus,
        file_name,
        "text/csv",
        key="stability_csv",
        on_click="ignore",
    )

    def _use_consensus() -> None:
        ss["stability_adopted"] = imported.use_score_file(
            settings.dataset_key, dataset, file_name, consensus, "score_mean"
        )

    use.button(
        "Use the consensus as the score",
        key="stability_adopt",
        on_click=_use_consensus,
        help="Imports this CSV's score_mean column as imported:score_mean, the sidebar's metric "
        "on every page; `python -m core prune EMB --scores "
        f"{file_name}:score_mean` keeps the same rows.",
    )
    if ss["stability_adopted"]:
        (st.error if "rejected" in ss["stability_adopted"] else st.success)(ss["stability_adopted"])
