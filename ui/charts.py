"""Charts built from arrays: no ``st.*`` calls, no state, every score axis says "higher = harder".

Plotly figures, except the two charts that follow the keep-fraction slider (score histogram,
per-group counts), which are Vega-Lite (:class:`VegaLiteChart`). Histograms are binned here with
``numpy.histogram`` and drawn as bars, so a chart carries a few hundred numbers instead of every
score (that keeps slider moves fast on 100,000 examples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

SCORE_AXIS = "score (higher = harder)"
KEPT_COLOR = "#1f77b4"
PRUNED_COLOR = "#c7c7c7"
CUT_COLOR = "#d62728"
PALETTE = qualitative.Plotly + qualitative.D3 + qualitative.Set2 + qualitative.Pastel
#: Clusters and classes get disjoint palettes, so "cluster 3" and "class 3" never share a colour.
CLUSTER_PALETTE = qualitative.Dark24 + qualitative.Light24
CLASS_PALETTE = PALETTE
#: Percentiles labelled on the map's colour bar when scores are coloured by quantile.
COLORBAR_PERCENTILES = (0, 10, 25, 50, 75, 90, 100)
SCORE_SCALES = ("quantile", "linear")
#: Above this many categories the map colours one trace by code instead of one trace per category.
MAX_LEGEND_CATEGORIES = 40


def _layout(fig: go.Figure, *, height: int = 360, **kwargs: object) -> go.Figure:
    kwargs.setdefault("margin", {"l": 10, "r": 10, "t": 40, "b": 10})
    fig.update_layout(height=height, bargap=0.02, **kwargs)
    return fig


def _bin_edges(values: np.ndarray, bins: int) -> np.ndarray:
    low, high = float(np.min(values)), float(np.max(values))
    if high <= low:  # every score equal: one visible bin around it
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1)


# --- map ----------------------------------------------------------------------------------


def map_figure(
    coords: np.ndarray,
    indices: np.ndarray,
    *,
    color_by: str,
    scores: np.ndarray,
    ids: np.ndarray,
    clusters: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    kept_mask: np.ndarray | None = None,
    centroid_ids: np.ndarray | None = None,
    centroid_coords: np.ndarray | None = None,
    score_scale: str = "quantile",
    density: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> go.Figure:
    """WebGL scatter of the 2-D projection; hover shows id, label, score, cluster.

    Parameters
    ----------
    coords : ndarray of shape (n, 2)
        Projected coordinates of every example.
    indices : ndarray of shape (m,)
        Rows to draw (all rows, or a stratified subsample).
    color_by : {"score", "cluster", "label", "kept"}
    scores : ndarray of shape (n,)
        Higher = harder.
    ids : ndarray of shape (n,)
    clusters, labels : ndarray of shape (n,) or None
        Cluster codes and label strings.
    kept_mask : ndarray of shape (n,) of bool or None
        Kept examples at the current pruning setting (for ``color_by="kept"``).
    centroid_ids, centroid_coords : ndarray of shape (c,) and (c, 2) or None
        Cluster markers, drawn as outlined black crosses above the points.
    score_scale : {"quantile", "linear"}
        ``color_by="score"``: colour by each score's percentile (the bar labels percentiles with
        their scores; skewed scores still use every colour) or linearly by the score itself.
        Cluster markers, drawn as black crosses.
    density : (counts (by, bx), x_centres (bx,), y_centres (by,)) or None
        ``core.analysis.map_regions.density_grid`` of every point, drawn as a grey raster under
        the scatter of ``indices`` (then a sample) when there are too many points to draw.

    Every point's ``customdata[0]`` is its dataset row, so a selection maps back to rows.
    """
    label_text = labels[indices] if labels is not None else np.full(len(indices), "")
    cluster_col = clusters[indices] if clusters is not None else np.full(len(indices), -1)
    customdata = np.column_stack([indices, scores[indices], cluster_col]).astype(np.float64)
    hover = (
        "id %{text}<br>row %{customdata[0]:d}<br>score %{customdata[1]:.4g} (higher = harder)"
        + ("<br>cluster %{customdata[2]:d}" if clusters is not None else "")
        + ("<br>label %{hovertext}" if labels is not None else "")
        + "<extra></extra>"
    )
    text = ids[indices].astype(str)

    def trace(rows: np.ndarray, name: str, **marker: object) -> go.Scattergl:
        return go.Scattergl(
            x=coords[indices[rows], 0],
            y=coords[indices[rows], 1],
            mode="markers",
            name=name,
            text=text[rows],
            customdata=customdata[rows],
            hovertemplate=hover,
            hovertext=label_text[rows],
            marker={"size": 4, "opacity": 0.8, **marker},
        )

    everything = np.arange(len(indices))
    traces: list[go.Scattergl] = []
    categories: np.ndarray | None = None
    if color_by == "cluster" and clusters is not None:
        categories = cluster_col
    elif color_by == "label" and labels is not None:
        categories = label_text
    if color_by == "kept" and kept_mask is not None:
        kept_rows = kept_mask[indices]
        traces.append(trace(everything[~kept_rows], "pruned", color=PRUNED_COLOR))
        traces.append(trace(everything[kept_rows], "kept", color=KEPT_COLOR))
    elif categories is not None:
        names, codes = np.unique(categories, return_inverse=True)
        if len(names) <= MAX_LEGEND_CATEGORIES:
            for code, name in enumerate(names):
                palette = CLUSTER_PALETTE if color_by == "cluster" else CLASS_PALETTE
                color = palette[code % len(palette)]
                traces.append(trace(everything[codes == code], str(name), color=color))
        else:
            traces.append(trace(everything, color_by, color=codes, colorscale="Turbo"))
    else:
        traces.append(trace(everything, "score", **_score_marker(scores, indices, score_scale)))
        traces[-1].showlegend = False  # the colour bar is the legend
    fig = go.Figure(([_density_trace(density)] if density is not None else []) + traces)
    if centroid_coords is not None and centroid_ids is not None and len(centroid_coords):
        # WebGL like the points and added last, so the crosses sit on top of them; the white
        # outline keeps them visible over dark points.
        fig.add_trace(
            go.Scattergl(
                x=centroid_coords[:, 0],
                y=centroid_coords[:, 1],
                mode="markers",
                name="cluster centres",
                customdata=np.column_stack([np.full(len(centroid_coords), -1), centroid_ids]),
                hovertemplate="cluster %{customdata[1]:d} centre<br>(median of members)<extra></extra>",
                marker={
                    "symbol": "x",
                    "size": 13,
                    "color": "black",
                    "line": {"width": 1.5, "color": "white"},
                },
            )
        )
    fig.update_xaxes(showticklabels=False, title=None)
    fig.update_yaxes(showticklabels=False, title=None, scaleanchor="x", scaleratio=1)
    legend = {"itemsizing": "constant", "orientation": "h", "y": -0.02, "yanchor": "top"}
    title = {
        "score": "Embedding map coloured by score (higher = harder)",
        "cluster": "Embedding map coloured by cluster",
        "label": "Embedding map coloured by label",
        "kept": "Embedding map: kept vs pruned at the current setting",
    }.get(color_by, "Embedding map")
    # Box select by default (drag a rectangle); lasso is one click away in the mode bar.
    return _layout(fig, height=620, dragmode="select", legend=legend, title=title)


def _score_marker(scores: np.ndarray, indices: np.ndarray, score_scale: str) -> dict:
    """Marker colour settings for ``color_by="score"`` (quantile or linear colour scale)."""
    title = {"text": "score<br>(higher =<br>harder)"}
    if score_scale == "linear":
        return {
            "color": scores[indices],
            "colorscale": "Viridis",
            "colorbar": {"title": title, "len": 0.8},
        }
    if score_scale != "quantile":
        raise ValueError(f"score_scale={score_scale!r} should be one of {SCORE_SCALES}")
    # Percentile of every drawn score among all scores (ties share the lower rank).
    ordered = np.sort(scores)
    percentile = (
        100.0 * np.searchsorted(ordered, scores[indices], side="left") / max(1, len(ordered) - 1)
    )
    values = np.percentile(scores, COLORBAR_PERCENTILES)
    colorbar = {
        "title": {"text": "score<br>percentile<br>(higher =<br>harder)"},
        "len": 0.8,
        "tickvals": list(COLORBAR_PERCENTILES),
        "ticktext": [f"p{q}: {v:.3g}" for q, v in zip(COLORBAR_PERCENTILES, values)],
    }
    return {
        "color": np.minimum(percentile, 100.0),
        "colorscale": "Viridis",
        "cmin": 0.0,
        "cmax": 100.0,
        "colorbar": colorbar,
    }


def _density_trace(density: tuple[np.ndarray, np.ndarray, np.ndarray]) -> go.Heatmap:
    counts, x_centres, y_centres = density
    # log1p: a dense core would otherwise wash out every sparse region.
    shown = np.where(counts > 0, np.log1p(counts), np.nan)
    return go.Heatmap(
        z=shown,
        x=x_centres,
        y=y_centres,
        colorscale="Greys",
        showscale=False,
        hoverinfo="skip",
        name="all points (density)",
    )


def selected_regions(event: object) -> list[np.ndarray]:
    """The boxes and lassos drawn on a :func:`map_figure` chart, each as an (m, 2) polygon."""
    selection = getattr(event, "selection", None) or {}
    if not hasattr(selection, "get"):
        return []
    polygons = []
    for box in selection.get("box", None) or []:
        xs, ys = box.get("x") or [], box.get("y") or []
        if len(xs) >= 2 and len(ys) >= 2:
            (x0, x1), (y0, y1) = (min(xs), max(xs)), (min(ys), max(ys))
            polygons.append(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64))
    for lasso in selection.get("lasso", None) or []:
        xs, ys = lasso.get("x") or [], lasso.get("y") or []
        if len(xs) >= 3 and len(xs) == len(ys):
            polygons.append(np.column_stack([xs, ys]).astype(np.float64))
    return polygons


def selected_rows(event: object) -> list[int]:
    """Dataset rows selected with box/lasso in a :func:`map_figure` chart (sorted, unique)."""
    selection = getattr(event, "selection", None) or {}
    points = selection.get("points", []) if hasattr(selection, "get") else []
    rows = set()
    for point in points:
        custom = point.get("customdata")
        # Plotly sends a typed-array row; Streamlit passes it on as {"0": row, "1": ...}.
        if isinstance(custom, dict):
            custom = [custom.get("0", custom.get(0))]
        if isinstance(custom, (list, tuple)) and custom and custom[0] is not None:
            row = int(custom[0])
            if row >= 0:  # -1 marks the cluster-centre markers
                rows.add(row)
    return sorted(rows)


# --- scores -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class VegaLiteChart:
    """A Vega-Lite chart for ``st.vega_lite_chart(chart.data, chart.spec)``.

    The spec holds no data: it depends only on the chart's kind and titles, so a slider move
    re-sends a small table and the browser updates the drawn chart in place. Plotly redraws the
    whole figure (axes, margins, legend) instead, about 130 ms per chart per move in Chromium on
    two shared cores (its CPU profiler, during ``bench/bench_map_server.py``-style slider moves),
    which is why the charts that follow the keep-fraction slider are Vega-Lite.
    """

    data: pd.DataFrame
    spec: dict[str, Any]


def _legend(orient: str) -> dict[str, Any]:
    return {"orient": orient, "title": None}


def score_histogram(
    scores: np.ndarray,
    *,
    kept_mask: np.ndarray | None = None,
    threshold: float | None = None,
    bins: int = 60,
    title: str = "Score distribution (higher = harder), kept vs pruned",
) -> VegaLiteChart:
    """Histogram of the scores, split into kept and pruned (stacked), with the cut as a line.

    ``data`` has one row per bin and part: ``start``, ``end``, ``examples``, ``part`` ("kept",
    "pruned", or "examples" without a mask) and ``cut`` (the threshold on every row, NaN for
    none).
    """
    edges = _bin_edges(scores, bins)
    if kept_mask is None:
        parts = {"examples": np.histogram(scores, bins=edges)[0]}
    else:
        parts = {
            "kept": np.histogram(scores[kept_mask], bins=edges)[0],
            "pruned": np.histogram(scores[~kept_mask], bins=edges)[0],
        }
    data = pd.DataFrame(
        {
            "start": np.tile(edges[:-1], len(parts)),
            "end": np.tile(edges[1:], len(parts)),
            "examples": np.concatenate(list(parts.values())).astype(np.int64),
            "part": np.repeat(list(parts), bins),
            "cut": np.nan if threshold is None else float(threshold),
        }
    )
    colours = {"kept": KEPT_COLOR, "pruned": PRUNED_COLOR, "examples": KEPT_COLOR}
    bars = {
        "mark": {"type": "bar", "binSpacing": 0},
        "encoding": {
            "x": {
                "field": "start",
                "type": "quantitative",
                "bin": {"binned": True},
                "title": SCORE_AXIS,
            },
            "x2": {"field": "end"},
            "y": {"field": "examples", "type": "quantitative", "stack": "zero"},
            "color": {
                "field": "part",
                "type": "nominal",
                "scale": {"domain": list(parts), "range": [colours[p] for p in parts]},
                "legend": _legend("bottom") if kept_mask is not None else None,
            },
            "order": {"field": "part", "sort": "ascending"},  # kept at the bottom
            "tooltip": [
                {"field": "start", "title": "from score", "format": ".4g"},
                {"field": "end", "title": "to score", "format": ".4g"},
                {"field": "part", "title": "part"},
                {"field": "examples", "title": "examples", "format": ","},
            ],
        },
    }
    cut_line = {
        "transform": [
            {"filter": "isValid(datum.cut)"},
            {"aggregate": [{"op": "max", "field": "cut", "as": "cut"}]},
        ],
        "mark": {"type": "rule", "color": CUT_COLOR, "strokeDash": [6, 4], "size": 2},
        "encoding": {
            "x": {"field": "cut", "type": "quantitative"},
            "tooltip": [{"field": "cut", "title": "cut at score", "format": ".4g"}],
        },
    }
    spec = {"height": 300, "title": title, "layer": [bars, cut_line]}
    return VegaLiteChart(data, spec)


def group_counts_chart(
    groups: np.ndarray, group_names: list[str], kept_mask: np.ndarray, *, group_title: str
) -> VegaLiteChart:
    """Per-group example counts before and after pruning (grouped bars).

    ``data`` has one row per group and stage: the group name under ``group_title``,
    ``examples`` and ``stage`` ("before" or "kept").
    """
    n_groups = len(group_names)
    before = np.bincount(groups, minlength=n_groups)
    after = np.bincount(groups[kept_mask], minlength=n_groups)
    data = pd.DataFrame(
        {
            group_title: list(group_names) * 2,
            "examples": np.concatenate([before, after]).astype(np.int64),
            "stage": ["before"] * n_groups + ["kept"] * n_groups,
        }
    )
    spec = {
        "height": 300,
        "title": f"Examples per {group_title}",
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": group_title, "type": "nominal", "sort": list(group_names)},
            "xOffset": {"field": "stage", "sort": ["before", "kept"]},
            "y": {"field": "examples", "type": "quantitative"},
            "color": {
                "field": "stage",
                "type": "nominal",
                "scale": {"domain": ["before", "kept"], "range": [PRUNED_COLOR, KEPT_COLOR]},
                "legend": _legend("top"),
            },
            "tooltip": [
                {"field": group_title},
                {"field": "stage"},
                {"field": "examples", "format": ","},
            ],
        },
    }
    return VegaLiteChart(data, spec)


# --- clusters -----------------------------------------------------------------------------


def cluster_histograms(
    scores: np.ndarray,
    clusters: np.ndarray,
    cluster_ids: list[int],
    *,
    bins: int = 30,
    title: str = "Score distribution per cluster (higher = harder)",
) -> go.Figure:
    """Small multiples: one score histogram per cluster in ``cluster_ids``, shared score axis."""
    edges = _bin_edges(scores, bins)
    centers = (edges[:-1] + edges[1:]) / 2
    n_cols = min(4, max(1, len(cluster_ids)))
    n_rows = -(-len(cluster_ids) // n_cols)
    fig = make_subplots(
        rows=n_rows,
        cols=n_cols,
        shared_xaxes=True,
        subplot_titles=[f"cluster {c} (n={int((clusters == c).sum())})" for c in cluster_ids],
        vertical_spacing=0.12 if n_rows > 1 else 0.0,
    )
    for i, cluster in enumerate(cluster_ids):
        counts, _ = np.histogram(scores[clusters == cluster], bins=edges)
        fig.add_bar(
            x=centers,
            y=counts,
            width=float(edges[1] - edges[0]),
            marker_color=CLUSTER_PALETTE[int(cluster) % len(CLUSTER_PALETTE)],
            showlegend=False,
            row=i // n_cols + 1,
            col=i % n_cols + 1,
        )
    fig.update_xaxes(title=SCORE_AXIS, row=n_rows)
    return _layout(
        fig, height=220 * n_rows + 80, title=title, margin={"l": 10, "r": 10, "t": 70, "b": 10}
    )


def cluster_sizes_figure(clusters: np.ndarray, n_clusters: int) -> go.Figure:
    """Bar chart of the number of examples in each cluster."""
    sizes = np.bincount(clusters, minlength=n_clusters)
    colors = [CLUSTER_PALETTE[c % len(CLUSTER_PALETTE)] for c in range(n_clusters)]
    fig = go.Figure(go.Bar(x=np.arange(n_clusters), y=sizes, marker_color=colors))
    fig.update_xaxes(title="cluster", type="category")
    fig.update_yaxes(title="examples")
    return _layout(fig, title="Cluster sizes", height=300)


def class_composition_figure(
    clusters: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...], n_clusters: int
) -> go.Figure:
    """Stacked bars: how many examples of each class every cluster holds."""
    counts = np.zeros((n_clusters, len(class_names)), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    fig = go.Figure()
    for code, name in enumerate(class_names):
        fig.add_bar(
            x=np.arange(n_clusters),
            y=counts[:, code],
            name=str(name),
            marker_color=CLASS_PALETTE[code % len(CLASS_PALETTE)],
        )
    fig.update_xaxes(title="cluster", type="category")
    fig.update_yaxes(title="examples")
    return _layout(fig, title="Class composition per cluster", barmode="stack", height=340)


# --- Validate & Theory ---


STRATEGY_COLORS = {
    "keep_hard": "#d62728",
    "keep_easy": "#2ca02c",
    "random": "#7f7f7f",
    "ccs": "#9467bd",
    "moderate": "#ff7f0e",
    "middle_band": "#8c564b",
}
STRATEGY_NAMES = {
    "keep_hard": "keep hard",
    "keep_easy": "keep easy",
    "random": "random",
    "ccs": "CCS",
    "moderate": "Moderate-DS",
    "middle_band": "middle band",
}


def _rgba(hex_color: str, alpha: float) -> str:
    red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


METRIC_DASHES = ("solid", "dash", "dashdot", "longdash", "longdashdot")
METRIC_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "star")
BALANCE_NAMES = {"class": "class-balanced", "cluster": "cluster-balanced", "none": "unbalanced"}


def _band_trace(
    f: np.ndarray, mean: np.ndarray, std: np.ndarray, color: str, name: str, *, faint: bool
) -> go.Scatter:
    """The mean ± std band of one curve: a filled outline in its strategy's colour, no markers."""
    return go.Scatter(
        x=np.concatenate([f, f[::-1]]),
        y=np.concatenate([mean + std, (mean - std)[::-1]]),
        mode="lines",  # without it Plotly adds markers to short traces in the default colours
        fill="toself",
        fillcolor=_rgba(color, 0.07 if faint else 0.15),
        line={"width": 0, "color": color},
        hoverinfo="skip",
        showlegend=False,
        name=name,
    )


