"""core.analysis.inspection: cut neighbours, cluster extremes and sizes, groupings, medians, upscaling."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis.inspection import (
    cluster_extremes,
    cluster_medians,
    count_groups,
    cut_neighbours,
    hardest_first,
    largest_clusters,
    upscale_nearest,
)
from core.prune.select import select_kept

# Six hand-checkable scores (higher = harder): rows sorted by score are 3, 0, 4, 1, 5, 2.
VALUES = np.array([0.2, 0.5, 0.9, 0.1, 0.3, 0.6])


def test_cut_neighbours_keep_hard_by_hand() -> None:
    kept = np.array([False, True, True, False, False, True])  # keep the 3 hardest
    cut = cut_neighbours(VALUES, kept, strategy="keep_hard", n=2)
    np.testing.assert_array_equal(cut.just_kept, [1, 5])  # lowest kept first
    np.testing.assert_array_equal(cut.just_pruned, [4, 0])  # highest pruned first
    assert cut.threshold == pytest.approx((0.5 + 0.3) / 2)


def test_cut_neighbours_keep_easy_mirrors() -> None:
    kept = np.array([True, False, False, True, True, False])  # keep the 3 easiest
    cut = cut_neighbours(VALUES, kept, strategy="keep_easy", n=1)
    np.testing.assert_array_equal(cut.just_kept, [4])
    np.testing.assert_array_equal(cut.just_pruned, [1])
    assert cut.threshold == pytest.approx(0.4)


def test_cut_neighbours_agrees_with_select_kept() -> None:
    values = np.random.default_rng(0).random(200)
    selection = select_kept(values, 0.3, strategy="keep_hard", seed=0)
    cut = cut_neighbours(values, selection.mask(), strategy="keep_hard", n=5)
    assert values[cut.just_kept].min() > cut.threshold > values[cut.just_pruned].max()


def test_pinned_rows_do_not_move_the_cut() -> None:
    # Row 3 (the easiest, 0.1) is pinned always-keep, so row 5 (0.6) made room for it.
    kept = np.array([False, True, True, True, False, False])
    cut = cut_neighbours(VALUES, kept, strategy="keep_hard", n=2, pinned=np.array([3]))
    np.testing.assert_array_equal(cut.just_kept, [1, 2])
    np.testing.assert_array_equal(cut.just_pruned, [5, 4])
    assert cut.threshold == pytest.approx((0.5 + 0.6) / 2)
    with pytest.raises(ValueError, match=r"pinned rows should lie in \[0, 6\)"):
        cut_neighbours(VALUES, kept, strategy="keep_hard", pinned=[6])


@pytest.mark.parametrize(
    ("kept", "strategy"),
    [(np.ones(6, bool), "keep_hard"), (np.zeros(6, bool), "keep_hard"), (None, "random")],
)
def test_no_cut_when_random_or_one_sided(kept, strategy) -> None:
    kept = np.array([True, False] * 3) if kept is None else kept
    cut = cut_neighbours(VALUES, kept, strategy=strategy)
    assert cut.threshold is None
    assert cut.just_kept.size == cut.just_pruned.size == 0


def test_ccs_has_no_cut() -> None:
    values = np.random.default_rng(0).random(200)
    selection = select_kept(values, 0.3, strategy="ccs", seed=0)
    cut = cut_neighbours(values, selection.mask(), strategy="ccs")
    assert cut.threshold is None
    assert cut.band is None
    assert cut.just_kept.size == cut.just_pruned.size == 0


def test_moderate_shows_the_band_edges() -> None:
    # Median 0.4: rows 1 (0.5) and 4 (0.3) are nearest; band [0.3, 0.5].
    selection = select_kept(VALUES, 2 / 6, strategy="middle_band")
    assert selection.kept_indices.tolist() == [1, 4]
    cut = cut_neighbours(VALUES, selection.mask(), strategy="middle_band", n=2)
    assert cut.threshold is None
    assert cut.band == pytest.approx((0.3, 0.5))
    np.testing.assert_array_equal(cut.just_kept, [1, 4])
    assert set(cut.just_pruned.tolist()) == {0, 5}  # 0.2 and 0.6, 0.1 outside the band
    values = np.random.default_rng(1).normal(size=300)
    selection = select_kept(values, 0.4, strategy="middle_band")
    cut = cut_neighbours(values, selection.mask(), strategy="middle_band", n=4)
    assert cut.band is not None
    low, high = cut.band
    kept_values = values[selection.kept_indices]
    assert (low, high) == (kept_values.min(), kept_values.max())
    assert ((values[cut.just_pruned] < low) | (values[cut.just_pruned] > high)).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kept_mask": np.ones(5, bool)}, "kept_mask should be bool of shape"),
        ({"kept_mask": np.ones(6)}, "kept_mask should be bool"),
        ({"strategy": "hardest"}, "strategy='hardest'"),
        ({"n": -1}, "n=-1"),
        ({"values": np.array([0.1, np.nan, 0, 0, 0, 0])}, "NaN"),
    ],
)
def test_cut_neighbours_rejects_bad_input(kwargs, match) -> None:
    args = {"values": VALUES, "kept_mask": np.ones(6, bool), "strategy": "keep_hard"} | kwargs
    with pytest.raises(ValueError, match=match):
        cut_neighbours(args.pop("values"), args.pop("kept_mask"), **args)


def test_largest_clusters_orders_by_size_then_id() -> None:
    clusters = np.array([2, 2, 0, 0, 3, 3, 3, 1])  # sizes 2, 1, 2, 3
    assert largest_clusters(clusters, 3) == [3, 0, 2]
    assert largest_clusters(np.array([0, 2, 2]), 5) == [2, 0]  # empty cluster 1 left out
    with pytest.raises(ValueError, match=">= 0"):
        largest_clusters(np.array([0, -1]), 1)
    with pytest.raises(ValueError, match="n=-2"):
        largest_clusters(clusters, -2)


def test_cluster_extremes_by_hand() -> None:
    clusters = np.array([0, 1, 0, 0, 1, 0])
    typical, atypical = cluster_extremes(VALUES, clusters, 0, n=2)
    np.testing.assert_array_equal(typical, [3, 0])  # 0.1, 0.2
    np.testing.assert_array_equal(atypical, [2, 5])  # 0.9, 0.6
    with pytest.raises(ValueError, match=r"clusters should have shape \(6,\)"):
        cluster_extremes(VALUES, clusters[:4], 0)


def test_hardest_first() -> None:
    np.testing.assert_array_equal(hardest_first(VALUES, [0, 1, 2, 3]), [2, 1, 0, 3])
    assert hardest_first(VALUES, []).size == 0
    with pytest.raises(ValueError, match=r"rows should lie in \[0, 6\)"):
        hardest_first(VALUES, [6])


def test_count_groups_prefers_labels_then_clusters() -> None:
    labels = np.array([1, 0, 1])
    grouping = count_groups(labels=labels, class_names=("cat", "dog"), clusters=np.array([0, 0, 2]))
    assert grouping is not None
    assert (grouping.kind, grouping.names) == ("class", ("cat", "dog"))
    grouping = count_groups(labels=None, class_names=(), clusters=np.array([0, 0, 2]))
    assert grouping is not None
    assert (grouping.kind, grouping.names) == ("cluster", ("0", "1", "2"))
    assert count_groups(labels=None, class_names=(), clusters=None) is None
    with pytest.raises(ValueError, match="label code 2 should be < len"):
        count_groups(labels=np.array([2]), class_names=("a",), clusters=None)


def test_cluster_medians_of_three_blobs() -> None:
    coords = np.array([[0, 0], [2, 0], [1, 9], [10, 10], [12, 12], [11, 11]], dtype=float)
    ids, medians = cluster_medians(coords, np.array([0, 0, 0, 2, 2, 2]))
    np.testing.assert_array_equal(ids, [0, 2])
    np.testing.assert_array_equal(medians, [[1, 0], [11, 11]])
    assert medians.dtype == np.float32
    with pytest.raises(ValueError, match=r"coords should have shape \(n, 2\)"):
        cluster_medians(np.zeros((3, 3)), np.zeros(3, int))


def test_upscale_nearest_repeats_pixels() -> None:
    images = np.arange(8, dtype=np.uint8).reshape(2, 2, 2)
    big = upscale_nearest(images, min_size=5)  # factor ceil(5 / 2) = 3
    assert big.shape == (2, 6, 6)
    assert big.dtype == np.uint8
    np.testing.assert_array_equal(big[0, :3, :3], 0)
    np.testing.assert_array_equal(big[1, 3:, 3:], 7)
    assert upscale_nearest(images, min_size=2) is images
    assert upscale_nearest(np.zeros((1, 4, 4, 3)), min_size=8).shape == (1, 8, 8, 3)
    with pytest.raises(ValueError, match="min_size=0"):
        upscale_nearest(images, min_size=0)
    with pytest.raises(ValueError, match="images should have shape"):
        upscale_nearest(np.zeros((4, 4)), min_size=8)


@pytest.mark.parametrize("strategy", ["keep_hard", "keep_easy"])
@pytest.mark.parametrize("n_shown", [0, 1, 3, 8, 500])
def test_cut_neighbours_equal_a_full_stable_sort_with_many_ties(
    strategy: str, n_shown: int
) -> None:
    """The partial selection returns exactly what sorting everything would, ties by row."""
    rng = np.random.default_rng(n_shown)
    for trial in range(20):
        values = rng.integers(0, 4 + trial, size=200).astype(np.float64)  # heavy ties
        kept = rng.random(200) < rng.uniform(0.05, 0.95)
        if kept.all() or not kept.any():
            continue
        cut = cut_neighbours(values, kept, strategy=strategy, n=n_shown)
        sign = 1.0 if strategy == "keep_hard" else -1.0
        kept_rows, pruned_rows = np.flatnonzero(kept), np.flatnonzero(~kept)
        kept_order = kept_rows[np.argsort(sign * values[kept_rows], kind="stable")]
        pruned_order = pruned_rows[np.argsort(-sign * values[pruned_rows], kind="stable")]
        np.testing.assert_array_equal(cut.just_kept, kept_order[:n_shown])
        np.testing.assert_array_equal(cut.just_pruned, pruned_order[:n_shown])
        assert cut.threshold == (values[kept_order[0]] + values[pruned_order[0]]) / 2
