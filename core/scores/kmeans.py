"""k-means clustering (faiss or scikit-learn) and chunked nearest-centroid search."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from core._progress import ProgressFn, report, sub_progress
from core.scores.exact_sum import parts_total, sum_parts
from core.validate import check_choice, check_embeddings, check_int, check_k, check_seed

BACKENDS = ("auto", "faiss", "sklearn")
_DISTANCES = ("cosine", "euclidean")

# A block's (rows, k) score matrix is kept under this many float32 elements (16 MiB): memory stays
# bounded for any N, and blocks this size measured faster than larger ones (they stay in cache).
_BLOCK_ELEMENTS = 1 << 22
# Norms below this are treated as zero (a zero vector has no direction).
_TINY = 1e-12
# faiss is seeded by greedy k-means++ on a sub-sample of at most this many points per centroid.
_SEED_POINTS_PER_CENTROID = 32
# Elements of the float64 temporaries of the exact re-scoring (16 MiB).
_EXACT_ELEMENTS = 1 << 21
# Unit roundoff of float32: the screening product's error is at most about (d + 4) * this
# times sum |x_i c_i| whatever the summation order (Higham, Accuracy and Stability, 3.1).
_F32_EPS = 2.0**-24


def inertia_parts(nearest: np.ndarray, spherical: bool) -> np.ndarray:
    """The exact sum behind the inertia of these rows' nearest-centroid distances (add the
    parts of several chunks with ``+``; :func:`inertia_from_parts` rounds them)."""
    nearest = np.asarray(nearest, dtype=np.float64)
    return sum_parts(nearest if spherical else nearest * nearest)


def inertia_from_parts(parts: np.ndarray, spherical: bool) -> float:
    """Sum of squared distances to the nearest centroid, the same for any split of the rows
    (:mod:`core.scores.exact_sum`). For unit vectors ``|x - c|^2 = 2 - 2 cos`` = 2 * the
    cosine distance, so a spherical fit sums the distances and doubles (exactly)."""
    total = parts_total(parts)
    return 2.0 * total if spherical else total


@dataclass(frozen=True, eq=False, slots=True)
class KMeansResult:
    """A fitted k-means model and the assignment of every example.

    Attributes
    ----------
    centroids : ndarray of shape (k, d), float32
        Cluster centres; unit length when ``spherical``.
    assignments : ndarray of shape (n,), int64
        Index of the nearest centroid of every example (cosine when spherical, else Euclidean).
    inertia : float
        Sum over all n examples of the squared Euclidean distance to the assigned centroid,
        measured on the L2-normalised examples when ``spherical`` (then ``2 * cosine distance``).
    backend : str
        Backend actually used, ``"faiss"`` or ``"sklearn"`` (``"auto"`` resolved).
    spherical : bool
        Whether inputs were L2-normalised and centroids kept on the unit sphere.
    seed : int
        Seed of the sample and of the initialisation.
    n_iter : int
        Lloyd iterations run on the fitting sample.
    """

    centroids: np.ndarray
    assignments: np.ndarray
    inertia: float
    backend: str
    spherical: bool
    seed: int
    n_iter: int


def _resolve_backend(backend: str) -> str:
    """Map "auto" to "faiss" when faiss imports, else "sklearn"; check an explicit "faiss"."""
    if backend == "sklearn":
        return "sklearn"
    try:
        import faiss  # noqa: F401
    except ImportError:
        if backend == "faiss":
            raise ValueError(
                "backend='faiss' but faiss is not importable; install faiss-cpu or use "
                "backend='sklearn'"
            ) from None
        return "sklearn"
    return "faiss"


# ----------------------------------------------------------------------------- public functions


def fit_kmeans(
    embeddings: np.ndarray,
    *,
    k: int,
    backend: str = "auto",
    spherical: bool = True,
    seed: int = 0,
    n_iter: int = 20,
    max_points_per_centroid: int = 256,
    progress: ProgressFn | None = None,
) -> KMeansResult:
    """Fit k-means on a seeded sample, then assign every example to its nearest centroid.

    Parameters
    ----------
    embeddings : array_like of shape (n, d)
        Finite real values; used as float32 (no copy when already float32).
    k : int
        Number of clusters, ``1 <= k <= n``.
    backend : {"auto", "faiss", "sklearn"}
        ``"auto"`` uses faiss when importable, else scikit-learn. scikit-learn runs
        ``KMeans(n_clusters=k, random_state=seed, n_init=1, max_iter=n_iter)`` (k-means++ init,
        may stop early at its default tolerance); faiss is seeded by our greedy k-means++ (same
        rule as scikit-learn, on a sub-sample of at most 32 k rows) and runs at most ``n_iter``
        Lloyd iterations.
    spherical : bool
        When True (the SSP reference) examples are L2-normalised and centroids re-normalised to
        unit length; assignment is by cosine similarity. When False, plain Euclidean k-means on
        the raw embeddings.
    seed : int
        Seed of the fitting sample and of the initialisation; same seed => same centroids.
    n_iter : int
        Maximum Lloyd iterations.
    max_points_per_centroid : int
        The fit uses a seeded uniform sample (without replacement) of at most
        ``max_points_per_centroid * k`` rows; all n rows are then assigned in bounded-memory
        blocks, so no (n, k) matrix is ever built.
    progress : callable (fraction, message) or None

    Returns
    -------
    KMeansResult
        centroids (k, d) float32, assignments (n,) int64, inertia over all n examples.

    Raises
    ------
    ValueError
        Bad embeddings (not 2-D, empty, non-finite), ``k`` not an int in [1, n], unknown backend,
        ``backend="faiss"`` without faiss, or non-positive ``n_iter`` /
        ``max_points_per_centroid`` or a seed outside [0, 2**31 - 1].
    """
    x = check_embeddings(embeddings)
    k = check_k(k, x.shape[0])
    backend = check_choice("backend", backend, BACKENDS)
    seed = check_seed(seed)
    n_iter = check_int("n_iter", n_iter, low=1)
    max_points_per_centroid = check_int("max_points_per_centroid", max_points_per_centroid, low=1)
    result, _, _ = _fit_kmeans(
        x,
        k=k,
        backend=_resolve_backend(backend),
        spherical=bool(spherical),
        seed=seed,
        n_iter=n_iter,
        max_points_per_centroid=max_points_per_centroid,
        n_nearest=1,
        progress=progress,
    )
    return result


def nearest_centroids(
    embeddings: np.ndarray,
    centroids: np.ndarray,
    *,
    distance: str = "cosine",
    n_nearest: int = 2,
    chunk_size: int = 65536,
) -> tuple[np.ndarray, np.ndarray]:
    """Distances to, and indices of, the ``n_nearest`` closest centroids of every example.

    Works in row blocks with one float32 matrix product per block (``X @ C.T``; Euclidean
    distances from ``|x|^2 - 2 x.c + |c|^2``), so memory stays bounded for any n.

    Parameters
    ----------
    embeddings : array_like of shape (n, d)
    centroids : array_like of shape (k, d)
    distance : {"cosine", "euclidean"}
        ``"cosine"``: ``1 - x.c / (|x| |c|)`` (a zero vector has distance 1 to everything).
        ``"euclidean"``: ``|x - c|``.
    n_nearest : int
        ``1 <= n_nearest <= k``.
    chunk_size : int
        Maximum rows per block; blocks are further limited so a block's (rows, k) float32
        matrix stays under 16 MiB.

    Returns
    -------
    distances : ndarray of shape (n, n_nearest), float32, ascending along each row
    indices : ndarray of shape (n, n_nearest), int64; exact ties go to the lower centroid index
        (guaranteed for ``n_nearest <= 4``)

    Raises
    ------
    ValueError
        Bad arrays (not 2-D, empty, non-finite, mismatched d), unknown distance, or
        ``n_nearest`` / ``chunk_size`` out of range.
    """
    x = check_embeddings(embeddings)
    c = check_embeddings(centroids, "centroids")
    if c.shape[1] != x.shape[1]:
        raise ValueError(
            f"centroids have d={c.shape[1]} but embeddings have d={x.shape[1]}; they should match"
        )
    distance = check_choice("distance", distance, _DISTANCES)
    n_nearest = check_int("n_nearest", n_nearest, low=1, high=c.shape[0])
    chunk_size = check_int("chunk_size", chunk_size, low=1)
    return _nearest_centroids(x, c, distance=distance, n_nearest=n_nearest, chunk_size=chunk_size)


# ----------------------------------------------------------------------------- private helpers


def _normalize_rows(x: np.ndarray) -> np.ndarray:
    """L2-normalise the rows of a float32 array in place (zero rows stay zero) and return it.

    The norms are summed in a fixed order (:func:`_fixed_order_sq_norms`), so the result does
    not depend on the machine, its SIMD width or its thread count.
    """
    norms = np.sqrt(_fixed_order_sq_norms(x))
    np.maximum(norms, _TINY, out=norms)
    x /= norms.astype(np.float32)[:, None]
    return x


def _fixed_order_sums(products: np.ndarray) -> np.ndarray:
    """Sum over the first axis strictly in index order, float64.

    ``np.cumsum`` is sequential by definition (each partial sum is an output), unlike ``sum``,
    ``einsum`` or a BLAS product, whose order depends on SIMD width, blocking and threads.
    Summing the first axis keeps the adds vectorised across the other axes.
    """
    return np.cumsum(products, axis=0, dtype=np.float64)[-1]


def _fixed_order_sq_norms(x: np.ndarray) -> np.ndarray:
    """Squared L2 norm of every row, float64 (n,), summed in a fixed order, in blocks."""
    n, d = x.shape
    out = np.empty(n, dtype=np.float64)
    rows = max(1, _EXACT_ELEMENTS // max(d, 1))
    for start in range(0, n, rows):
        block_t = x[start : start + rows].T  # (d, rows)
        out[start : start + rows] = _fixed_order_sums(
            np.multiply(block_t, block_t, dtype=np.float64)
        )
    return out


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run the block with one OpenMP and one BLAS thread (faiss, scikit-learn, numpy), then
    restore the previous limits.

    The k-means fit runs inside it: faiss's and scikit-learn's Lloyd iterations reduce partial
    sums per thread, so their centroids change with the thread count.
    """
    from threadpoolctl import threadpool_limits

    faiss = _faiss_or_none()
    before = faiss.omp_get_max_threads() if faiss is not None else None
    try:
        with threadpool_limits(limits=1):
            if faiss is not None:
                faiss.omp_set_num_threads(1)
            yield
    finally:
        if faiss is not None and before is not None:
            faiss.omp_set_num_threads(before)


