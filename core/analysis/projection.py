"""2-D projections of embeddings for the map, and score-stratified subsamples for plotting.

Rows are L2-normalised before projecting, so the map shows the cosine geometry the SSP metric uses
(Sorscher et al. 2022 score with cosine distance to spherical k-means centroids).

UMAP (McInnes et al. 2018, umap-learn) is run with ``random_state=seed`` and ``n_jobs=1``: a fixed
seed makes umap-learn single-threaded, which is what makes the layout reproducible. Its neighbour
graph is given to it: the exact nearest neighbours by cosine (:func:`exact_knn`, faiss), not
pynndescent's approximate graph, whose ``nn_descent`` kernel numba cannot cache on disk.
umap-learn is imported through :func:`core.cache_dir.import_umap`, so its numba kernels compile
once per machine (about 30 s, cached on disk; 3.5 s to load in a new process) rather than once
per process.

Large datasets (:func:`project_sampled`): UMAP is fitted on a seeded sample of at most ``max_fit``
rows, stratified along the first principal component, and every other row is placed at the
inverse-distance weighted mean of the 2-D positions of its ``k_place`` nearest fitted rows (cosine,
exact faiss search). The cost grows gently with N and every row gets coordinates.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np

from core._progress import ProgressFn, report, sub_progress

METHODS = ("umap", "pca")
#: :func:`project_sampled`: UMAP is fitted on at most this many rows; the rest are placed.
#: 15,000 rather than 20,000: a quarter less fitting time at the same trustworthiness (100k x 64
#: mixture, 3k-row check: 0.9894 vs 0.9892; 7.7-8.1 s vs 10.8 s warm on 2 cores).
DEFAULT_MAX_FIT = 15_000
#: :func:`project_sampled`: a placed row sits at the weighted mean of this many fitted neighbours.
DEFAULT_K_PLACE = 10
#: How UMAP's neighbour graph is built (:func:`exact_knn`); part of a stored map's key, so that
#: maps built another way (pynndescent's approximate graph, before) are never read back.
UMAP_NEIGHBOURS = "exact-faiss"
_PLACE_CHUNK = 65_536


@dataclass(frozen=True, slots=True)
class ProjectionParams:
    """What produced a :class:`Projection`; a field is None when the method has no such parameter.

    ``seed`` and ``normalised`` (rows L2-normalised first) always; UMAP adds ``n_neighbors``,
    ``min_dist`` and ``n_jobs`` (1: single-threaded, so the layout is reproducible);
    :func:`project_sampled` adds ``fitted_rows`` (rows the UMAP was fitted on) and ``k_place``
    (fitted neighbours each other row is placed between) when it sampled.
    """

    seed: int
    normalised: bool = True
    n_neighbors: int | None = None
    min_dist: float | None = None
    n_jobs: int | None = None
    fitted_rows: int | None = None
    k_place: int | None = None


@dataclass(frozen=True, eq=False, slots=True)
class Projection:
    """A 2-D layout of every example.

    Attributes
    ----------
    coords : ndarray of shape (n, 2), float32
    method : "umap" or "pca"
    params : ProjectionParams
        The parameters used.
    """

    coords: np.ndarray
    method: str
    params: ProjectionParams


def project_2d(
    embeddings: np.ndarray,
    *,
    method: str = "umap",
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    progress: ProgressFn | None = None,
) -> Projection:
    """Project embeddings to 2-D with UMAP or PCA, deterministically for a given seed.

    Parameters
    ----------
    embeddings : ndarray of shape (n, d)
        Finite values, n >= 2. Rows are L2-normalised first (zero rows stay zero).
    method : {"umap", "pca"}
        UMAP runs single-threaded (``n_jobs=1``, ``random_state=seed``) so the layout is
        reproducible; PCA uses a full eigendecomposition of the covariance (sign-fixed).
    seed : int
    n_neighbors : int
        UMAP neighbourhood size, clipped to ``n - 1``.
    min_dist : float
        UMAP minimum distance between embedded points.
    progress : callable (fraction, message) or None

    Returns
    -------
    Projection
        ``coords`` of shape (n, 2), float32.

    Raises
    ------
    ValueError
        For an unknown method, a non-2-D array, fewer than 2 rows, or NaN/inf values.
    """
    embeddings = _checked(embeddings, method)
    if n_neighbors < 2:
        raise ValueError(f"n_neighbors={n_neighbors} should be >= 2")
    if not min_dist >= 0.0:
        raise ValueError(f"min_dist={min_dist} should be >= 0")
    x = _normalise(embeddings.astype(np.float64))
    if method == "pca":
        return _pca(x, seed=seed, progress=progress)
    return _umap(x, seed=seed, n_neighbors=n_neighbors, min_dist=min_dist, progress=progress)


def project_sampled(
    embeddings: np.ndarray,
    *,
    method: str = "umap",
    seed: int = 0,
    max_fit: int = DEFAULT_MAX_FIT,
    k_place: int = DEFAULT_K_PLACE,
    progress: ProgressFn | None = None,
) -> Projection:
    """2-D coordinates for every row, fitting UMAP on a sample of at most ``max_fit`` rows.

    Up to ``max_fit`` rows (and always for PCA, which is cheap) this is exactly
    :func:`project_2d`. Above it, UMAP is fitted on :func:`fit_sample` rows (their coordinates
    are exactly ``project_2d(embeddings[rows], ...)``) and every other row is placed at the
    inverse-distance weighted mean of the 2-D positions of its ``k_place`` nearest fitted rows by
    cosine similarity (exact faiss inner-product search on L2-normalised rows): deterministic, and
    far cheaper than ``UMAP.transform``. Same inputs and seed give the same bytes.

    Parameters
    ----------
    embeddings : ndarray of shape (n, d)
        Finite values, n >= 2.
    method : {"umap", "pca"}
    seed : int
    max_fit : int
        Most rows UMAP is fitted on, >= 4.
    k_place : int
        Fitted neighbours averaged to place a row, >= 1 (clipped to the fitted count).
    progress : callable (fraction, message) or None

    Returns
    -------
    Projection
        ``coords`` of shape (n, 2), float32, finite; ``params`` sets ``fitted_rows`` and
        ``k_place`` when rows were placed.

    Raises
    ------
    ValueError
        As :func:`project_2d`, and for ``max_fit < 4`` or ``k_place < 1``.
    """
    embeddings = _checked(embeddings, method)
    if max_fit < 4:
        raise ValueError(f"max_fit={max_fit} should be >= 4")
    if k_place < 1:
        raise ValueError(f"k_place={k_place} should be >= 1")
    n = embeddings.shape[0]
    if method == "pca" or n <= max_fit:
        return project_2d(embeddings, method=method, seed=seed, progress=progress)
    x = _normalise(embeddings.astype(np.float32, copy=False)).astype(np.float32, copy=False)
    fitted = fit_sample(x, max_fit, seed=seed)
    report(progress, 0.0, f"UMAP on a sample of {fitted.size:,} of {n:,} rows")
    part = project_2d(
        embeddings[fitted], method=method, seed=seed, progress=sub_progress(progress, 0.0, 0.8)
    )
    coords = _place(x, fitted, part.coords, k=min(k_place, fitted.size), progress=progress)
    report(progress, 1.0, f"UMAP done: {fitted.size:,} fitted, {n - fitted.size:,} placed")
    params = dataclasses.replace(part.params, fitted_rows=int(fitted.size), k_place=int(k_place))
    return Projection(coords, part.method, params)


def fit_sample(embeddings: np.ndarray, max_fit: int, *, seed: int = 0) -> np.ndarray:
    """Seeded sample of at most ``max_fit`` rows spread along the first principal component.

    Rows are ranked by their first principal component (sign fixed so the largest loading is
    positive) and drawn with :func:`stratified_subsample`, so the sample covers the whole spread
    of the data, its two extremes included.

    Parameters
    ----------
    embeddings : ndarray of shape (n, d), finite
    max_fit : int, >= 2
    seed : int

    Returns
    -------
    ndarray of shape (min(n, max_fit),), int64
        Sorted unique row indices.
    """
    x = np.asarray(embeddings, dtype=np.float32)
    mean = x.mean(axis=0, dtype=np.float64)
    gram = (x.T @ x).astype(np.float64) / x.shape[0] - np.outer(mean, mean)
    _, vectors = np.linalg.eigh(gram)
    axis = vectors[:, -1]
    axis = axis * (1.0 if axis[np.argmax(np.abs(axis))] >= 0 else -1.0)
    first_component = x @ axis.astype(np.float32)
    return stratified_subsample(first_component, max_fit, seed=seed, n_extremes=1)


def _place(
    x: np.ndarray,
    fitted: np.ndarray,
    fitted_coords: np.ndarray,
    *,
    k: int,
    progress: ProgressFn | None,
) -> np.ndarray:
    """Coordinates of every row: fitted rows keep theirs, the rest get their neighbours' mean."""
    import faiss

    n = x.shape[0]
    coords = np.empty((n, 2), dtype=np.float32)
    coords[fitted] = fitted_coords
    rest = np.setdiff1d(np.arange(n, dtype=np.int64), fitted, assume_unique=True)
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(np.ascontiguousarray(x[fitted], dtype=np.float32))
    anchors = fitted_coords.astype(np.float64)
    for start in range(0, rest.size, _PLACE_CHUNK):
        rows = rest[start : start + _PLACE_CHUNK]
        similarity, neighbours = index.search(np.ascontiguousarray(x[rows]), k)
        # Inverse cosine distance; the floor keeps an exact duplicate of a fitted row on top of it.
        weights = 1.0 / (np.maximum(1.0 - similarity.astype(np.float64), 0.0) + 1e-6)
        placed = np.einsum("rk,rkc->rc", weights, anchors[neighbours]) / weights.sum(
            axis=1, keepdims=True
        )
        coords[rows] = placed.astype(np.float32)
        done = min(start + _PLACE_CHUNK, rest.size) / rest.size
        report(progress, 0.8 + 0.2 * done, f"placing the other rows: {done:.0%}")
    return coords