def accuracy_range(summary: pd.DataFrame, unpruned_accuracy: float) -> list[float]:
    """y-axis range for accuracies: the data's span (mean ± std, unpruned) with padding.

    Accuracies lie in [0, 1], so the range never leaves [0, 1] by more than the padding: a tie
    at accuracy 1.0 gives about [0.95, 1.02], not Plotly's automatic 0-2 axis.
    """
    mean = summary["accuracy_mean"].to_numpy(dtype=float)
    std = np.nan_to_num(summary["accuracy_std"].to_numpy(dtype=float))
    values = np.concatenate([mean - std, mean + std, [unpruned_accuracy]])
    values = np.clip(values[np.isfinite(values)], 0.0, 1.0)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    pad = max(0.02, 0.08 * (high - low))
    return [max(-0.01, low - pad), high + pad]


def curve_figure(
    summary: pd.DataFrame,
    *,
    unpruned_accuracy: float,
    power_law: tuple[float, float] | None = None,
    current_fraction: float | None = None,
) -> go.Figure:
    """Test accuracy vs kept fraction: mean ± std band per curve, unpruned line, power law.

    Colour encodes the strategy; line dash and marker encode the metric (the first, primary one
    solid with circles). The first balance mode is drawn with bands; a second one (``"none"``,
    the unbalanced overlay) faint, thin, with open markers and no band.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``core.analysis.curve.curve_summary`` rows (metric, balance, strategy, keep_fraction,
        accuracy_mean, accuracy_std).
    unpruned_accuracy : float
        Mean accuracy with the whole train split (horizontal dotted line).
    power_law : (a, b) or None
        Random pruning fit ``error = a * f^-b``, drawn as accuracy ``1 - a * f^-b``.
    current_fraction : float or None
        The user's keep fraction (vertical marker).
    """
    fig = go.Figure()
    balances = list(dict.fromkeys(summary["balance"]))
    metrics = list(dict.fromkeys(summary["metric"]))
    for b_i, balance in enumerate(balances):
        for m_i, metric in enumerate(metrics):
            for strategy in dict.fromkeys(summary["strategy"]):
                rows = summary[
                    (summary["balance"] == balance)
                    & (summary["metric"] == metric)
                    & (summary["strategy"] == strategy)
                ].sort_values("keep_fraction")
                if rows.empty:
                    continue
                f = rows["keep_fraction"].to_numpy(dtype=float)
                mean = rows["accuracy_mean"].to_numpy(dtype=float)
                std = rows["accuracy_std"].to_numpy(dtype=float)
                color = STRATEGY_COLORS.get(strategy, PALETTE[0])
                name = STRATEGY_NAMES.get(strategy, strategy)
                if len(metrics) > 1 and strategy != "random":  # random ignores the metric
                    name = f"{name} · {metric}"
                name = f"{name} ({BALANCE_NAMES.get(balance, balance)})"
                if b_i == 0:
                    fig.add_trace(_band_trace(f, mean, std, color, f"{name} ± std", faint=m_i > 0))
                symbol = METRIC_SYMBOLS[m_i % len(METRIC_SYMBOLS)]
                fig.add_scatter(
                    x=f,
                    y=mean,
                    mode="lines+markers",
                    name=name,
                    opacity=1.0 if b_i == 0 else 0.6,
                    line={
                        "color": color,
                        "dash": METRIC_DASHES[m_i % len(METRIC_DASHES)],
                        "width": 2 if b_i == 0 else 1,
                    },
                    marker={"symbol": symbol if b_i == 0 else f"{symbol}-open", "size": 7},
                    customdata=std,
                    hovertemplate="f=%{x:.2f}<br>accuracy %{y:.4f} ± %{customdata:.4f}<extra>"
                    + name
                    + "</extra>",
                )
    fig.add_hline(
        y=unpruned_accuracy,
        line={"color": "black", "dash": "dot", "width": 1},
        annotation_text=f"unpruned {unpruned_accuracy:.4f}",
        annotation_position="top left",  # small fractions sit below it: the corner is free
    )
    if power_law is not None and len(summary):
        a, b = power_law
        grid = np.linspace(float(summary["keep_fraction"].min()), 1.0, 60)
        fig.add_scatter(
            x=grid,
            y=1.0 - a * grid ** (-b),
            mode="lines",
            name=f"power law fit (random): error = {a:.3g}·f^-{b:.3g}",
            line={"color": STRATEGY_COLORS["random"], "dash": "dot", "width": 1},
        )
    if current_fraction is not None:
        fig.add_vline(
            x=current_fraction,
            # purple and solid: dashed lines and red already mean a metric and keep-hard here
            line={"color": "#9467bd", "width": 1},
            annotation_text=f"your keep fraction {current_fraction:.2f}",
            # the label sits on the side of the line with room, so f = 0.01 is never cut off
            annotation_position="bottom right" if current_fraction < 0.5 else "bottom left",
            annotation_font_color="#9467bd",
        )
    fig.update_xaxes(title="kept fraction of the train split", range=[0, 1.02])
    fig.update_yaxes(
        title="linear-probe test accuracy", range=accuracy_range(summary, unpruned_accuracy)
    )
    return _layout(fig, height=460, legend={"orientation": "h", "y": -0.2})


