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


def _skewed(n: int = 5000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0.02, 0.005, n - n // 10), rng.normal(0.3, 0.04, n // 10)])


@pytest.mark.parametrize("fraction", [0.01, 0.37, 0.8, 1.0])
def test_histogram_bins_split_into_kept_and_pruned_exactly(fraction: float) -> None:
    scores = _skewed()
    order = np.argsort(-scores, kind="stable")
    kept = np.zeros(scores.size, dtype=bool)
    kept[order[: int(np.floor(fraction * scores.size + 0.5))]] = True
    threshold = float(scores[kept].min())
    chart = charts.score_histogram(scores, kept_mask=kept, threshold=threshold, bins=40)
    table = chart.data
    kept_rows, pruned_rows = table[table.part == "kept"], table[table.part == "pruned"]
    everything, edges = np.histogram(scores, bins=40)
    assert kept_rows.examples.sum() == kept.sum()
    assert pruned_rows.examples.sum() == (~kept).sum()
    np.testing.assert_array_equal(kept_rows.examples.to_numpy() + pruned_rows.examples, everything)
    np.testing.assert_allclose(kept_rows.start, edges[:-1])
    np.testing.assert_allclose(kept_rows.end, edges[1:])
    assert (table.cut == threshold).all()
    # No kept example lies in a bin that ends before the cut (keep hard: above it).
    assert kept_rows[kept_rows.end < threshold].examples.sum() == 0


def test_a_slider_move_changes_the_histogram_data_not_its_spec() -> None:
    scores = _skewed()
    first = charts.score_histogram(scores, kept_mask=scores > 0.02, threshold=0.02)
    second = charts.score_histogram(scores, kept_mask=scores > 0.1, threshold=0.1)
    assert first.spec == second.spec  # the browser keeps the chart, updates its table
    assert "data" not in first.spec
    assert not first.data.equals(second.data)


def test_histogram_without_a_mask_or_a_cut() -> None:
    scores = _skewed()
    chart = charts.score_histogram(scores, title="all")
    assert set(chart.data.part) == {"examples"}
    assert chart.data.examples.sum() == scores.size
    assert chart.data.cut.isna().all()  # the cut layer filters NaN: no line drawn
    assert chart.spec["title"] == "all"


def test_histogram_of_equal_scores_has_one_visible_bin() -> None:
    chart = charts.score_histogram(np.full(10, 0.5), kept_mask=np.arange(10) < 4, bins=5)
    assert (chart.data.end > chart.data.start).all()
    assert chart.data.examples.sum() == 10


def test_group_counts_before_and_after_pruning() -> None:
    groups = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    kept = np.array([1, 0, 1, 1, 0, 0, 0, 0, 1], dtype=bool)
    chart = charts.group_counts_chart(groups, ["a", "b", "c"], kept, group_title="class")
    table = chart.data.set_index(["stage", "class"]).examples
    assert table["before"].to_dict() == {"a": 3, "b": 2, "c": 4}
    assert table["kept"].to_dict() == {"a": 2, "b": 1, "c": 1}
    assert chart.spec["encoding"]["x"]["field"] == "class"
    assert chart.spec["encoding"]["x"]["sort"] == ["a", "b", "c"]
