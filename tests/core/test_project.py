"""core.analysis.projection: stratified subsamples keep the extremes; projections are deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis.projection import exact_knn, project_2d, stratified_subsample


@pytest.mark.parametrize(("n", "max_points"), [(1000, 10), (1000, 2), (5000, 777), (101, 100)])
def test_subsample_keeps_argmax_argmin_and_exact_size(n: int, max_points: int) -> None:
    scores = np.random.default_rng(n).normal(size=n)
    rows = stratified_subsample(scores, max_points, seed=1)
    assert rows.dtype == np.int64
    assert len(rows) == max_points
    assert np.array_equal(rows, np.unique(rows))  # sorted and unique
    assert np.argmax(scores) in rows
    assert np.argmin(scores) in rows


def test_subsample_with_ties_keeps_numpy_argmax_and_argmin() -> None:
    scores = np.zeros(500)
    scores[[7, 9]] = 1.0
    scores[[3, 400]] = -1.0
    rows = stratified_subsample(scores, 4, seed=0, n_extremes=1)
    assert 7 in rows
    assert 3 in rows


def test_subsample_is_deterministic_and_spreads_over_scores() -> None:
    scores = np.arange(10_000, dtype=float)[::-1].copy()  # row order opposite to score order
    first = stratified_subsample(scores, 1000, seed=3)
    assert np.array_equal(first, stratified_subsample(scores, 1000, seed=3))
    assert not np.array_equal(first, stratified_subsample(scores, 1000, seed=4))
    counts, _ = np.histogram(scores[first], bins=10)
    assert counts.min() >= 70  # every score decile represented, not "the first N rows"


def test_subsample_returns_everything_when_small() -> None:
    assert np.array_equal(stratified_subsample(np.ones(5), 10), np.arange(5))


@pytest.mark.parametrize(
    ("scores", "max_points", "kwargs", "match"),
    [
        (np.ones((3, 2)), 2, {}, "1-D"),
        (np.array([1.0, np.nan, 2.0]), 2, {}, "NaN"),
        (np.ones(5), 1, {}, "max_points=1"),
        (np.ones(5), 3, {"n_extremes": 0}, "n_extremes=0"),
    ],
)
def test_subsample_rejects_bad_input(scores, max_points, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        stratified_subsample(scores, max_points, **kwargs)


def test_pca_projection_shape_and_determinism() -> None:
    embeddings = np.random.default_rng(0).normal(size=(300, 12))
    first = project_2d(embeddings, method="pca", seed=0)
    second = project_2d(embeddings, method="pca", seed=0)
    assert first.coords.shape == (300, 2)
    assert first.coords.dtype == np.float32
    assert first.method == "pca"
    assert np.array_equal(first.coords, second.coords)


def test_pca_separates_planted_blobs() -> None:
    rng = np.random.default_rng(0)
    embeddings = np.vstack([rng.normal(size=(50, 8)) * 0.05 + c for c in np.eye(8)[:3] * 10])
    coords = project_2d(embeddings, method="pca").coords
    centres = np.array([coords[i * 50 : (i + 1) * 50].mean(axis=0) for i in range(3)])
    spread = max(coords[i * 50 : (i + 1) * 50].std(axis=0).max() for i in range(3))
    gaps = [np.linalg.norm(centres[a] - centres[b]) for a, b in ((0, 1), (0, 2), (1, 2))]
    assert min(gaps) > 10 * spread


@pytest.mark.parametrize(
    ("embeddings", "kwargs", "match"),
    [
        (np.ones(5), {}, "2-D"),
        (np.ones((1, 3)), {}, ">= 2"),
        (np.array([[0.0, np.inf], [1.0, 1.0]]), {}, "NaN or inf"),
        (np.ones((5, 3)), {"method": "tsne"}, "method='tsne'"),
    ],
)
def test_project_rejects_bad_input(embeddings, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        project_2d(embeddings, **kwargs)


@pytest.mark.slow
def test_umap_is_deterministic_with_a_seed() -> None:
    embeddings = np.random.default_rng(0).normal(size=(200, 8))
    first = project_2d(embeddings, method="umap", seed=0)
    second = project_2d(embeddings, method="umap", seed=0)
    assert first.coords.shape == (200, 2)
    assert first.params.n_jobs == 1
    assert np.array_equal(first.coords, second.coords)


def test_exact_knn_equals_brute_force_on_normalised_rows() -> None:
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(400, 12)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    indices, distances = exact_knn(rows, 15)
    assert indices.shape == distances.shape == (400, 15)
    assert indices.dtype == np.int64
    assert distances.dtype == np.float32
    full = np.linalg.norm(rows[:, None].astype(np.float64) - rows[None], axis=2)
    expected = np.argsort(full, axis=1, kind="stable")[:, :15]
    np.testing.assert_array_equal(indices[:, 0], np.arange(400))  # each row first: itself
    np.testing.assert_array_equal(np.sort(indices, axis=1), np.sort(expected, axis=1))
    np.testing.assert_allclose(
        distances, np.take_along_axis(full, indices, axis=1), rtol=0, atol=1e-3
    )
    assert (np.diff(distances, axis=1) >= 0).all()


@pytest.mark.slow
def test_umap_builds_no_approximate_neighbour_graph(monkeypatch) -> None:
    """UMAP gets exact neighbours: pynndescent (whose nn_descent numba recompiles in every
    process) and the small-data pairwise path are never used, at any size."""
    import umap.umap_ as umap_module

    def refuse(*args, **kwargs):
        raise AssertionError("UMAP computed its own neighbours")

    monkeypatch.setattr(umap_module, "nearest_neighbors", refuse)
    monkeypatch.setattr(umap_module, "pairwise_distances", refuse)
    embeddings = np.random.default_rng(0).normal(size=(300, 8))
    out = project_2d(embeddings, method="umap", seed=0)
    assert out.coords.shape == (300, 2)
    assert np.isfinite(out.coords).all()
