"""Benchmark: what thread-count-independent scores cost, measured in one run.

Usage: ``python bench/bench_determinism.py [--n 100000 --d 64 --k 100]``. Times the two stages
of SSP scoring the old way (faiss fit on every thread; nearest centroid from the float32 product
alone) and the current way (fit on one thread; candidates re-scored in float64 in a fixed
order), side by side, then checks that the current scores are byte-identical with 1 and 2
threads while the old ones differ.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.scores import kmeans as km
from core.scores.metrics import compute_scores


def make_blobs(n: int, d: int, k: int, seed: int) -> np.ndarray:
    """k Gaussian blobs (unit-normal means, spread 0.8) in float32."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)).astype(np.float32)
    return (centers[rng.integers(k, size=n)] + 0.8 * rng.normal(size=(n, d))).astype(np.float32)


def best_of(repeats: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """Fastest wall time of ``repeats`` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def old_assign(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The previous assignment: cosine distance read off the float32 product's maximum."""
    unit = km._normalize_rows(np.array(centroids, dtype=np.float32, copy=True))
    sims = x @ unit.T
    best = sims.argmax(axis=1)
    norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64))
    dist = 1.0 - sims[np.arange(x.shape[0]), best].astype(np.float64) / np.maximum(norms, 1e-12)
    return np.clip(dist, 0.0, 2.0).astype(np.float32), best


def stage_times(x: np.ndarray, k: int, repeats: int) -> None:
    """Fit and assignment, old and new, side by side."""
    sample = km._normalize_rows(x[np.sort(np.random.default_rng(0).choice(len(x), 256 * k, False))])
    init = km._greedy_kmeans_plus_plus(sample, k, 0)
    fit_old, centroids = best_of(repeats, lambda: km._fit_faiss(sample, init, True, 0, 20)[0])

    def fit_new() -> np.ndarray:
        with km.single_threaded():
            return km._fit_faiss(sample, init, True, 0, 20)[0]

    fit_one, _ = best_of(repeats, fit_new)
    kw: dict[str, Any] = {"distance": "cosine", "n_nearest": 1, "chunk_size": 65536}
    assign_old, _ = best_of(repeats, lambda: old_assign(x, centroids))
    assign_new, _ = best_of(repeats, lambda: km._nearest_centroids(x, centroids, **kw))
    print(f"  {'stage':<44}{'old (s)':>10}{'new (s)':>10}{'ratio':>8}")
    for name, old, new in (
        (f"faiss fit, {256 * k} rows, 20 iterations", fit_old, fit_one),
        (f"assignment of {len(x)} rows", assign_old, assign_new),
        ("both", fit_old + assign_old, fit_one + assign_new),
    ):
        print(f"  {name:<44}{old:>10.3f}{new:>10.3f}{new / old:>8.2f}")


def scores_digest(x: np.ndarray, k: int, threads: int, *, old: bool) -> tuple[str, float]:
    """SHA-256 of the SSP scores and clusters computed with ``threads`` threads, and the time."""
    import faiss
    from threadpoolctl import threadpool_limits

    patches = contextlib.ExitStack()
    if old:  # the previous code: threaded fit, float32 distances
        patches.enter_context(_patched(km, "single_threaded", contextlib.nullcontext))
        patches.enter_context(_patched(km, "_nearest_centroids", _old_nearest))
    with patches, threadpool_limits(limits=threads):
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(threads)
        start = time.perf_counter()
        scores = compute_scores(x, "ssp", k=k, seed=0)
        elapsed = time.perf_counter() - start
        faiss.omp_set_num_threads(before)
    digest = hashlib.sha256(scores.values.tobytes() + scores.clusters.tobytes()).hexdigest()
    return digest[:16], elapsed


def _old_nearest(x: np.ndarray, centroids: np.ndarray, **_: Any) -> tuple[np.ndarray, np.ndarray]:
    dist, best = old_assign(x, centroids)
    return dist[:, None], best[:, None].astype(np.int64)


@contextlib.contextmanager
def _patched(module: Any, name: str, value: Any):  # type: ignore[no-untyped-def]
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    x = make_blobs(args.n, args.d, args.k, 0)
    print(
        f"prunescope determinism benchmark: n={args.n} d={args.d} k={args.k} cpus={os.cpu_count()}"
    )
    stage_times(x, args.k, args.repeats)
    print(
        f"  {'compute_scores ssp, sha256 of scores+clusters':<44}{'1 thread':>20}{'2 threads':>20}"
    )
    for label, old in (("old", True), ("new", False)):
        one, t1 = scores_digest(x, args.k, 1, old=old)
        two, t2 = scores_digest(x, args.k, 2, old=old)
        same = "identical" if one == two else "DIFFERENT"
        print(f"  {label:<44}{one:>20}{two:>20}  {same}  ({t1:.2f} s / {t2:.2f} s)")


if __name__ == "__main__":
    main()