def _faiss_or_none() -> Any:
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def _fit_kmeans(
    x: np.ndarray,
    *,
    k: int,
    backend: str,
    spherical: bool,
    seed: int,
    n_iter: int,
    max_points_per_centroid: int,
    n_nearest: int,
    progress: ProgressFn | None,
    row_sq_norms: np.ndarray | None = None,
) -> tuple[KMeansResult, np.ndarray, np.ndarray]:
    """Fit on a sample, assign all rows; also return the (n, n_nearest) distances and indices.

    Assumes validated input: ``x`` float32 (n, d) finite, ``backend`` resolved. Distances are
    cosine when ``spherical`` else Euclidean, as from ``nearest_centroids``.
    ``row_sq_norms``: ``_fixed_order_sq_norms(x)`` when the caller already has it (several
    fits on the same rows); the result is the same either way.
    """
    n = x.shape[0]
    n_fit = min(n, max_points_per_centroid * k)
    report(progress, 0.0, f"sampling {n_fit} of {n} examples for k-means (k={k})")
    if n_fit < n:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(n, size=n_fit, replace=False))
        sample = x[rows]  # fancy indexing copies
    else:
        sample = np.array(x, dtype=np.float32, order="C", copy=True)
    if spherical:
        _normalize_rows(sample)

    # One thread: the fit's reductions then run in one order on every machine configuration.
    with single_threaded():
        if backend == "faiss":
            report(progress, 0.02, f"k-means++ seeding (k={k})")
            init = _greedy_kmeans_plus_plus(sample, k, seed)
            report(progress, 0.15, f"fitting k-means with faiss (k={k}, {n_iter} iterations)")
            centroids, iterations = _fit_faiss(sample, init, spherical, seed, n_iter)
        else:
            report(
                progress, 0.02, f"fitting k-means with scikit-learn (k={k}, {n_iter} iterations)"
            )
            centroids, iterations = _fit_sklearn(sample, k, seed, n_iter)
    del sample
    centroids = np.ascontiguousarray(centroids, dtype=np.float32)
    if spherical:
        _normalize_rows(centroids)

    distance = "cosine" if spherical else "euclidean"
    assign_progress = sub_progress(progress, 0.6, 1.0)
    distances, indices = _nearest_centroids(
        x,
        centroids,
        distance=distance,
        n_nearest=n_nearest,
        chunk_size=65536,
        progress=assign_progress,
        row_sq_norms=row_sq_norms,
    )
    nearest = distances[:, 0].astype(np.float64)
    inertia = inertia_from_parts(inertia_parts(nearest, spherical), spherical)
    report(progress, 1.0, "k-means done")
    result = KMeansResult(
        centroids=centroids,
        assignments=np.ascontiguousarray(indices[:, 0], dtype=np.int64),
        inertia=inertia,
        backend=backend,
        spherical=spherical,
        seed=seed,
        n_iter=iterations,
    )
    return result, distances, indices


