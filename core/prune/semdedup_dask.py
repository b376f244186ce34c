"""SemDeDup on Dask: the same :class:`core.prune.semdedup.DedupResult` without the (n, d) matrix.

Three steps, each exactly the in-memory code of :func:`core.prune.semdedup.semdedup`:

1. Spherical k-means: :func:`core.scores.distributed.score_ssp_dask` (the fit on the client from
   the same seeded sample, the assignment chunk by chunk on the workers). The cosine distances
   and clusters are the in-memory ones bit for bit: the nearest-centroid search re-scores its
   candidates in float64 summed in a fixed order, whatever the chunking or thread count.
2. Per-cluster tasks: each task reads its clusters' rows from the memory-mapped ``.npy`` (only
   the path and the row numbers travel), L2-normalises them, orders the members
   (``_order_distances`` / ``_member_order``) and runs the greedy ``_cluster_duplicates`` step.
3. The client writes the per-cluster answers into (n,) arrays, as the in-memory loop does.

So the client holds O(n) numbers (clusters, distances, row numbers) and at most one task's
rows are in a worker at a time; the embeddings are never in one process.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core._progress import ProgressFn, report, sub_progress
from core.prune.semdedup import (
    DEFAULT_BLOCK_SIZE,
    ORDERS,
    DedupResult,
    _cluster_duplicates,
    _dedup_result,
    _member_order,
    _order_distances,
    _record_cluster,
)
from core.scores.kmeans import BACKENDS, _normalize_rows
from core.validate import (
    check_choice,
    check_embeddings,
    check_epsilon,
    check_int,
    check_k,
    check_seed,
)

if TYPE_CHECKING:
    from core.scores.distributed import _NpyRows

#: At least this many member rows per per-cluster task (small clusters are batched together).
MIN_TASK_ROWS = 4096
#: About this many per-cluster tasks for a large dataset (more tasks: better balance, more overhead).
TARGET_TASKS = 64


def semdedup_dask(
    embeddings: str | Path | np.ndarray,
    *,
    k: int,
    epsilon: float,
    order: str = "keep_hard",
    seed: int = 0,
    backend: str = "auto",
    block_size: int = DEFAULT_BLOCK_SIZE,
    chunk_rows: int | None = None,
    progress: ProgressFn | None = None,
) -> DedupResult:
    """:func:`core.prune.semdedup.semdedup` run on whatever Dask scheduler is the default.

    Same rule, same arrays (bit for bit) as the in-memory function for the same inputs and
    seed; ``params.executor == "dask"``.

    Parameters
    ----------
    embeddings : str, Path or ndarray of shape (n, d)
        A 2-D numeric ``.npy`` file (memory-mapped by each task; on a cluster every worker must
        read it at the same path), or an array (tests, small data: it is put in the graph once).
    k, epsilon, order, seed, backend, block_size
        As for :func:`core.prune.semdedup.semdedup`.
    chunk_rows : int or None
        Rows per chunk of the k-means assignment pass; None -> ``ceil(n / 65536)`` chunks
        of equal size.
    progress : callable (fraction, message) or None

    Returns
    -------
    DedupResult

    Raises
    ------
    ValueError
        As :func:`core.prune.semdedup.semdedup`, and for a path that is not a 2-D numeric
        ``.npy`` file (:func:`core.scores.distributed.open_npy`).
    FileNotFoundError
        When the path does not exist.
    """
    from core.scores.distributed import _NpyRows, score_ssp_dask

    epsilon = check_epsilon(epsilon)
    order = check_choice("order", order, ORDERS)
    seed = check_seed(seed)
    check_choice("backend", backend, BACKENDS)
    block_size = check_int("block_size", block_size, low=1)
    if isinstance(embeddings, str | Path):
        source: Any = _NpyRows(Path(embeddings))
        x: Any = Path(embeddings)  # score_ssp_dask reads its k-means sample on the client
    else:
        source = x = check_embeddings(embeddings)
    k = check_k(k, int(source.shape[0]))
    scores = score_ssp_dask(
        x,
        k=k,
        distance="cosine",
        backend=backend,
        seed=seed,
        chunk_rows=chunk_rows,
        progress=sub_progress(progress, 0.0, 0.4),
    )
    return _dedup_clusters(source, scores, epsilon, order, seed, block_size, progress)


# ----------------------------------------------------------------------------- private helpers


def _dedup_clusters(
    source: _NpyRows | np.ndarray,
    scores: Any,
    epsilon: float,
    order: str,
    seed: int,
    block_size: int,
    progress: ProgressFn | None,
) -> DedupResult:
    """Steps 2 and 3 of the module docstring, given the k-means scores."""
    import dask

    from core.scores.distributed import _compute

    clusters = scores.clusters
    centroids = scores.centroids
    n = clusters.shape[0]
    k = centroids.shape[0]
    by_cluster = np.argsort(clusters, kind="stable")  # members ascending by row within a cluster
    starts = np.concatenate([[0], np.cumsum(np.bincount(clusters, minlength=k))])
    random_key = None
    if order == "random":  # the in-memory key: one permutation of all n rows
        random_key = np.random.default_rng([seed, 2]).permutation(n).astype(np.float64)
    batches = _batches(starts, n)
    source_node = dask.delayed(source, pure=True) if isinstance(source, np.ndarray) else source
    tasks = []
    for first, last in batches:
        ids = list(range(first, last))
        members = [by_cluster[starts[c] : starts[c + 1]] for c in ids]
        keys = None if random_key is None else [random_key[m] for m in members]
        tasks.append(
            dask.delayed(_dedup_batch, pure=True)(
                source_node, ids, members, keys, centroids, order, 1.0 - epsilon, block_size
            )
        )
    report(progress, 0.4, f"comparing members within {k} clusters in {len(tasks)} tasks")
    results = _compute(*tasks)
    duplicate_of = np.full(n, -1, dtype=np.int64)
    max_similarity = np.full(n, np.nan, dtype=np.float64)
    for batch in results:
        for ordered, best, first_dup in batch:
            _record_cluster(ordered, best, first_dup, max_similarity, duplicate_of)
    report(progress, 1.0, "SemDeDup done")
    fit_info = (centroids, scores.params.backend, scores.params.n_iter)
    return _dedup_result(
        clusters,
        scores.values,
        fit_info,
        max_similarity,
        duplicate_of,
        epsilon,
        order,
        seed,
        executor="dask",
    )


def _batches(starts: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Consecutive cluster ranges ``[first, last)`` of about ``n / TARGET_TASKS`` rows each
    (at least ``MIN_TASK_ROWS``); a large cluster is a task of its own. Size-1 and empty
    clusters are left out (never pruned)."""
    target = max(MIN_TASK_ROWS, -(-n // TARGET_TASKS))
    sizes = np.diff(starts)
    out: list[tuple[int, int]] = []
    first, rows = -1, 0
    for cluster in np.flatnonzero(sizes >= 2).tolist():
        if first < 0:
            first = cluster
        rows += int(sizes[cluster])
        if rows >= target:
            out.append((first, cluster + 1))
            first, rows = -1, 0
    if first >= 0:
        out.append((first, int(sizes.size)))
    return out


def _dedup_batch(
    source: _NpyRows | np.ndarray,
    cluster_ids: list[int],
    members: list[np.ndarray],
    random_keys: list[np.ndarray] | None,
    centroids: np.ndarray,
    order: str,
    threshold: float,
    block_size: int,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One task: for each cluster (member rows ascending), its members in the in-memory order
    and ``_cluster_duplicates``' answer for them. Reads only these rows of the source."""
    everything = np.concatenate(members)
    in_file = np.argsort(everything, kind="stable")  # a memory map reads ascending rows best
    rows = np.empty((everything.size, centroids.shape[1]), dtype=np.float32)
    with np.errstate(over="ignore"):
        rows[in_file] = np.asarray(source[everything[in_file]], dtype=np.float32)
    unit = _normalize_rows(rows)
    out = []
    start = 0
    for i, rows_of_cluster in enumerate(members):
        m = rows_of_cluster.size
        cluster_unit = unit[start : start + m]
        start += m
        if m < 2:
            continue
        if random_keys is None:
            own = np.full(m, cluster_ids[i], dtype=np.int64)
            key = _order_distances(cluster_unit, centroids, own)
        else:
            key = random_keys[i]
        # The in-memory lexsort restricted to one cluster: by key, then by row (ascending here).
        local = _member_order(np.zeros(m, dtype=np.int64), key, order, 0)
        if order == "random":
            local = np.lexsort((np.arange(m), key))
        best, first = _cluster_duplicates(cluster_unit[local], threshold, block_size)
        out.append((rows_of_cluster[local], best, first))
    return out
