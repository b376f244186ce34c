"""Tests for core.scores.kmeans: fit, seeding, sampling path, nearest-centroid search, validation."""

from __future__ import annotations

import numpy as np
import pytest

from core.scores.kmeans import fit_kmeans, nearest_centroids

BACKENDS = ("faiss", "sklearn")


def three_blobs(n_per: int = 30, seed: int = 0) -> np.ndarray:
    """Three tight blobs on the coordinate axes (distance 5 from the origin), float64 (3n, 3)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0]])
    return np.vstack([rng.normal(0, 0.05, (n_per, 3)) + c for c in centres])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("spherical", [True, False])
def test_recovers_three_blobs(backend: str, spherical: bool) -> None:
    x = three_blobs()
    result = fit_kmeans(x, k=3, backend=backend, spherical=spherical, seed=0)
    assert result.centroids.shape == (3, 3)
    assert result.centroids.dtype == np.float32
    assert result.assignments.shape == (90,)
    assert result.assignments.dtype == np.int64
    assert result.backend == backend
    assert result.spherical is spherical
    # Each blob maps to exactly one cluster, and the three clusters differ.
    blob_clusters = [set(result.assignments[i * 30 : (i + 1) * 30]) for i in range(3)]
    assert all(len(c) == 1 for c in blob_clusters)
    assert len(set().union(*blob_clusters)) == 3
    if spherical:
        np.testing.assert_allclose(np.linalg.norm(result.centroids, axis=1), 1.0, atol=1e-5)
    else:
        # Plain k-means: each centroid is close to its blob's centre (5 on one axis).
        np.testing.assert_allclose(np.sort(result.centroids.max(axis=1)), 5.0, atol=0.05)


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_seed_same_centroids(backend: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 8)).astype(np.float32)
    a = fit_kmeans(x, k=7, backend=backend, seed=3)
    b = fit_kmeans(x, k=7, backend=backend, seed=3)
    np.testing.assert_array_equal(a.centroids, b.centroids)
    np.testing.assert_array_equal(a.assignments, b.assignments)
    assert a.inertia == b.inertia
    assert a.seed == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_large_n_fits_on_a_sample_and_assigns_all(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """N > max_points_per_centroid * k: the fit sees a sample of exactly that many rows."""
    import core.scores.kmeans as kmeans_module

    seen: list[int] = []
    real = kmeans_module._fit_faiss if backend == "faiss" else kmeans_module._fit_sklearn
    name = "_fit_faiss" if backend == "faiss" else "_fit_sklearn"

    def spy(sample, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(sample.shape[0])
        return real(sample, *args, **kwargs)

    monkeypatch.setattr(kmeans_module, name, spy)
    x = three_blobs(n_per=200)  # N = 600 > 10 * 3
    result = fit_kmeans(x, k=3, backend=backend, max_points_per_centroid=10, seed=0)
    assert seen == [30]
    assert result.assignments.shape == (600,)
    # Every one of the N rows is assigned to its nearest centroid.
    _, idx = nearest_centroids(x, result.centroids, distance="cosine", n_nearest=1)
    np.testing.assert_array_equal(result.assignments, idx[:, 0])
    assert all(len(set(result.assignments[i * 200 : (i + 1) * 200])) == 1 for i in range(3))


def test_inertia_is_sum_of_squared_distances() -> None:
    x = three_blobs()
    result = fit_kmeans(x, k=3, spherical=False, seed=0)
    expected = ((x - result.centroids[result.assignments].astype(np.float64)) ** 2).sum()
    assert result.inertia == pytest.approx(expected, rel=1e-4)


def test_nearest_centroids_matches_brute_force() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((500, 6)).astype(np.float32) * 3 + 1
    c = rng.standard_normal((9, 6)).astype(np.float32)
    # chunk_size=64 forces many blocks.
    dist, idx = nearest_centroids(x, c, distance="euclidean", n_nearest=3, chunk_size=64)
    full = np.linalg.norm(x[:, None, :].astype(np.float64) - c[None], axis=2)
    order = np.argsort(full, axis=1, kind="stable")[:, :3]
    np.testing.assert_array_equal(idx, order)
    np.testing.assert_allclose(dist, np.take_along_axis(full, order, axis=1), rtol=1e-4, atol=1e-4)
    assert dist.dtype == np.float32
    assert idx.dtype == np.int64
    assert (np.diff(dist, axis=1) >= 0).all()

    dist, idx = nearest_centroids(x, c, distance="cosine", n_nearest=2, chunk_size=100)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    cn = c / np.linalg.norm(c, axis=1, keepdims=True)
    cos_dist = 1.0 - xn.astype(np.float64) @ cn.T.astype(np.float64)
    order = np.argsort(cos_dist, axis=1, kind="stable")[:, :2]
    np.testing.assert_array_equal(idx, order)
    np.testing.assert_allclose(dist, np.take_along_axis(cos_dist, order, axis=1), atol=1e-5)


def test_nearest_centroids_many_neighbours_uses_partition_path() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 4)).astype(np.float32)
    c = rng.standard_normal((12, 4)).astype(np.float32)
    _dist, idx = nearest_centroids(x, c, distance="euclidean", n_nearest=6)
    full = np.linalg.norm(x[:, None, :] - c[None], axis=2)
    np.testing.assert_array_equal(idx, np.argsort(full, axis=1)[:, :6])


def test_ties_go_to_lower_centroid_index() -> None:
    x = np.array([[1.0, 0.0]])
    c = np.array([[0.0, 1.0], [0.0, -1.0], [2.0, 0.0]])  # x is equidistant from 0 and 1
    _, idx = nearest_centroids(x, c, distance="euclidean", n_nearest=3)
    np.testing.assert_array_equal(idx, [[2, 0, 1]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 5000}, "k=5000 should be <= n_examples=90"),
        ({"k": 0}, "k=0 should be >= 1"),
        ({"k": 2.5}, "k=2.5 should be an integer"),
        ({"k": True}, "k=True should be an integer"),
        ({"k": 3, "backend": "gpu"}, "backend='gpu' is not one of auto, faiss, sklearn"),
        ({"k": 3, "n_iter": 0}, "n_iter=0 should be >= 1"),
        ({"k": 3, "max_points_per_centroid": 0}, "max_points_per_centroid=0"),
        ({"k": 3, "seed": -1}, "seed=-1 should be >= 0"),
    ],
)
def test_fit_kmeans_rejects_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fit_kmeans(three_blobs(), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("embeddings", "match"),
    [
        (np.zeros(5), r"should be 2-D \(n, d\), got shape \(5,\)"),
        (np.zeros((0, 3)), "at least one row"),
        (np.array([["a", "b"]]), "real-valued"),
        (np.array([[1.0, np.nan], [1, 2], [np.inf, 0]]), "2 row.*NaN or inf.*first rows: 0, 2"),
        (np.array([[1e39, 0.0]]), "NaN or inf"),  # overflows float32
    ],
)
def test_fit_kmeans_rejects_bad_embeddings(embeddings: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fit_kmeans(embeddings, k=1)


def test_nearest_centroids_rejects_bad_arguments() -> None:
    x = np.ones((4, 3))
    with pytest.raises(ValueError, match="centroids have d=2 but embeddings have d=3"):
        nearest_centroids(x, np.ones((2, 2)))
    with pytest.raises(ValueError, match="n_nearest=3 should be <= 2"):
        nearest_centroids(x, np.ones((2, 3)), n_nearest=3)
    with pytest.raises(ValueError, match="distance='manhattan' is not one of cosine, euclidean"):
        nearest_centroids(x, np.ones((2, 3)), distance="manhattan")
    with pytest.raises(ValueError, match="chunk_size=0 should be >= 1"):
        nearest_centroids(x, np.ones((2, 3)), chunk_size=0)
