"""How much do k-means difficulty scores (ssp, prototype_margin) depend on the seed and on k?"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core._progress import ProgressFn, report, sub_progress
from core.analysis.compare import jaccard, spearman_matrix
from core.prune.select import STRATEGIES, select_kept
from core.scores.kmeans import (
    BACKENDS,
    _fit_kmeans,
    _fixed_order_sq_norms,
    _resolve_backend,
    single_threaded,
)
from core.scores.registry import metric_names
from core.validate import check_choice, check_embeddings, check_k, check_seed

STABILITY_METRICS = metric_names(kmeans_based=True)
DEFAULT_SEEDS = (0, 1, 2, 3, 4)
STABILITY_COLUMNS = ("index", "id", "score_mean", "score_std", "kept_share")
_KMEANS_ITER = 20  # as core.scores.metrics
_POINTS_PER_CENTROID = 256


@dataclass(frozen=True, eq=False, slots=True)
class Stability:
    """Scores of one metric recomputed over several (k, seed) runs.

    Attributes
    ----------
    metric : str
    runs : tuple of (k, seed)
        One entry per run, in order.
    values : ndarray of shape (r, n), float64
        Each run's scores (higher = harder).
    kept : ndarray of shape (r, n), bool
        Each run's kept mask at ``keep_fraction`` and ``strategy``.
    score_mean, score_std : ndarray of shape (n,), float64
        Across runs (population std).
    kept_share : ndarray of shape (n,), float64
        Share of runs in which each example is kept.
    pairs : DataFrame
        One row per run pair: ``k_a, seed_a, k_b, seed_b, spearman, jaccard``.
    keep_fraction : float
    strategy : str
    """

    metric: str
    runs: tuple[tuple[int, int], ...]
    values: np.ndarray
    kept: np.ndarray
    score_mean: np.ndarray
    score_std: np.ndarray
    kept_share: np.ndarray
    pairs: pd.DataFrame
    keep_fraction: float
    strategy: str

    @property
    def always_kept_share(self) -> float:
        """Share of the examples kept in at least one run that are kept in every run."""
        ever = self.kept_share > 0
        return float(np.mean(self.kept_share[ever] == 1.0)) if ever.any() else 1.0

    @property
    def unstable_share(self) -> float:
        """Share of all examples kept in some runs but not in others."""
        return float(np.mean((self.kept_share > 0) & (self.kept_share < 1)))


def score_stability(
    embeddings: np.ndarray,
    *,
    metric: str = "ssp",
    k: int | Sequence[int],
    seeds: Sequence[int] = DEFAULT_SEEDS,
    keep_fraction: float = 0.7,
    strategy: str = "keep_hard",
    distance: str = "cosine",
    backend: str = "auto",
    n_threads: int | None = None,
    progress: ProgressFn | None = None,
) -> Stability:
    """Recompute a k-means score for every seed (and every k) and measure how much it moves.

    The embeddings are validated and converted to float32 and their row norms summed once; each
    run then fits k-means on its seeded sample and assigns every row, as
    :func:`core.scores.metrics.compute_scores` does, so each run's scores are identical to
    ``compute_scores`` with that k and seed. The runs are independent and each is
    single-threaded (that is what makes a k-means fit reproducible), so they run side by side,
    one per core: on c cores r runs cost about ceil(r / c) single runs.

    Parameters
    ----------
    embeddings : array_like of shape (n, d)
    metric : {"ssp", "prototype_margin"}
    k : int or sequence of int
        Clusters; several values add a run per (k, seed).
    seeds : sequence of int
        At least one; at least two runs in all.
    keep_fraction : float
        In (0, 1].
    strategy : str
        One of ``STRATEGIES``; seeded by each run's seed.
    distance : {"cosine", "euclidean"}
    backend : {"auto", "faiss", "sklearn"}
    n_threads : int or None
        Runs computed at once; default: the cores this process may use (at most the runs).
    progress : callable (fraction, message) or None
        Called from the calling thread only, once per finished run.

    Returns
    -------
    Stability

    Raises
    ------
    ValueError
        Unknown metric / strategy / distance / backend, a bad k or seed, fewer than two runs,
        or keep_fraction outside (0, 1].
    """
    metric = check_choice("metric", metric, STABILITY_METRICS)
    x = check_embeddings(embeddings)
    ks = [check_k(value, x.shape[0]) for value in np.atleast_1d(np.asarray(k, dtype=object))]
    if metric == "prototype_margin" and min(ks) < 2:
        raise ValueError(f"prototype_margin needs k >= 2, got k={min(ks)}")
    seed_list = [check_seed(seed) for seed in seeds]
    runs = tuple(itertools.product(ks, seed_list))
    if len(runs) < 2:
        raise ValueError(f"stability needs at least two runs (seeds x k), got {len(runs)}")
    if not 0.0 < float(keep_fraction) <= 1.0:
        raise ValueError(f"keep_fraction={keep_fraction} should be in (0, 1]")
    strategy = check_choice("strategy", strategy, STRATEGIES)
    distance = check_choice("distance", distance, ("cosine", "euclidean"))
    backend = _resolve_backend(check_choice("backend", backend, BACKENDS))
    spherical = distance == "cosine"
    x = np.ascontiguousarray(x)
    sq_norms = _fixed_order_sq_norms(x)  # once for every run's assignment, not once per run
    workers = _workers(n_threads, len(runs))
    values = np.empty((len(runs), x.shape[0]), dtype=np.float64)
    report(progress, 0.0, f"{len(runs)} k-means runs, {workers} at a time")
    fit_progress = sub_progress(progress, 0.0, 0.9)
    # One BLAS thread for the whole pool: threadpoolctl's limit is process-wide, so per-run
    # enter/exit from several threads could otherwise lift it under a running fit. Each run
    # also sets its own thread's OpenMP limit (OpenMP's is per thread) in _fit_kmeans.
    with single_threaded(), ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            pool.submit(_run, x, sq_norms, metric, k_run, seed, spherical, backend): i
            for i, (k_run, seed) in enumerate(runs)
        }
        for done, future in enumerate(as_completed(futures), start=1):
            i = futures[future]
            values[i] = future.result()
            report(
                fit_progress,
                done / len(runs),
                f"run {done} of {len(runs)} done (k={runs[i][0]}, seed={runs[i][1]})",
            )
    report(progress, 0.9, "comparing the runs")
    result = _summarise(metric, runs, values, float(keep_fraction), strategy)
    report(progress, 1.0, "stability done")
    return result


def stability_csv_bytes(result: Stability, ids: np.ndarray) -> bytes:
    """Per-example table ``index,id,score_mean,score_std,kept_share`` as CSV bytes (``%.9g``)."""
    table = pd.DataFrame(
        {
            "index": np.arange(result.score_mean.size),
            "id": np.asarray(ids).astype(str),
            "score_mean": result.score_mean,
            "score_std": result.score_std,
            "kept_share": result.kept_share,
        }
    )
    return table.to_csv(index=False, float_format="%.9g", lineterminator="\n").encode()


def stability_summary(result: Stability) -> str:
    """One sentence, e.g. "93.0% of the kept set is kept in all 5 runs; ..."."""
    return (
        f"{100 * result.always_kept_share:.1f}% of the examples ever kept are kept in all "
        f"{len(result.runs)} runs ({result.metric}, keep {result.keep_fraction:g}, "
        f"{result.strategy}); {100 * result.unstable_share:.1f}% of all examples flip; "
        f"mean pairwise Spearman {result.pairs['spearman'].mean():.4f}, "
        f"Jaccard {result.pairs['jaccard'].mean():.4f}"
    )


# ----------------------------------------------------------------------------- private helpers


def _workers(n_threads: int | None, n_runs: int) -> int:
    if n_threads is not None:
        return max(1, min(int(n_threads), n_runs))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, n_runs))


def _run(
    x: np.ndarray,
    sq_norms: np.ndarray,
    metric: str,
    k: int,
    seed: int,
    spherical: bool,
    backend: str,
) -> np.ndarray:
    _, dist, _ = _fit_kmeans(
        x,
        k=k,
        backend=backend,
        spherical=spherical,
        seed=seed,
        n_iter=_KMEANS_ITER,
        max_points_per_centroid=_POINTS_PER_CENTROID,
        n_nearest=2 if metric == "prototype_margin" else 1,
        progress=None,  # runs report from the calling thread, as each finishes
        row_sq_norms=sq_norms,
    )
    nearest = dist[:, 0].astype(np.float64)
    return nearest if metric == "ssp" else nearest - dist[:, 1].astype(np.float64)


def _summarise(
    metric: str,
    runs: tuple[tuple[int, int], ...],
    values: np.ndarray,
    keep_fraction: float,
    strategy: str,
) -> Stability:
    kept = np.stack(
        [
            select_kept(row, keep_fraction, strategy=strategy, seed=seed).mask()
            for row, (_, seed) in zip(values, runs)
        ]
    )
    rho = spearman_matrix(values)  # ranks once per run, not once per pair
    records = []
    for a, b in itertools.combinations(range(len(runs)), 2):
        records.append((*runs[a], *runs[b], float(rho[a, b]), jaccard(kept[a], kept[b])))
    pairs = pd.DataFrame.from_records(
        records, columns=["k_a", "seed_a", "k_b", "seed_b", "spearman", "jaccard"]
    )
    return Stability(
        metric=metric,
        runs=runs,
        values=values,
        kept=kept,
        score_mean=values.mean(axis=0),
        score_std=values.std(axis=0),
        kept_share=kept.mean(axis=0),
        pairs=pairs,
        keep_fraction=keep_fraction,
        strategy=strategy,
    )