THEORY_NAMES = {
    "keep_hard": "keep hard (smallest margins |J·x|)",
    "keep_easy": "keep easy (largest margins)",
    "random": "random",
}


def theory_figure(
    summary: pd.DataFrame,
    *,
    sweep: str,
    title: str,
    marker: float | None = None,
    marker_text: str = "",
) -> go.Figure:
    """Teacher–student test error (mean ± std over seeds) per strategy for one sweep.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``core.analysis.theory.theory_summary`` rows (sweep, strategy, alpha_tot, keep_fraction,
        alpha_prune, error_mean, error_std).
    sweep : {"alpha", "keep"}
        ``"alpha"`` plots against ``alpha_tot`` (log axis), ``"keep"`` against the kept fraction.
    title : str
    marker, marker_text : float or None, str
        An x value to mark with a thin vertical line (the other plot's fixed value).
    """
    rows = summary[summary["sweep"] == sweep]
    x_column = "alpha_tot" if sweep == "alpha" else "keep_fraction"
    fig = go.Figure()
    for strategy in dict.fromkeys(rows["strategy"]):
        part = rows[rows["strategy"] == strategy].sort_values(x_column)
        fig.add_scatter(
            x=part[x_column],
            y=part["error_mean"],
            error_y={"type": "data", "array": part["error_std"].to_numpy(), "visible": True},
            mode="lines+markers",
            name=THEORY_NAMES.get(strategy, strategy),
            line={"color": STRATEGY_COLORS.get(strategy, PALETTE[0])},
            customdata=part["alpha_prune"].to_numpy(),
            hovertemplate="%{x:g}: error %{y:.4f}<br>α_prune = f·α_tot = %{customdata:g}",
        )
    log_x = sweep == "alpha"
    if marker is not None:
        fig.add_vline(x=marker, line={"color": "#555", "dash": "dot", "width": 1})
        # Annotations on a log axis take log10(x) (add_vline's own annotation does not).
        fig.add_annotation(
            x=float(np.log10(marker)) if log_x else marker,
            y=1.0,
            yref="paper",
            text=marker_text,
            showarrow=False,
            xanchor="left",
            font={"color": "#555", "size": 11},
        )
    ticks = sorted({float(v) for v in rows[x_column]})
    if log_x and ticks:
        fig.update_xaxes(
            title="α_tot = P / N (examples per dimension before pruning)",
            type="log",
            tickvals=ticks,
            ticktext=[f"{v:g}" for v in ticks],
            range=[np.log10(ticks[0]) - 0.1, np.log10(ticks[-1]) + 0.1],
        )
    else:
        fig.update_xaxes(title="kept fraction f", tickvals=ticks, range=[0, 1.03])
    fig.update_yaxes(title="test error ε = arccos(R) / π", rangemode="tozero")
    return _layout(
        fig,
        title=title,
        height=420,
        legend={"orientation": "h", "y": -0.25},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )


