"""Tests for core.scores.metrics: orientation (higher = harder) on planted data, options, validation."""

from __future__ import annotations

import numpy as np
import pytest

from core.scores.metrics import (
    compute_scores,
    default_k,
    score_class_prototype,
    score_prototype_margin,
    score_random,
    score_ssp,
)
from core.scores.registry import METRICS

BACKENDS = ("faiss", "sklearn")
DISTANCES = ("cosine", "euclidean")


def blobs_and_outlier(seed: int = 0) -> np.ndarray:
    """Three tight blobs (30 each) on the axes at distance 5, plus one planted far point (row 90)
    along the diagonal: far from every blob in angle and in Euclidean distance."""
    rng = np.random.default_rng(seed)
    centres = np.array([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0]])
    blobs = [rng.normal(0, 0.05, (30, 3)) + c for c in centres]
    return np.vstack([*blobs, [[3.0, 3.0, 3.0]]])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("distance", DISTANCES)
def test_ssp_planted_outlier_scores_highest(backend: str, distance: str) -> None:
    x = blobs_and_outlier()
    scores = score_ssp(x, k=3, distance=distance, backend=backend, seed=0)
    assert scores.values.dtype == np.float64
    assert scores.values.shape == (91,)
    assert int(np.argmax(scores.values)) == 90
    assert (scores.values[:90] < scores.values[90]).all()
    assert scores.params.backend == backend
    assert scores.params.distance == distance
    assert scores.params.k == 3
    assert scores.params.seed == 0
    assert scores.centroids is not None
    assert scores.centroids.shape == (3, 3)
    assert scores.clusters is not None
    assert scores.clusters.dtype == np.int64


def test_ssp_cosine_value_is_one_minus_cosine_to_nearest_centroid() -> None:
    x = blobs_and_outlier()
    scores = score_ssp(x, k=3, seed=0)
    c = scores.centroids.astype(np.float64)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    expected = 1 - (xn @ (c / np.linalg.norm(c, axis=1, keepdims=True)).T).max(axis=1)
    np.testing.assert_allclose(scores.values, expected, atol=1e-5)
    # (3,3,3) has cos = 1/sqrt(3) to every axis; the blob it joins pulls its centroid slightly
    # towards it (1 point in 31), so the score is a little below 1 - 1/sqrt(3) = 0.423.
    assert 0.35 < scores.values[90] <= 1 - 1 / np.sqrt(3) + 1e-6


def test_cosine_and_euclidean_rank_clusters_differently() -> None:
    """Euclidean distance ranks every member of a wide cluster harder than every member of a
    tight one, even when the wide cluster's members all point in nearly the same direction;
    cosine only sees angles. Cluster A is tight in Euclidean terms (spread 0.05) but close to
    the origin (norm 1), so its angular spread is wide (~0.05 rad). Cluster B is wide in
    Euclidean terms (spread 0.5) but far from the origin (norm 100), so its angular spread is
    tiny (~0.005 rad). Euclidean: all of B harder than all of A. Cosine: the reverse."""
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.05, (40, 3)) + np.array([1.0, 0, 0])
    b = rng.normal(0, 0.5, (40, 3)) + np.array([0, 100.0, 0])
    x = np.vstack([a, b])
    euclid = score_ssp(x, k=2, distance="euclidean", seed=0).values
    cosine = score_ssp(x, k=2, distance="cosine", seed=0).values
    assert euclid[40:].min() > euclid[:40].max()
    assert cosine[:40].mean() > 5 * cosine[40:].mean()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("distance", DISTANCES)
def test_prototype_margin_midpoint_scores_highest(backend: str, distance: str) -> None:
    """A point midway between two blobs has d1 ~= d2: margin near 0, the highest of all.

    It joins one of the two clusters and pulls that centroid ~0.11 towards itself, so its margin
    is slightly negative, while every blob member has a margin below -3 (Euclidean)."""
    x = blobs_and_outlier()
    x[90] = [2.5, 2.5, 0.0]  # midway between the first two blobs
    scores = score_prototype_margin(x, k=3, distance=distance, backend=backend, seed=0)
    assert (scores.values <= 0).all()
    assert int(np.argmax(scores.values)) == 90
    assert scores.values[90] == pytest.approx(0.0, abs=0.25 if distance == "euclidean" else 0.05)
    assert (scores.values[:90] < -0.5 * (1 if distance == "euclidean" else 0.1)).all()


def test_prototype_margin_is_d1_minus_d2() -> None:
    x = blobs_and_outlier()
    scores = score_prototype_margin(x, k=3, distance="euclidean", seed=0)
    d = np.linalg.norm(x[:, None, :] - scores.centroids[None].astype(np.float64), axis=2)
    d.sort(axis=1)
    np.testing.assert_allclose(scores.values, d[:, 0] - d[:, 1], atol=1e-4)


@pytest.mark.parametrize("distance", DISTANCES)
def test_class_prototype_mislabeled_point_scores_highest(distance: str) -> None:
    x = blobs_and_outlier()[:90]
    labels = np.repeat(["cat", "dog", "emu"], 30)
    labels[5] = "emu"  # a blob-0 member labelled as the third class
    scores = score_class_prototype(x, labels, distance=distance)
    assert int(np.argmax(scores.values)) == 5
    assert scores.params.classes == ("cat", "dog", "emu")
    assert scores.clusters is not None
    assert scores.clusters[5] == 2
    assert scores.centroids is not None
    assert scores.centroids.shape == (3, 3)


