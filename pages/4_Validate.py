"""Validate: linear-probe test accuracy against the kept fraction, per pruning strategy."""

from __future__ import annotations

import streamlit as st

from core.analysis.curve import curve_csv_bytes, curve_summary
from core.scores.registry import METRICS
from ui import cache, charts, imported, state
from ui.errors import user_errors
from ui.page import start_page
from ui.verdicts_view import (
    PROBE_LABELS,
    render_probe_check,
    render_verdicts,
    with_spread,
)

FRACTION_CHOICES = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
BALANCES = {"class": "Balance classes", "cluster": "Balance clusters", "none": "No balancing"}


def short_metric(metric: str) -> str:
    """ "Self-supervised prototype (distance to ...)" -> "Self-supervised prototype"."""
    return state.metric_label(metric).split(" (")[0]


settings, dataset = start_page("Validate")
st.title("Validate a pruning choice")
st.caption(
    "Each seed splits the data (stratified) into train and test. **Scores are computed on the "
    "train split only**; the train split is pruned at every kept fraction with every strategy "
    "and a probe (by default a linear probe, logistic regression with the same recipe at every "
    "fraction; or a k-NN check) is scored on the test split. An imported score is not "
    "recomputed: each seed's train split takes its values."
)
if dataset.labels is None:
    st.info("The pruning curve trains a linear probe on labels; this dataset has none.")
    st.stop()

ss = st.session_state
left, middle, right = st.columns([2, 1, 1])
fractions = left.multiselect("Kept fractions", FRACTION_CHOICES, key="curve_fractions")
n_seeds = middle.number_input("Seeds", min_value=1, max_value=10, key="curve_seeds")
balance = right.selectbox(
    "Balance", list(BALANCES), format_func=BALANCES.__getitem__, key="curve_balance"
)
right.caption(state.BALANCE_DEFAULT_NOTE)
imported_names = tuple(imported.imported_scores(settings.dataset_key))
others = [m for m in (*METRICS, *imported_names) if m != settings.metric]
ss["curve_compare"] = [m for m in ss["curve_compare"] if m in others]
left, right = st.columns([2, 2])
compare = left.multiselect(
    "Also compare metrics",
    others,
    format_func=short_metric,
    key="curve_compare",
    help="Adds their keep-hard and keep-easy curves on the same splits and probe (random "
    "pruning ignores the metric, so it is drawn once). Each metric adds scoring and probes.",
)
strategies = left.multiselect(
    "Strategies",
    list(state.STRATEGY_LABELS),
    format_func=state.STRATEGY_LABELS.__getitem__,
    key="curve_strategies",
    help="CCS and Moderate are score-based like keep hard / keep easy (CCS: beta = 0.1, "
    "50 strata).",
)
overlay = right.checkbox(
    "Overlay the unbalanced curve", key="curve_unbalanced", disabled=balance == "none"
)
probe = right.selectbox(
    "Probe",
    list(PROBE_LABELS),
    format_func=PROBE_LABELS.__getitem__,
    key="curve_probe",
    help="The classifier trained on each kept set. The k-NN check (k = 10, cosine, no training "
    "objective) shows whether the ranking of strategies hinges on the linear probe.",
)
always_keep, always_drop = state.pins()
if always_keep or always_drop:
    pin_note = (
        f"Map pins applied: **{len(always_keep)} always-keep, {len(always_drop)} always-drop** "
        "(a pin in a seed's test split is ignored for that seed)."
    )
    if always_drop:
        pin_note += " With drop pins, f = 1.0 keeps every train example except the dropped ones."
else:
    pin_note = "No Map pins (pin examples on the Map page to always keep or drop them here too)."
st.caption(
    f"Metric **{short_metric(settings.metric)}** ({settings.metric}), k={settings.k}, "
    f"{settings.distance} distance (sidebar); balance ratio r={ss['min_ratio']:.2f} (Prune & "
    f"export page). {pin_note}"
)
seeds = tuple(range(settings.seed, settings.seed + int(n_seeds)))
with user_errors():
    imported_values = imported.imported_values(settings.dataset_key, (settings.metric, *compare))