def frontier_figure(table: pd.DataFrame, frontier: pd.DataFrame, *, title: str) -> go.Figure:
    """The paper's Fig. 1 on log-log axes: error vs α_prune per kept fraction (mean ± std over
    seeds), the Pareto frontier (lower envelope) and random pruning's power-law fit.

    Parameters
    ----------
    table : pandas.DataFrame
        ``core.analysis.theory.FrontierResult.table``.
    frontier : pandas.DataFrame
        ``core.analysis.theory.FrontierResult.frontier``.
    title : str
    """
    fig = go.Figure()
    fractions = sorted(set(table["keep_fraction"]))
    for i, f in enumerate(fractions):
        part = table[table["keep_fraction"] == f].sort_values("alpha_prune")
        name = "f = 1 (unpruned = random pruning)" if f == 1.0 else f"f = {f:g} (keep hard)"
        fig.add_scatter(
            x=part["alpha_prune"],
            y=part["error_mean"],
            error_y={"type": "data", "array": part["error_std"].to_numpy(), "visible": True},
            mode="lines+markers",
            name=name,
            line={"color": "#7f7f7f" if f == 1.0 else PALETTE[i % len(PALETTE)], "width": 1.5},
            customdata=part["alpha_tot"].to_numpy(),
            hovertemplate="α_prune %{x:.3g}: error %{y:.4f}<br>α_tot = %{customdata:g}",
        )
    fig.add_scatter(
        x=frontier["alpha_prune"],
        y=frontier["power_law_error"],
        mode="lines",
        name="random pruning power law (fit)",
        line={"color": "#7f7f7f", "dash": "dash", "width": 1},
    )
    fig.add_scatter(
        x=frontier["alpha_prune"],
        y=frontier["error"],
        mode="lines",
        name="Pareto frontier (best f)",
        line={"color": "#000000", "width": 3},
        customdata=frontier["best_keep_fraction"].to_numpy(),
        hovertemplate="α_prune %{x:.3g}: error %{y:.4f}<br>best f = %{customdata:g}",
    )
    fig.update_xaxes(title="α_prune = f · α_tot (examples per dimension after pruning)", type="log")
    fig.update_yaxes(title="test error ε = arccos(R) / π", type="log")
    return _layout(
        fig,
        title=title,
        height=460,
        legend={"orientation": "h", "y": -0.25},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )


# --- Deduplicate ---

#: Epsilons the removal curve is drawn at (log-spaced; the page's slider stays inside).
EPSILON_GRID = np.geomspace(1e-4, 0.3, 121)


def removal_curve_figure(
    epsilons: np.ndarray,
    removed_counts: np.ndarray,
    n: int,
    *,
    epsilon: float,
    n_removed: int,
    title: str = "Fraction removed vs ε (duplicates: cosine similarity > 1 − ε)",
) -> go.Figure:
    """Line of the removed fraction against epsilon (log axis), the current epsilon marked.

    Parameters
    ----------
    epsilons : ndarray of shape (m,)
        Increasing, > 0.
    removed_counts : ndarray of shape (m,)
        Examples removed at each epsilon (``core.prune.semdedup.removed_counts``).
    n : int
        Number of examples.
    epsilon, n_removed : float, int
        The current slider position and its removed count, drawn as a marker.
    """
    fig = go.Figure()
    fig.add_scatter(
        x=epsilons,
        y=np.asarray(removed_counts) / n,
        mode="lines",
        line={"color": KEPT_COLOR, "shape": "hv"},
        name="removed",
        hovertemplate="ε %{x:.4g}<br>removed %{y:.1%}<extra></extra>",
    )
    fig.add_scatter(
        x=[epsilon],
        y=[n_removed / n],
        mode="markers",
        marker={"color": CUT_COLOR, "size": 11},
        name="current ε",
        hovertemplate=f"ε {epsilon:g}<br>removed {n_removed:,} of {n:,} (%{{y:.1%}})<extra></extra>",
    )
    fig.add_vline(x=epsilon, line_color=CUT_COLOR, line_dash="dash")
    ticks = [v for v in (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3) if v <= epsilons[-1]]
    fig.update_xaxes(
        title="ε (log scale)", type="log", tickvals=ticks, ticktext=[f"{v:g}" for v in ticks]
    )
    fig.update_yaxes(title="fraction removed", range=[0, 1.02], tickformat=".0%")
    return _layout(fig, title=title, showlegend=False)