def test_class_prototype_euclidean_value_is_distance_to_class_mean() -> None:
    x = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [10.0, 14.0]])
    scores = score_class_prototype(x, [0, 0, 1, 1], distance="euclidean")
    np.testing.assert_allclose(scores.values, [1.0, 1.0, 2.0, 2.0], atol=1e-6)


def test_random_is_seeded_uniform() -> None:
    a, b, c = score_random(1000, seed=1), score_random(1000, seed=1), score_random(1000, seed=2)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    assert a.values.min() >= 0.0
    assert a.values.max() < 1.0
    assert abs(a.values.mean() - 0.5) < 0.05


@pytest.mark.parametrize("backend", BACKENDS)
def test_knn_density_planted_outlier_scores_highest(backend: str) -> None:
    x = blobs_and_outlier()
    scores = compute_scores(x, "knn_density", k=5, backend=backend)
    assert int(np.argmax(scores.values)) == 90
    assert (scores.values[:90] < scores.values[90]).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_knn_disagreement_mislabeled_point_scores_highest(backend: str) -> None:
    x = blobs_and_outlier()[:90]
    labels = np.repeat([0, 1, 2], 30)
    labels[7] = 1
    scores = compute_scores(x, "knn_disagreement", k=5, labels=labels, backend=backend)
    assert scores.values[7] == 1.0
    assert int(np.argmax(scores.values)) == 7
    # Its blob neighbours each see at most one disagreeing neighbour (the mislabeled point).
    assert scores.values[np.arange(90) != 7].max() <= 0.2


def test_knn_excludes_self_even_with_duplicates() -> None:
    x = np.array([[1.0, 0], [1.0, 0], [0, 1.0], [0, 1.0]])
    scores = compute_scores(x, "knn_density", k=1)
    np.testing.assert_allclose(scores.values, 0.0, atol=1e-6)


@pytest.mark.parametrize("metric", METRICS)
def test_compute_scores_dispatches_every_metric(metric: str) -> None:
    x = blobs_and_outlier()
    labels = np.repeat([0, 1, 2], 31)[:91]
    scores = compute_scores(x, metric, labels=labels, seed=0)
    assert scores.metric == metric
    assert scores.values.shape == (91,)
    assert scores.values.dtype == np.float64
    assert np.isfinite(scores.values).all()
    if metric in ("ssp", "prototype_margin"):
        assert scores.params.k == 3  # default_k from the 3 label classes
        assert scores.params.backend in ("faiss", "sklearn")
        assert isinstance(scores.params.n_iter, int)


def test_compute_scores_same_seed_same_scores() -> None:
    x = np.random.default_rng(0).standard_normal((300, 5))
    a = compute_scores(x, "ssp", k=6, seed=4)
    b = compute_scores(x, "ssp", k=6, seed=4)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.centroids, b.centroids)


@pytest.mark.parametrize(
    ("n", "n_classes", "expected"),
    [
        (1, None, 1),
        (2, None, 2),
        (8, None, 2),
        (200, None, 10),
        (1797, None, 30),
        (10**7, None, 1000),
        (1797, 10, 10),
        (5, 10, 5),
        (100, 1, 2),
    ],
)
def test_default_k(n: int, n_classes: int | None, expected: int) -> None:
    assert default_k(n, n_classes) == expected


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: compute_scores(x, "el2n"), "metric='el2n' is not one of ssp, prototype_margin"),
        (lambda x: compute_scores(x, "class_prototype"), "needs labels"),
        (lambda x: compute_scores(x, "knn_disagreement"), "needs labels"),
        (
            lambda x: compute_scores(x, "ssp", labels=[0, 1]),
            "labels has length 2 but n_examples=91",
        ),
        (lambda x: compute_scores(x[:, 0], "ssp"), "should be 2-D"),
        (lambda x: compute_scores(x * np.nan, "ssp"), "91 row.*NaN or inf"),
        (lambda x: compute_scores(x, "ssp", k=5000), "k=5000 should be <= n_examples=91"),
        (lambda x: compute_scores(x, "ssp", distance="l1"), "distance='l1' is not one of"),
        (lambda x: compute_scores(x, "ssp", backend="gpu"), "backend='gpu' is not one of"),
        (lambda x: compute_scores(x, "ssp", seed=-3), "seed=-3 should be >= 0"),
        (lambda x: compute_scores(x, "prototype_margin", k=1), "needs k >= 2"),
        (lambda x: score_prototype_margin(x, k=1), "needs k >= 2"),
        (lambda x: score_ssp(x, k=0), "k=0 should be >= 1"),
        (lambda x: compute_scores(x, "knn_density", k=91), "should be <= n_examples - 1 = 90"),
        (lambda x: score_class_prototype(x, np.zeros((91, 2))), "labels should be 1-D"),
        (lambda x: score_random(0), "n=0 should be >= 1"),
        (lambda x: default_k(0), "n=0 should be >= 1"),
        (lambda x: default_k(10, 0), "n_classes=0 should be >= 1"),
    ],
)
def test_bad_inputs_raise_value_error(call, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        call(blobs_and_outlier())