request = (
    *settings.key()[:5],
    tuple(sorted(float(f) for f in fractions)),
    seeds,
    balance,
    float(ss["min_ratio"]),
    bool(overlay) and balance != "none",
    tuple(compare),
    always_keep,
    always_drop,
    tuple(strategies),
    imported.values_digest(imported_values),
    probe,
)
run, cancel = st.columns([1, 8])
if run.button("Run", type="primary", key="curve_run"):
    ss["curve_request"] = request
if cancel.button("Cancel", key="curve_cancel", help="Stops a running curve at its next step."):
    ss["curve_request"] = None
    st.info("Cancelled: no curve is computed. Press Run to start again.")
    st.stop()
if ss["curve_request"] is None:
    st.info("Choose the fractions and seeds, then press **Run** (it trains one probe per point).")
    st.stop()
shown = ss["curve_request"]
# The imported scores the shown curve names (dataset key, metric, ..., compare metrics, ...).
with user_errors():
    shown_values = imported.imported_values(shown[0], (shown[1], *shown[10]))
if imported.values_digest(shown_values) != shown[-2]:  # re-imported since: run again
    ss["curve_request"] = None
    st.info("The imported scores changed since the last Run: press **Run** to update.")
    st.stop()
if shown != request:
    st.caption("The settings changed since the curve below was computed: press Run to update.")

progress = cache.LiveProgress("Computing the pruning curve")
with user_errors():
    result = cache.curve_cached(*shown, _progress=progress, _imported=shown_values)
progress.done()

summary = curve_summary(result)
unpruned = float(result.unpruned_accuracy.mean())
fit = result.power_law
a, b = st.columns(2)
spread = float(result.unpruned_accuracy.std())
a.metric(
    "Unpruned test accuracy",
    f"{unpruned:.4f} ± {spread:.4f}",
    help=f"whole train split, mean ± std over {len(result.seeds)} seeds",
)
b.metric("Random pruning: power-law exponent b", f"{fit.b:.3f}" if fit else "n/a")
if result.params.always_keep or result.params.always_drop:
    n_pins = len(result.params.always_keep) + len(result.params.always_drop)
    used = ", ".join(f"seed {s.seed}: {n_pins - s.ignored_pins.size}" for s in result.splits)
    st.caption(
        f"Pins applied in the train split (of {n_pins}): {used}; the rest fell in the test "
        "split and were ignored for that seed."
    )
figure = charts.curve_figure(
    summary,
    unpruned_accuracy=unpruned,
    power_law=(fit.a, fit.b) if fit else None,
    current_fraction=float(ss["keep_fraction"]),
)
st.plotly_chart(figure, key="curve")
st.caption(
    "Colour: strategy; line dash and marker: metric; faint open markers: the unbalanced overlay. "
    "Bands: mean ± std over seeds. Grey dotted: random pruning fitted by error = a·f^-b. Purple "
    "line: your keep fraction on the Prune & export page. Sorscher et al. (NeurIPS 2022): keeping "
    "hard examples pays off when plenty of data are kept, keeping easy ones when data are scarce "
    "(aggressive pruning); see the Theory page."
)
st.caption(
    f"Probe: **{PROBE_LABELS[result.params.probe]}** ({result.params.probe_recipe}). "
    "Table: mean ± std over seeds (n_seeds) per curve point."
)
st.dataframe(with_spread(summary), hide_index=True, key="curve_table")
st.download_button("Download curve CSV", curve_csv_bytes(result), "curve.csv", key="curve_csv")
verdicts = render_verdicts(
    result, n_dims=dataset.embeddings.shape[1], n_classes=len(dataset.class_names)
)
render_probe_check(shown, verdicts, shown_values)