def removed_per_group_figure(
    groups: np.ndarray, group_names: list[str], removed_mask: np.ndarray, *, group_title: str
) -> go.Figure:
    """Removed examples per group (class or cluster); hover and labels give the group's share."""
    n_groups = len(group_names)
    sizes = np.bincount(groups, minlength=n_groups)
    removed = np.bincount(groups[removed_mask], minlength=n_groups)
    share = removed / np.maximum(sizes, 1)
    fig = go.Figure(
        go.Bar(
            x=group_names,
            y=removed,
            marker_color=CUT_COLOR,
            text=[f"{s:.0%}" for s in share],
            textposition="outside",
            customdata=np.column_stack([sizes, share]),
            hovertemplate=f"{group_title} %{{x}}<br>removed %{{y:,}} of %{{customdata[0]:,}}"
            " (%{customdata[1]:.1%})<extra></extra>",
        )
    )
    fig.update_xaxes(title=group_title, type="category")
    fig.update_yaxes(title="removed examples", rangemode="tozero")
    return _layout(fig, title=f"Removed per {group_title} (label: share of the {group_title})")


# --- Compare ---


def pair_matrix(names: list[str], pairs: pd.DataFrame, column: str) -> np.ndarray:
    """The (m, m) symmetric matrix of one pairwise column (``metric_a, metric_b, column``),
    1 on the diagonal."""
    position = {name: i for i, name in enumerate(names)}
    matrix = np.eye(len(names))
    for a, b, value in zip(pairs["metric_a"], pairs["metric_b"], pairs[column]):
        matrix[position[a], position[b]] = matrix[position[b], position[a]] = float(value)
    return matrix