def warm_up_umap(*, seed: int = 0) -> None:
    """Compile (or load from the disk cache) umap-learn's numba kernels with a tiny fit.

    Called once per server process in a background thread, so the first map a user asks for
    does not pay the compilation. A 300 x 8 fit through the same code path as a real one
    (:func:`_umap`, exact neighbours given to UMAP): the same kernels and types, under a second
    once they are in the disk cache.
    """
    rows = np.random.default_rng(seed).normal(size=(300, 8)).astype(np.float32)
    _umap(_normalise(rows), seed=seed, n_neighbors=15, min_dist=0.1, progress=None)


def _checked(embeddings: np.ndarray, method: str) -> np.ndarray:
    if method not in METHODS:
        raise ValueError(f"method={method!r} should be one of {METHODS}")
    embeddings = np.asarray(embeddings)
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings should be 2-D (n, d), got shape {embeddings.shape}")
    if embeddings.shape[0] < 2:
        raise ValueError(f"n_examples={embeddings.shape[0]} should be >= 2 to project")
    if not np.all(np.isfinite(embeddings)):
        raise ValueError("embeddings contain NaN or inf values")
    return embeddings


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def exact_knn(rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest rows (itself first) and their Euclidean distances, exactly.

    ``rows`` are L2-normalised float32, so the nearest by Euclidean distance are the most similar
    by inner product: an exact faiss ``IndexFlatIP`` search, and ``d = sqrt(2 - 2 s)``. UMAP is
    given these (``precomputed_knn``) instead of building its own approximate graph with
    pynndescent, whose ``nn_descent`` kernel numba cannot cache: every new process compiled it
    again (30-50 s). An exhaustive search is also deterministic, and on a fit sample of 15,000
    rows it takes a fraction of a second.

    Returns
    -------
    (indices, distances) : int64 and float32 arrays of shape (n, k)
    """
    import faiss

    index = faiss.IndexFlatIP(rows.shape[1])
    index.add(rows)
    similarity, indices = index.search(rows, k)
    # A row is its own nearest neighbour; an exact duplicate may come first instead of it.
    distances = np.sqrt(np.maximum(2.0 - 2.0 * similarity, 0.0)).astype(np.float32)
    return indices.astype(np.int64), distances


def _pca(x: np.ndarray, *, seed: int, progress: ProgressFn | None) -> Projection:
    from sklearn.decomposition import PCA

    report(progress, 0.0, "PCA projection")
    n, d = x.shape
    if d == 1:
        coords = np.column_stack([x[:, 0] - x[:, 0].mean(), np.zeros(n)])
    else:
        coords = PCA(n_components=2, svd_solver="covariance_eigh", random_state=seed).fit_transform(
            x
        )
    report(progress, 1.0, "PCA projection done")
    return Projection(
        coords=np.ascontiguousarray(coords, dtype=np.float32),
        method="pca",
        params=ProjectionParams(seed=seed),
    )


def _umap(
    x: np.ndarray, *, seed: int, n_neighbors: int, min_dist: float, progress: ProgressFn | None
) -> Projection:
    from core.cache_dir import import_umap

    report(progress, 0.0, "UMAP: importing and compiling numba kernels (about 30 s the first time)")
    umap = import_umap()

    n = x.shape[0]
    n_neighbors = min(n_neighbors, n - 1)
    report(progress, 0.1, f"UMAP: {n:,} points, n_neighbors={n_neighbors}, single-threaded")
    if n <= 3:  # UMAP's spectral init needs a few points; a line is the honest layout
        coords = np.column_stack([np.arange(n, dtype=np.float64), np.zeros(n)])
    else:
        rows = np.ascontiguousarray(x, dtype=np.float32)
        report(progress, 0.15, f"UMAP: exact {n_neighbors} nearest neighbours (faiss)")
        model = umap.UMAP(
            n_components=2,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            random_state=seed,
            transform_seed=seed,
            n_jobs=1,
            init="spectral" if n > n_neighbors + 1 else "random",
            precomputed_knn=exact_knn(rows, n_neighbors),
        )
        with warnings.catch_warnings():
            # Expected: without pynndescent's index UMAP.transform is unavailable (not used here).
            warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
            coords = model.fit_transform(rows)
    report(progress, 1.0, "UMAP done")
    return Projection(
        coords=np.ascontiguousarray(coords, dtype=np.float32),
        method="umap",
        params=ProjectionParams(seed=seed, n_neighbors=n_neighbors, min_dist=min_dist, n_jobs=1),
    )


def stratified_subsample(
    scores: np.ndarray, max_points: int, *, seed: int = 0, n_extremes: int = 100
) -> np.ndarray:
    """Row indices of at most ``max_points`` examples spread over the score range.

    The ``n_extremes`` hardest and easiest examples are always included (so ``argmax`` and
    ``argmin`` of ``scores`` always are); the remaining budget is split over equal-count score
    strata (by rank) and drawn at random, with the seed, within each stratum. Sampling "the first
    N" rows would mislead when rows are ordered by class or source.

    Parameters
    ----------
    scores : ndarray of shape (n,)
        Higher = harder. Finite.
    max_points : int
        Budget, >= 2. When ``n <= max_points`` every row is returned.
    seed : int
    n_extremes : int
        How many of the hardest and of the easiest to always keep, >= 1; clipped to
        ``max_points // 2``.

    Returns
    -------
    ndarray of shape (min(n, max_points),), int64
        Sorted unique row indices.

    Raises
    ------
    ValueError
        For non-1-D or non-finite scores, ``max_points < 2`` or ``n_extremes < 1``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"scores should be 1-D, got shape {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or inf values")
    if max_points < 2:
        raise ValueError(f"max_points={max_points} should be >= 2")
    if n_extremes < 1:
        raise ValueError(f"n_extremes={n_extremes} should be >= 1")
    n = scores.shape[0]
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    return _stratified(
        scores, int(max_points), seed=seed, n_extremes=min(n_extremes, max_points // 2)
    )


def _stratified(scores: np.ndarray, max_points: int, *, seed: int, n_extremes: int) -> np.ndarray:
    n = scores.shape[0]
    # Stable sorts break ties by index, so the first hardest is np.argmax and the first easiest
    # is np.argmin.
    hardest = np.argsort(-scores, kind="stable")[:n_extremes]
    easiest = np.argsort(scores, kind="stable")
    chosen = np.zeros(n, dtype=bool)
    chosen[hardest] = True
    chosen[easiest[:n_extremes]] = True
    middle = easiest[~chosen[easiest]]  # the rest, in score order
    budget = max_points - int(chosen.sum())
    if budget <= 0:
        return np.flatnonzero(chosen).astype(np.int64)
    rng = np.random.default_rng(seed)
    n_strata = min(budget, 50)
    strata = np.array_split(middle, n_strata)
    sizes = np.array([len(s) for s in strata], dtype=np.float64)
    quota = np.floor(budget * sizes / sizes.sum()).astype(np.int64)
    # Largest remainder, ties to the lower stratum, so the total is exactly the budget.
    remainder = budget * sizes / sizes.sum() - quota
    quota[np.argsort(-remainder, kind="stable")[: budget - int(quota.sum())]] += 1
    for stratum, q in zip(strata, quota, strict=True):
        if q:
            chosen[rng.choice(stratum, size=int(q), replace=False)] = True
    return np.flatnonzero(chosen).astype(np.int64)
