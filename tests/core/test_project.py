"""core.analysis.projection: stratified subsamples keep the extremes; projections are deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis.projection import project_2d, stratified_subsample


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
    assert first.params["n_jobs"] == 1
    assert np.array_equal(first.coords, second.coords)


def test_project_rows_projects_only_the_given_rows() -> None:
    from core.analysis.projection import project_2d, project_rows

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6)).astype(np.float32)
    rows = np.array([3, 7, 11, 20, 21, 40, 49])
    out = project_rows(x, rows, method="pca", seed=0)
    assert out.coords.shape == (50, 2)
    np.testing.assert_array_equal(out.coords[rows], project_2d(x[rows], method="pca").coords)
    others = np.setdiff1d(np.arange(50), rows)
    assert np.isnan(out.coords[others]).all()
    assert out.params["projected_rows"] == 7


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (np.array([1]), "at least 2"),
        (np.array([0, 50]), r"should lie in \[0, 50\)"),
        (np.array([2, 2, 3]), "should not repeat"),
        (np.array([0.5, 1.5]), "integer"),
    ],
)
def test_project_rows_rejects_bad_rows(rows: np.ndarray, message: str) -> None:
    from core.analysis.projection import project_rows

    with pytest.raises(ValueError, match=message):
        project_rows(np.zeros((50, 3), dtype=np.float32), rows, method="pca")
