"""2-D projections of embeddings for the map, and score-stratified subsamples for plotting.

Rows are L2-normalised before projecting, so the map shows the cosine geometry the SSP metric uses
(Sorscher et al. 2022 score with cosine distance to spherical k-means centroids).

UMAP (McInnes et al. 2018, umap-learn) is run with ``random_state=seed`` and ``n_jobs=1``: a fixed
seed makes umap-learn single-threaded, which is what makes the layout reproducible. The first UMAP
call in a fresh process spends 20-45 s compiling numba kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core._progress import ProgressFn, report

METHODS = ("umap", "pca")


@dataclass(frozen=True, eq=False, slots=True)
class Projection:
    """A 2-D layout of every example.

    Attributes
    ----------
    coords : ndarray of shape (n, 2), float32
    method : "umap" or "pca"
    params : dict of the parameters used (seed, n_neighbors, min_dist, n_jobs, normalised).
    """

    coords: np.ndarray
    method: str
    params: dict[str, object] = field(default_factory=dict)


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
    if method not in METHODS:
        raise ValueError(f"method={method!r} should be one of {METHODS}")
    embeddings = np.asarray(embeddings)
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings should be 2-D (n, d), got shape {embeddings.shape}")
    if embeddings.shape[0] < 2:
        raise ValueError(f"n_examples={embeddings.shape[0]} should be >= 2 to project")
    if not np.all(np.isfinite(embeddings)):
        raise ValueError("embeddings contain NaN or inf values")
    if n_neighbors < 2:
        raise ValueError(f"n_neighbors={n_neighbors} should be >= 2")
    if not min_dist >= 0.0:
        raise ValueError(f"min_dist={min_dist} should be >= 0")
    x = _normalise(embeddings.astype(np.float64))
    if method == "pca":
        return _pca(x, seed=seed, progress=progress)
    return _umap(x, seed=seed, n_neighbors=n_neighbors, min_dist=min_dist, progress=progress)


def project_rows(
    embeddings: np.ndarray,
    rows: np.ndarray,
    *,
    method: str = "umap",
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> Projection:
    """Project only ``rows`` of the embeddings; every other row's coordinates are NaN.

    For large datasets the Map draws a stratified subsample (:func:`stratified_subsample`), and
    fitting UMAP on the plotted rows alone keeps a 1M-row dataset interactive (UMAP on all rows
    would take hours on a laptop). The layout of the projected rows is exactly
    ``project_2d(embeddings[rows], ...)``.

    Parameters
    ----------
    embeddings : ndarray of shape (n, d)
    rows : ndarray of shape (m,), int
        Distinct row indices in [0, n), m >= 2.
    method, seed, progress
        As for :func:`project_2d`.

    Returns
    -------
    Projection
        ``coords`` of shape (n, 2), NaN outside ``rows``; ``params["projected_rows"] = m``.

    Raises
    ------
    ValueError
        When ``rows`` is not 1-D, has fewer than 2 entries, repeats or is out of range.
    """
    x = np.asarray(embeddings)
    if x.ndim != 2:
        raise ValueError(f"embeddings should be 2-D (n, d), got shape {x.shape}")
    picked = np.asarray(rows)
    if picked.ndim != 1 or picked.size < 2 or picked.dtype.kind not in "iu":
        raise ValueError(
            f"rows should be a 1-D integer array of at least 2 indices, got {picked!r}"
        )
    if picked.min() < 0 or picked.max() >= x.shape[0]:
        raise ValueError(
            f"rows should lie in [0, {x.shape[0]}), got {picked.min()}..{picked.max()}"
        )
    if np.unique(picked).size != picked.size:
        raise ValueError("rows should not repeat")
    part = project_2d(x[picked], method=method, seed=seed, progress=progress)
    coords = np.full((x.shape[0], 2), np.nan, dtype=np.float32)
    coords[picked] = part.coords
    return Projection(coords, part.method, {**part.params, "projected_rows": int(picked.size)})


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


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
        params={"seed": seed, "normalised": True},
    )


def _umap(
    x: np.ndarray, *, seed: int, n_neighbors: int, min_dist: float, progress: ProgressFn | None
) -> Projection:
    report(progress, 0.0, "UMAP: importing and compiling numba kernels (20-45 s the first time)")
    import umap

    n = x.shape[0]
    n_neighbors = min(n_neighbors, n - 1)
    report(progress, 0.1, f"UMAP: {n:,} points, n_neighbors={n_neighbors}, single-threaded")
    if n <= 3:  # UMAP's spectral init needs a few points; a line is the honest layout
        coords = np.column_stack([np.arange(n, dtype=np.float64), np.zeros(n)])
    else:
        model = umap.UMAP(
            n_components=2,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            random_state=seed,
            transform_seed=seed,
            n_jobs=1,
            init="spectral" if n > n_neighbors + 1 else "random",
        )
        coords = model.fit_transform(x.astype(np.float32))
    report(progress, 1.0, "UMAP done")
    return Projection(
        coords=np.ascontiguousarray(coords, dtype=np.float32),
        method="umap",
        params={
            "seed": seed,
            "n_neighbors": n_neighbors,
            "min_dist": min_dist,
            "n_jobs": 1,
            "normalised": True,
        },
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
