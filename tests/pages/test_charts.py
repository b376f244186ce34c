"""Chart builders of ui/charts.py checked on their figures (trace modes, colours, ranges)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ui import charts


def _summary(accuracy: float = 1.0, std: float = 0.0) -> pd.DataFrame:
    rows = []
    for strategy in ("keep_hard", "keep_easy", "random"):
        for f in (0.2, 0.5, 1.0):
            rows.append(("ssp", "class", strategy, f, accuracy, std))
    columns = ["metric", "balance", "strategy", "keep_fraction", "accuracy_mean", "accuracy_std"]
    return pd.DataFrame(rows, columns=columns)


def test_std_bands_are_lines_filled_in_their_strategy_colour() -> None:
    fig = charts.curve_figure(_summary(0.8, 0.05), unpruned_accuracy=0.8)
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(bands) == 3
    for band in bands:
        assert band.mode == "lines"  # no seed dots in Plotly's default colours
        strategy = {"keep hard": "keep_hard", "keep easy": "keep_easy", "random": "random"}[
            band.name.split(" (")[0]
        ]
        color = charts.STRATEGY_COLORS[strategy]
        assert band.fillcolor == charts._rgba(color, 0.15)
        assert band.line.color == color


def test_a_tie_at_accuracy_one_keeps_the_axis_near_one() -> None:
    fig = charts.curve_figure(_summary(1.0, 0.0), unpruned_accuracy=1.0)
    low, high = fig.layout.yaxis.range
    assert 0.9 <= low < 1.0 < high <= 1.05


@pytest.mark.parametrize("accuracy", [0.0, 0.3, 0.97])
def test_accuracy_range_stays_near_zero_one(accuracy: float) -> None:
    low, high = charts.accuracy_range(_summary(accuracy, 0.2), accuracy)
    assert -0.01 <= low <= max(0.0, accuracy - 0.2)
    assert min(1, accuracy + 0.2) <= high <= 1.1


def test_keep_fraction_label_points_into_the_plot() -> None:
    small = charts.curve_figure(_summary(0.8), unpruned_accuracy=0.8, current_fraction=0.01)
    large = charts.curve_figure(_summary(0.8), unpruned_accuracy=0.8, current_fraction=0.95)
    label = next(a for a in small.layout.annotations if "your keep fraction" in a.text)
    assert label.xanchor == "left"  # text to the right of the line at f = 0.01
    label = next(a for a in large.layout.annotations if "your keep fraction" in a.text)
    assert label.xanchor == "right"


def test_clusters_and_classes_never_share_colours() -> None:
    clusters = np.array([0, 1, 2, 2, 1, 0])
    labels = np.array([0, 0, 1, 1, 2, 2])
    composition = charts.class_composition_figure(clusters, labels, ("a", "b", "c"), 3)
    sizes = charts.cluster_sizes_figure(clusters, 3)
    histograms = charts.cluster_histograms(np.linspace(0, 1, 6), clusters, [0, 1, 2])
    class_colours = {t.marker.color for t in composition.data}
    cluster_colours = set(sizes.data[0].marker.color) | {t.marker.color for t in histograms.data}
    assert len(class_colours) == 3
    assert len(cluster_colours) == 3
    assert not class_colours & cluster_colours
    assert not set(charts.CLUSTER_PALETTE) & set(charts.CLASS_PALETTE)


def test_quantile_colours_spread_skewed_scores() -> None:
    rng = np.random.default_rng(0)
    scores = rng.exponential(size=500) ** 3  # heavily skewed
    coords = rng.normal(size=(500, 2))
    rows = np.arange(500)
    ids = rows.astype(str)
    fig = charts.map_figure(coords, rows, color_by="score", scores=scores, ids=ids)
    colours = np.asarray(fig.data[0].marker.color)
    assert abs(np.median(colours) - 50) < 2  # half the points on each half of the scale
    ticks = fig.data[0].marker.colorbar.ticktext
    assert ticks[0] == f"p0: {scores.min():.3g}"
    assert ticks[-1] == f"p100: {scores.max():.3g}"
    with pytest.raises(ValueError, match="score_scale='log2'"):
        charts.map_figure(
            coords, rows, color_by="score", scores=scores, ids=ids, score_scale="log2"
        )