def _greedy_kmeans_plus_plus(sample: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Greedy k-means++ seeds (Arthur & Vassilvitskii 2007; as in scikit-learn), float32 (k, d).

    Runs on a seeded sub-sample of at most ``_SEED_POINTS_PER_CENTROID * k`` rows; each step
    draws ``2 + ln k`` candidates with probability proportional to the squared distance to the
    nearest seed so far and keeps the one that lowers the potential most. Plain random or
    single-candidate k-means++ seeding left clusters of a 1000-component mixture merged (about
    20% worse inertia after Lloyd), this greedy form did not.
    """
    rng = np.random.default_rng([seed, 1])
    m_total = sample.shape[0]
    m = min(m_total, _SEED_POINTS_PER_CENTROID * k)
    x = sample if m == m_total else sample[np.sort(rng.choice(m_total, size=m, replace=False))]
    sq = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    n_trials = 2 + int(math.log(k))
    seeds = np.empty((k, x.shape[1]), dtype=np.float32)
    first = int(rng.integers(m))
    seeds[0] = x[first]
    closest = np.maximum(sq - 2.0 * (x @ x[first]).astype(np.float64) + sq[first], 0.0)
    potential = float(closest.sum())
    for c in range(1, k):
        if potential <= 0.0:  # every point already coincides with a seed: take any others
            candidates = rng.integers(m, size=1)
        else:
            cumulative = np.cumsum(closest)
            draws = rng.random(n_trials) * cumulative[-1]
            candidates = np.minimum(np.searchsorted(cumulative, draws), m - 1)
        dots = (x @ x[candidates].T).astype(np.float64)  # (m, n_trials)
        sq_dist = np.maximum(sq[:, None] - 2.0 * dots + sq[candidates][None, :], 0.0)
        np.minimum(sq_dist, closest[:, None], out=sq_dist)
        potentials = sq_dist.sum(axis=0)
        best = int(np.argmin(potentials))
        closest = np.ascontiguousarray(sq_dist[:, best])
        potential = float(potentials[best])
        seeds[c] = x[candidates[best]]
    return seeds


def _fit_faiss(
    sample: np.ndarray, init: np.ndarray, spherical: bool, seed: int, n_iter: int
) -> tuple[np.ndarray, int]:
    import faiss

    n, d = sample.shape
    k = init.shape[0]
    kmeans = faiss.Kmeans(
        d,
        k,
        niter=n_iter,
        seed=seed,
        spherical=spherical,
        # The sample is already drawn (seeded, by us): stop faiss re-sampling or warning.
        max_points_per_centroid=max(1, math.ceil(n / k)),
        min_points_per_centroid=1,
        verbose=False,
    )
    kmeans.train(sample, init_centroids=init)
    return np.asarray(kmeans.centroids, dtype=np.float32), int(
        np.asarray(kmeans.obj).size
    ) or n_iter


def _fit_sklearn(sample: np.ndarray, k: int, seed: int, n_iter: int) -> tuple[np.ndarray, int]:
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, random_state=seed, n_init=1, max_iter=n_iter)
    model.fit(sample)
    return np.asarray(model.cluster_centers_, dtype=np.float32), int(model.n_iter_)


def _block_rows(chunk_size: int, k: int) -> int:
    return max(1, min(chunk_size, _BLOCK_ELEMENTS // max(k, 1)))


def _nearest_centroids(
    x: np.ndarray,
    centroids: np.ndarray,
    *,
    distance: str,
    n_nearest: int,
    chunk_size: int,
    progress: ProgressFn | None = None,
    row_sq_norms: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Blocked top-``n_nearest`` search; assumes validated float32 input.

    ``row_sq_norms``: ``_fixed_order_sq_norms(x)``, when known, is not computed again.

    Each block screens candidates with one float32 matrix product (fast, but its rounding
    depends on the BLAS build and its thread count): cosine uses unit centroids (``x.c``);
    Euclidean appends a column so the product gives ``x.c - |c|^2 / 2``. The few best
    candidates are then re-scored in float64 summed in a fixed order (:func:`_exact_top`), and
    those values decide and are returned, so the result is the same for any thread count, block
    size or chunking (the Dask route calls this per chunk).
    """
    n, d = x.shape
    k = centroids.shape[0]
    if distance == "cosine":
        exact_c = _normalize_rows(np.array(centroids, dtype=np.float32, copy=True))
        right_t = np.ascontiguousarray(exact_c.T)  # (d, k)
        width = d
    else:
        exact_c = np.ascontiguousarray(centroids, dtype=np.float32)
        right = np.empty((k, d + 1), dtype=np.float32)
        right[:, :d] = exact_c
        right[:, d] = (-0.5 * _fixed_order_sq_norms(exact_c)).astype(np.float32)
        right_t = np.ascontiguousarray(right.T)  # (d + 1, k)
        width = d + 1
    c_max = float(np.sqrt(_fixed_order_sq_norms(exact_c).max()))
    n_cand = min(k, n_nearest + 1)

    rows = _block_rows(chunk_size, k)
    left = np.empty((rows, width), dtype=np.float32)
    if width > d:
        left[:, d] = 1.0
    scores = np.empty((rows, k), dtype=np.float32)
    out_dist = np.empty((n, n_nearest), dtype=np.float32)
    out_idx = np.empty((n, n_nearest), dtype=np.int64)

    for start in range(0, n, rows):
        stop = min(n, start + rows)
        m = stop - start
        block = x[start:stop]
        left[:m, :d] = block
        s = scores[:m]
        np.matmul(left[:m], right_t, out=s)
        cand_val, cand_idx = _top_n(s, n_cand)
        dist, idx = _exact_top(
            block,
            exact_c,
            cand_val,
            cand_idx,
            distance=distance,
            n_nearest=n_nearest,
            c_max=c_max,
            sq_norm=None if row_sq_norms is None else row_sq_norms[start:stop],
        )
        out_dist[start:stop] = dist
        out_idx[start:stop] = idx
        report(progress, stop / n, f"assigned {stop} of {n} examples")
    return out_dist, out_idx


def _exact_top(
    block: np.ndarray,
    centroids: np.ndarray,
    cand_val: np.ndarray,
    cand_idx: np.ndarray,
    *,
    distance: str,
    n_nearest: int,
    c_max: float,
    sq_norm: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_nearest`` closest centroids of each row from screened candidates, exactly.

    ``cand_val``/``cand_idx`` (m, c) are the float32 screening's best values, descending, with
    ``c = n_nearest + 1`` (or all k). A float32 dot product of length w errs by at most about
    ``w * 2**-24 * sum |x_i c_i|`` in any summation order, so the screening's top
    ``n_nearest`` are the true ones unless the next candidate lies within twice that of the
    ``n_nearest``-th; such rows (near-ties, rare) are re-scored against every centroid. Ties of
    the exact distances go to the lower centroid index.
    """
    d = block.shape[1]
    k = centroids.shape[0]
    if sq_norm is None:
        sq_norm = _fixed_order_sq_norms(block)
    settled = cand_idx if cand_idx.shape[1] == k else cand_idx[:, :n_nearest]
    dist = _exact_distances(block, centroids, settled, sq_norm, distance)
    best_dist, best_idx = _order_by_distance(dist, settled, n_nearest)
    if cand_idx.shape[1] < k:
        tol = (d + 8) * 2.0 * _F32_EPS * (np.sqrt(sq_norm) * c_max + c_max * c_max)
        nth = cand_val[:, n_nearest - 1].astype(np.float64)
        unsure = np.flatnonzero(cand_val[:, n_nearest].astype(np.float64) >= nth - 2.0 * tol)
        if unsure.size:
            every = np.broadcast_to(np.arange(k, dtype=np.int64), (unsure.size, k))
            dist_all = _exact_distances(block[unsure], centroids, every, sq_norm[unsure], distance)
            best_dist[unsure], best_idx[unsure] = _order_by_distance(dist_all, every, n_nearest)
    return best_dist.astype(np.float32), best_idx


def _order_by_distance(
    dist: np.ndarray, idx: np.ndarray, n_nearest: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_nearest`` smallest distances per row, ascending, ties by lower index."""
    order = np.lexsort((idx, dist), axis=1)[:, :n_nearest]
    return np.take_along_axis(dist, order, axis=1), np.take_along_axis(idx, order, axis=1)


def _exact_distances(
    block: np.ndarray,
    centroids: np.ndarray,
    idx: np.ndarray,
    sq_norm: np.ndarray,
    distance: str,
) -> np.ndarray:
    """float64 (m, c) distances of each row to the centroids ``idx[row]``, in a fixed order.

    Products of float32 values are exact in float64; the sums run left to right
    (:func:`_fixed_order_sums`), so the values are the same on any machine. Cosine:
    ``1 - x.c / |x|`` with unit ``c`` (a zero row has distance 1); Euclidean: ``|x - c|``.
    """
    m, d = block.shape
    c = idx.shape[1]
    out = np.empty((m, c), dtype=np.float64)
    step = max(1, _EXACT_ELEMENTS // max(c * d, 1))
    for start in range(0, m, step):
        stop = min(m, start + step)
        x_t = block[start:stop].T[:, :, None]  # (d, rows, 1)
        c_t = centroids[idx[start:stop]].transpose(2, 0, 1)  # (d, rows, c)
        if distance == "cosine":
            dots = _fixed_order_sums(np.multiply(x_t, c_t, dtype=np.float64))
            inv = 1.0 / np.maximum(np.sqrt(sq_norm[start:stop]), _TINY)
            out[start:stop] = np.clip(1.0 - dots * inv[:, None], 0.0, 2.0)
        else:
            diff = np.subtract(x_t, c_t, dtype=np.float64)
            out[start:stop] = np.sqrt(_fixed_order_sums(diff * diff))
    return out


def _top_n(scores: np.ndarray, n_nearest: int) -> tuple[np.ndarray, np.ndarray]:
    """Largest ``n_nearest`` values per row, descending; may modify ``scores`` in place.

    For ``n_nearest <= 4`` (repeated argmax) exact ties go to the lower column; above that
    ``argpartition`` may pick any of several tied values at the cut.
    """
    m = scores.shape[0]
    rows = np.arange(m)
    if n_nearest <= 4:
        values = np.empty((m, n_nearest), dtype=np.float32)
        indices = np.empty((m, n_nearest), dtype=np.int64)
        for j in range(n_nearest):
            best = scores.argmax(axis=1)  # first maximum: ties go to the lower index
            indices[:, j] = best
            values[:, j] = scores[rows, best]
            if j + 1 < n_nearest:
                scores[rows, best] = -np.inf
        return values, indices
    part = np.argpartition(-scores, n_nearest - 1, axis=1)[:, :n_nearest]
    part_vals = np.take_along_axis(scores, part, axis=1)
    # Sort by value descending, then by column ascending, so ties are deterministic.
    order = np.lexsort((part, -part_vals), axis=1)
    indices = np.take_along_axis(part, order, axis=1).astype(np.int64)
    values = np.take_along_axis(part_vals, order, axis=1)
    return values, indices
