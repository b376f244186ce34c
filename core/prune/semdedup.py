"""Semantic deduplication (SemDeDup, Abbas et al. 2023): drop near-duplicates within k-means clusters.

The rule, exactly as in ``paper-notes.md``:

1. L2-normalise the embeddings and run spherical k-means (``core.scores.kmeans``; the same fit as the
   SSP score for the same k, backend and seed).
2. Within each cluster, order the members: ``"keep_hard"`` (the paper's choice) puts the member
   farthest from the centroid (highest SSP score, hardest) first, ``"keep_easy"`` the nearest
   first, ``"random"`` a seeded shuffle. Exact ties go to the lower index: the order uses
   cosine distances recomputed row by row in float64 and rounded to 12 decimals (not the float32
   k-means distances, which for bitwise-identical rows can differ by ~1e-7 with the row's
   position), so of two identical rows the lower index always comes first and survives.
3. A member is a duplicate when its cosine similarity to **any earlier member** of its cluster
   exceeds ``1 - epsilon``. The comparison is against every earlier member, removed or not
   (the paper's greedy rule: the maximum of the strictly upper-triangular similarity matrix per
   column). So with a ~ b, b ~ c but a not ~ c, ordered a, b, c: b goes because of a, and c
   goes because of b even though b is itself removed. Whether a member is removed therefore
   depends only on its maximum similarity to earlier members, never on other removals:
   ``result.max_similarity > 1 - eps`` is the removal mask at any other ``eps`` (same k-means
   and order), with no recomputation.
4. Size-1 clusters are never pruned (no earlier member).

Similarities are computed in float64 from the float32 unit vectors in square blocks of at
most ``block_size`` rows, so memory is O(block_size^2) whatever the cluster size; the block
size does not change which pairs are compared, only (at most) the last bit of a similarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core._progress import ProgressFn, report, sub_progress
from core.scores.kmeans import (
    BACKENDS,
    _fit_kmeans,
    _normalize_rows,
    _resolve_backend,
)
from core.validate import (
    check_choice,
    check_embeddings,
    check_epsilon,
    check_int,
    check_k,
    check_seed,
)

if TYPE_CHECKING:
    from core.io.data import Dataset
    from core.prune.select import Selection
    from core.scores.metrics import Scores

ORDERS = ("keep_hard", "keep_easy", "random")
#: Rows (and columns) of one similarity block: 2048^2 float64 = 32 MiB.
DEFAULT_BLOCK_SIZE = 2048

_KMEANS_ITER = 20  # same k-means as core.scores.metrics' SSP score
_POINTS_PER_CENTROID = 256


@dataclass(frozen=True, slots=True)
class DedupParams:
    """What produced a :class:`DedupResult`: ``k``, ``epsilon``, ``threshold`` (= 1 - epsilon),
    ``order``, ``seed``, ``backend`` (resolved), ``n_iter``, ``n_fit``, ``n_singletons``,
    ``executor`` (``"dask"`` for :func:`core.prune.semdedup_dask.semdedup_dask`, else None)."""

    k: int
    epsilon: float
    threshold: float
    order: str
    seed: int
    backend: str
    n_iter: int
    n_fit: int
    n_singletons: int
    executor: str | None = None


@dataclass(frozen=True, eq=False, slots=True)
class DedupResult:
    """Which examples SemDeDup keeps, and why the others were removed.

    Attributes
    ----------
    keep_mask : ndarray of shape (n,), bool
        True for kept examples.
    duplicate_of : ndarray of shape (n,), int64
        -1 for kept examples; for a removed one, the index (row number) of the first member
        earlier in its cluster's order whose cosine similarity to it exceeds ``1 - epsilon``
        (that member may itself be removed: the rule is greedy).
    clusters : ndarray of shape (n,), int64
        k-means cluster of every example.
    centroids : ndarray of shape (k, d), float32
        Unit-length spherical k-means centroids.
    distances : ndarray of shape (n,), float64
        Cosine distance to the own centroid, ``1 - x.c`` (the SSP score; higher = harder); the
        ordering key of ``"keep_hard"`` / ``"keep_easy"``.
    max_similarity : ndarray of shape (n,), float64
        Largest cosine similarity to any earlier member of the cluster, clipped to [-1, 1];
        NaN for each cluster's first member. Removed exactly when ``> 1 - epsilon``.
    n_removed : int
        Number of removed examples, ``n - keep_mask.sum()``.
    params : DedupParams
        ``k``, ``epsilon``, ``threshold`` (= 1 - epsilon), ``order``, ``seed``, ``backend``
        (resolved), ``n_iter``, ``n_fit``, ``n_singletons``.
    """

    keep_mask: np.ndarray
    duplicate_of: np.ndarray
    clusters: np.ndarray
    centroids: np.ndarray
    distances: np.ndarray
    max_similarity: np.ndarray
    n_removed: int
    params: DedupParams

    @property
    def kept_indices(self) -> np.ndarray:
        """Indices of the kept examples, shape (m,), int64, ascending."""
        return np.flatnonzero(self.keep_mask).astype(np.int64)


@dataclass(frozen=True, eq=False, slots=True)
class DuplicatePairs:
    """Removed examples next to the earlier member each one duplicates, most similar first.

    Attributes
    ----------
    removed : ndarray of shape (m,), int64
        Rows removed at ``epsilon``, by decreasing ``max_similarity`` (increasing with
        ``nearest_threshold=True``; ties: lower row first).
    duplicate_of : ndarray of shape (m,), int64
        For each, the row ``semdedup(..., epsilon=epsilon).duplicate_of`` names: the first
        member earlier in the cluster's order with cosine similarity ``> 1 - epsilon``.
    similarity : ndarray of shape (m,), float64
        Cosine similarity of each removed row to its ``duplicate_of`` row.
    max_similarity : ndarray of shape (m,), float64
        Each removed row's largest similarity to any earlier member (``>= similarity``).
    epsilon : float
    """

    removed: np.ndarray
    duplicate_of: np.ndarray
    similarity: np.ndarray
    max_similarity: np.ndarray
    epsilon: float


# ----------------------------------------------------------------------------- public functions


def semdedup(
    embeddings: np.ndarray,
    *,
    k: int,
    epsilon: float,
    order: str = "keep_hard",
    seed: int = 0,
    backend: str = "auto",
    block_size: int = DEFAULT_BLOCK_SIZE,
    progress: ProgressFn | None = None,
) -> DedupResult:
    """Remove semantic near-duplicates within spherical k-means clusters (SemDeDup).

    See the module docstring for the rule. Deterministic: same inputs, parameters and seed give
    identical arrays, whatever ``block_size``.

    Parameters
    ----------
    embeddings : array_like of shape (n, d)
        Finite real values; used as float32 and L2-normalised (a zero row stays zero and is
        similar to nothing).
    k : int
        Number of k-means clusters, ``1 <= k <= n``.
    epsilon : float
        In [0, 1): pairs with cosine similarity ``> 1 - epsilon`` are duplicates. 0 removes
        nothing (similarities are clipped to at most 1); the paper removes ~50% of LAION-440M at
        values around 0.05-0.1 (dataset dependent).
    order : {"keep_hard", "keep_easy", "random"}
        Which member of a group of duplicates survives: the one farthest from the centroid
        (paper), the nearest, or a seeded random one.
    seed : int
        Seed of the k-means sample and initialisation, and of ``order="random"``.
    backend : {"auto", "faiss", "sklearn"}
        k-means backend.
    block_size : int
        Rows and columns of one similarity block, >= 1; memory ~ ``8 * block_size**2`` bytes.
    progress : callable (fraction, message) or None

    Returns
    -------
    DedupResult

    Raises
    ------
    ValueError
        Bad embeddings (not 2-D, empty, non-numeric, NaN/inf rows named), k not an int in
        [1, n], epsilon not a number in [0, 1), unknown order or backend, seed outside
        [0, 2**31 - 1], or block_size < 1.
    """
    x = check_embeddings(embeddings)
    k = check_k(k, x.shape[0])
    epsilon = check_epsilon(epsilon)
    order = check_choice("order", order, ORDERS)
    seed = check_seed(seed)
    backend = _resolve_backend(check_choice("backend", backend, BACKENDS))
    block_size = check_int("block_size", block_size, low=1)
    return _semdedup(x, k, epsilon, order, seed, backend, block_size, progress)


def removed_at(result: DedupResult, epsilon: float) -> np.ndarray:
    """The removal mask at another ``epsilon``, from ``result.max_similarity`` alone.

    Exactly ``~semdedup(...).keep_mask`` of a run with the same embeddings, k, order, seed and
    backend at this ``epsilon`` (module docstring, step 3): no k-means, no similarities.

    Parameters
    ----------
    result : DedupResult
        A run at any epsilon (0 is fine: it only fixes the clusters and the order).
    epsilon : float
        In [0, 1).

    Returns
    -------
    ndarray of shape (n,), bool
        True for the examples removed at ``epsilon``.

    Raises
    ------
    ValueError
        If epsilon is not a number in [0, 1).
    """
    return _removed_at(result.max_similarity, check_epsilon(epsilon))


def removed_counts(result: DedupResult, epsilons: object) -> np.ndarray:
    """How many examples are removed at each of ``epsilons`` (the removal curve), exactly.

    Parameters
    ----------
    result : DedupResult
    epsilons : array_like of shape (m,)
        Each in [0, 1).

    Returns
    -------
    ndarray of shape (m,), int64
        ``removed_at(result, e).sum()`` for each ``e``, from one sort of ``max_similarity``.

    Raises
    ------
    ValueError
        If an epsilon is not a number in [0, 1).
    """
    values = [check_epsilon(e) for e in np.asarray(epsilons, dtype=object).ravel()]
    similarity = np.sort(result.max_similarity[~np.isnan(result.max_similarity)])
    thresholds = 1.0 - np.asarray(values, dtype=np.float64)
    # Count of similarity > threshold: everything right of the last value <= threshold.
    return (similarity.size - np.searchsorted(similarity, thresholds, side="right")).astype(
        np.int64
    )


def duplicate_pairs(
    embeddings: np.ndarray,
    result: DedupResult,
    epsilon: float,
    *,
    n: int = 24,
    nearest_threshold: bool = False,
) -> DuplicatePairs:
    """The ``n`` most similar examples removed at ``epsilon``, each with the row it duplicates.

    ``duplicate_of`` is what a fresh :func:`semdedup` run at ``epsilon`` reports (same
    embeddings, k, order, seed, backend), found for these rows only, so it is cheap for small
    ``n`` whatever epsilon ``result`` was computed at.

    Parameters
    ----------
    embeddings : array_like of shape (n_examples, d)
        The embeddings ``result`` was computed from.
    result : DedupResult
    epsilon : float
        In [0, 1).
    n : int
        At most this many pairs, >= 0.
    nearest_threshold : bool
        Instead the ``n`` least similar removed rows (just above ``1 - epsilon``), least
        similar first: what this epsilon removes that a smaller one would keep.

    Returns
    -------
    DuplicatePairs

    Raises
    ------
    ValueError
        Bad embeddings or a row count other than the result's, epsilon not in [0, 1), n < 0.
    """
    x = check_embeddings(embeddings)
    n_examples = result.keep_mask.shape[0]
    if x.shape[0] != n_examples:
        raise ValueError(
            f"embeddings have {x.shape[0]} rows but the SemDeDup result has {n_examples}"
        )
    epsilon = check_epsilon(epsilon)
    n = check_int("n", n, low=0)
    return _duplicate_pairs(x, result, epsilon, n, bool(nearest_threshold))


def dedup_outputs(
    dataset: Dataset,
    result: DedupResult,
    *,
    epsilon: float | None = None,
    csv_name: str = "kept.csv",
    extra: dict[str, Any] | None = None,
) -> tuple[bytes, bytes]:
    """The kept-rows CSV and manifest bytes that ``python -m core dedup`` writes.

    The CLI and the app both call this, so the same data, k, epsilon, order, seed and backend
    give the same CSV bytes and the same manifest except ``created_at``.

    Parameters
    ----------
    dataset : Dataset
        The dataset ``result`` was computed from (ids, labels and sources are recorded).
    result : DedupResult
    epsilon : float, optional
        Export the removal at this epsilon (:func:`removed_at`); default the result's own.
    csv_name : str
        The CSV's file name, recorded in the manifest.
    extra : dict, optional
        More JSON-serialisable entries for the manifest's ``extra`` (beside ``semdedup``).

    Returns
    -------
    (csv_bytes, manifest_bytes)
        CSV columns ``index,id,score,cluster,label`` of the kept rows sorted by index (score =
        cosine distance to the cluster centroid, the SSP score, higher = harder); the manifest
        as :func:`core.export.manifest_bytes` writes it.

    Raises
    ------
    ValueError
        If epsilon is not a number in [0, 1) or the dataset's row count differs.
    """
    from core.export import build_manifest, kept_csv_bytes, manifest_bytes

    if dataset.n != result.keep_mask.shape[0]:
        raise ValueError(
            f"dataset has {dataset.n} rows but the SemDeDup result has {result.keep_mask.shape[0]}"
        )
    eps = result.params.epsilon if epsilon is None else check_epsilon(epsilon)
    removed = _removed_at(result.max_similarity, eps)
    scores, selection = _as_scores_and_selection(result, removed, eps)
    data = kept_csv_bytes(dataset, scores, selection)
    manifest_extra: dict[str, Any] = {
        "semdedup": {
            "rule": "within each k-means cluster, ordered by --order, a member is removed when "
            "its cosine similarity to any earlier member (removed or not) exceeds 1 - epsilon",
            "n_removed": int(removed.sum()),
            "n_kept": int(selection.kept_indices.size),
            "score": "cosine distance to the cluster centroid (SSP; higher = harder)",
        },
        **(extra or {}),
    }
    manifest = build_manifest(
        dataset, scores, selection, csv_bytes=data, csv_name=csv_name, extra=manifest_extra
    )
    return data, manifest_bytes(manifest)


# ----------------------------------------------------------------------------- private helpers


def _removed_at(max_similarity: np.ndarray, epsilon: float) -> np.ndarray:
    """``max_similarity > 1 - epsilon``; NaN (a cluster's first member) is never removed."""
    return np.asarray(max_similarity > 1.0 - epsilon)


def _as_scores_and_selection(
    result: DedupResult, removed: np.ndarray, epsilon: float
) -> tuple[Scores, Selection]:
    """The export module's view: SSP distances as scores, the kept rows as a selection."""
    from core.prune.select import Selection
    from core.scores.metrics import ScoreParams, Scores

    n = int(result.keep_mask.shape[0])
    fit = result.params
    params = ScoreParams(
        k=fit.k,
        epsilon=epsilon,
        threshold=1.0 - epsilon,
        order=fit.order,
        seed=fit.seed,
        backend=fit.backend,
        n_iter=fit.n_iter,
        n_fit=fit.n_fit,
        n_singletons=fit.n_singletons,
        distance="cosine",
        executor=fit.executor,
    )
    scores = Scores("semdedup", result.distances, result.clusters, result.centroids, params)
    kept = np.flatnonzero(~removed).astype(np.int64)
    selection = Selection(
        kept_indices=kept,
        keep_fraction=kept.size / n,
        strategy=result.params.order,
        n_total=n,
        balance_by=None,
        min_ratio=0.0,
        group_quota=None,
        always_keep=np.zeros(0, dtype=np.int64),
        always_drop=np.zeros(0, dtype=np.int64),
        seed=result.params.seed,
    )
    return scores, selection


def _duplicate_pairs(
    x: np.ndarray, result: DedupResult, epsilon: float, n: int, nearest_threshold: bool
) -> DuplicatePairs:
    """:func:`duplicate_pairs` on validated input."""
    removed_mask = _removed_at(result.max_similarity, epsilon)
    candidates = np.flatnonzero(removed_mask)
    similarity_key = result.max_similarity[candidates]
    # Most (or least) similar first; the stable sort keeps lower rows first among ties.
    key = similarity_key if nearest_threshold else -similarity_key
    removed = candidates[np.argsort(key, kind="stable")][:n]
    ordered = _member_order(
        result.clusters,
        _order_distances(
            _normalize_rows(np.array(x, dtype=np.float32, copy=True)),
            result.centroids,
            result.clusters,
        ),
        result.params.order,
        result.params.seed,
    )
    position = np.empty_like(ordered)
    position[ordered] = np.arange(ordered.size)
    starts = np.searchsorted(result.clusters[ordered], result.clusters[removed], side="left")
    threshold = 1.0 - epsilon
    duplicate_of = np.full(removed.size, -1, dtype=np.int64)
    similarity = np.full(removed.size, np.nan, dtype=np.float64)
    for i, row in enumerate(removed.tolist()):
        earlier = ordered[starts[i] : position[row]]
        unit = _normalize_rows(np.array(x[np.append(earlier, row)], dtype=np.float32, copy=True))
        sims = np.clip(unit[:-1].astype(np.float64) @ unit[-1].astype(np.float64), -1.0, 1.0)
        above = np.flatnonzero(sims > threshold)
        # The blocked pass may differ in the last bit; fall back to the most similar member.
        pick = int(above[0]) if above.size else int(np.argmax(sims))
        duplicate_of[i] = earlier[pick]
        similarity[i] = sims[pick]
    return DuplicatePairs(
        removed=removed.astype(np.int64),
        duplicate_of=duplicate_of,
        similarity=similarity,
        max_similarity=result.max_similarity[removed].astype(np.float64),
        epsilon=epsilon,
    )


def _semdedup(
    x: np.ndarray,
    k: int,
    epsilon: float,
    order: str,
    seed: int,
    backend: str,
    block_size: int,
    progress: ProgressFn | None,
) -> DedupResult:
    """SemDeDup on validated float32 input."""
    n = x.shape[0]
    fit, dist, _ = _fit_kmeans(
        x,
        k=k,
        backend=backend,
        spherical=True,
        seed=seed,
        n_iter=_KMEANS_ITER,
        max_points_per_centroid=_POINTS_PER_CENTROID,
        n_nearest=1,
        progress=sub_progress(progress, 0.0, 0.4),
    )
    clusters = fit.assignments
    distances = dist[:, 0].astype(np.float64)
    unit = _normalize_rows(np.array(x, dtype=np.float32, copy=True))

    ordered = _member_order(clusters, _order_distances(unit, fit.centroids, clusters), order, seed)
    sizes = np.bincount(clusters, minlength=k)
    starts = np.concatenate([[0], np.cumsum(sizes)])

    threshold = 1.0 - epsilon
    duplicate_of = np.full(n, -1, dtype=np.int64)
    max_similarity = np.full(n, np.nan, dtype=np.float64)
    work = int((sizes.astype(np.float64) ** 2).sum()) or 1
    done = 0
    report(progress, 0.4, f"comparing members within {k} clusters")
    for cluster in range(k):
        members = ordered[starts[cluster] : starts[cluster + 1]]
        if members.size < 2:  # size-1 clusters are never pruned
            continue
        best, first = _cluster_duplicates(unit[members], threshold, block_size)
        _record_cluster(members, best, first, max_similarity, duplicate_of)
        done += members.size**2
        report(progress, 0.4 + 0.6 * done / work, f"cluster {cluster + 1} of {k}")

    fit_info = (fit.centroids, fit.backend, fit.n_iter)
    report(progress, 1.0, "SemDeDup done")
    return _dedup_result(
        clusters, distances, fit_info, max_similarity, duplicate_of, epsilon, order, seed
    )


def _record_cluster(
    members: np.ndarray,
    best: np.ndarray,
    first: np.ndarray,
    max_similarity: np.ndarray,
    duplicate_of: np.ndarray,
) -> None:
    """Write one cluster's :func:`_cluster_duplicates` answer (members in their order) into the
    (n,) ``max_similarity`` and ``duplicate_of`` arrays."""
    max_similarity[members[1:]] = best[1:]
    hit = first >= 0
    duplicate_of[members[hit]] = members[first[hit]]


def _dedup_result(
    clusters: np.ndarray,
    distances: np.ndarray,
    fit_info: tuple[np.ndarray, str, int],
    max_similarity: np.ndarray,
    duplicate_of: np.ndarray,
    epsilon: float,
    order: str,
    seed: int,
    executor: str | None = None,
) -> DedupResult:
    """The :class:`DedupResult` of filled per-row arrays; ``fit_info`` is (centroids, resolved
    backend, iterations) of the k-means fit."""
    centroids, backend, n_iter = fit_info
    n = clusters.shape[0]
    k = centroids.shape[0]
    sizes = np.bincount(clusters, minlength=k)
    keep_mask = duplicate_of < 0
    params = DedupParams(
        k=k,
        epsilon=epsilon,
        threshold=1.0 - epsilon,
        order=order,
        seed=seed,
        backend=backend,
        n_iter=n_iter,
        n_fit=min(n, _POINTS_PER_CENTROID * k),
        n_singletons=int((sizes == 1).sum()),
        executor=executor,
    )
    return DedupResult(
        keep_mask=keep_mask,
        duplicate_of=duplicate_of,
        clusters=clusters,
        centroids=centroids,
        distances=distances,
        max_similarity=max_similarity,
        n_removed=int(n - keep_mask.sum()),
        params=params,
    )


def _order_distances(unit: np.ndarray, centroids: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Cosine distance of each unit row to its centroid, row by row in float64, rounded to 12
    decimals: identical rows get identical keys (a float32 GEMM can differ in the last bit)."""
    c = np.asarray(centroids, dtype=np.float64)
    norms = np.linalg.norm(c, axis=1, keepdims=True)
    c = c / np.where(norms > 0, norms, 1.0)
    cosine = np.einsum("ij,ij->i", unit.astype(np.float64), c[clusters])
    return np.round(1.0 - cosine, 12)


def _member_order(clusters: np.ndarray, distances: np.ndarray, order: str, seed: int) -> np.ndarray:
    """Row numbers grouped by cluster, then by the order's key, then by index (ties)."""
    n = clusters.shape[0]
    if order == "keep_hard":
        key = -distances
    elif order == "keep_easy":
        key = distances
    else:
        key = np.random.default_rng([seed, 2]).permutation(n).astype(np.float64)
    return np.lexsort((np.arange(n), key, clusters))


def _cluster_duplicates(
    members: np.ndarray, threshold: float, block_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """For ordered unit rows (m, d): max similarity to earlier rows and first earlier duplicate.

    Returns ``best`` (m,) float64 (-inf for row 0) and ``first`` (m,) int64 position of the
    first earlier row with similarity > threshold, else -1. Square blocks of ``block_size``:
    a row block meets every column block at or before it, in increasing column order.
    """
    m = members.shape[0]
    best = np.full(m, -np.inf, dtype=np.float64)
    first = np.full(m, -1, dtype=np.int64)
    for row_start in range(0, m, block_size):
        row_stop = min(m, row_start + block_size)
        rows = members[row_start:row_stop].astype(np.float64)
        for col_start in range(0, row_stop - 1, block_size):
            col_stop = min(row_stop, col_start + block_size)
            sims = rows @ members[col_start:col_stop].astype(np.float64).T
            np.clip(sims, -1.0, 1.0, out=sims)
            if col_stop > row_start:  # block touches the diagonal: only strictly earlier cols
                row_pos = np.arange(row_start, row_stop)[:, None]
                col_pos = np.arange(col_start, col_stop)[None, :]
                sims[col_pos >= row_pos] = -np.inf
            np.maximum(best[row_start:row_stop], sims.max(axis=1), out=best[row_start:row_stop])
            above = sims > threshold
            hit = above.any(axis=1) & (first[row_start:row_stop] < 0)
            if hit.any():
                first[row_start:row_stop][hit] = col_start + above[hit].argmax(axis=1)
    return best, first