def correlation_heatmap(names: list[str], matrix: np.ndarray, *, title: str) -> go.Figure:
    """A rank-correlation matrix as an annotated heatmap on the fixed range [-1, 1]."""
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(matrix).tolist(),  # plain numbers: readable in the figure spec
            x=names,
            y=names,
            zmin=-1.0,
            zmax=1.0,
            colorscale="RdBu",
            text=[[f"{value:.3f}" for value in row] for row in matrix],
            texttemplate="%{text}",
            hovertemplate="%{y} vs %{x}: %{z:.4f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, height=120 + 60 * len(names), title=title)


def score_scatter(
    x: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    *,
    ids: np.ndarray,
    x_name: str,
    y_name: str,
) -> go.Figure:
    """Score against score for the examples ``rows`` (WebGL, for up to ~50k points)."""
    fig = go.Figure(
        go.Scattergl(
            x=x[rows],
            y=y[rows],
            mode="markers",
            marker={"size": 4, "opacity": 0.6, "color": KEPT_COLOR},
            customdata=np.stack([rows, np.asarray(ids)[rows].astype(str)], axis=1),
            hovertemplate="row %{customdata[0]} (%{customdata[1]})<br>"
            + f"{x_name}: %{{x:.4g}}<br>{y_name}: %{{y:.4g}}<extra></extra>",
        )
    )
    fig.update_xaxes(title=f"{x_name} (higher = harder)")
    fig.update_yaxes(title=f"{y_name} (higher = harder)")
    return _layout(fig, height=420, title=f"{y_name} against {x_name}")


def stability_figure(table: pd.DataFrame, *, title: str) -> go.Figure:
    """Mean pairwise Jaccard of the kept sets (and Spearman) across seeds, against k.

    ``table``: columns ``k, jaccard, spearman`` (one row per k).
    """
    fig = go.Figure()
    fig.add_scatter(x=table["k"], y=table["jaccard"], mode="lines+markers", name="kept-set Jaccard")
    fig.add_scatter(
        x=table["k"], y=table["spearman"], mode="lines+markers", name="Spearman", line_dash="dot"
    )
    fig.update_xaxes(title="k (clusters)", type="log" if len(table) > 2 else "linear")
    fig.update_yaxes(title="mean over seed pairs", range=[0, 1.02])
    return _layout(fig, title=title, legend={"orientation": "h", "y": -0.25})
