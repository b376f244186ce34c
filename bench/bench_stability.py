"""Benchmark: five-seed stability in one call vs five separate compute_scores runs, in one run.

Usage: ``python bench/bench_stability.py [--n 100000 --d 128 --k 100 --seeds 0,1,2,3,4]``.
Prints the wall times side by side and their ratios (separate / shared): score_stability with one
thread (work shared across runs only: normalisation, row norms, one rank per run) and with one run
per core (the default), plus the largest score difference between the routes (0: every run equals
compute_scores with its seed). Run it on a quiet machine: parallel runs need idle cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.analysis.stability import score_stability
from core.prune.select import select_kept
from core.scores.metrics import compute_scores


def make_mixture(n: int, d: int, n_components: int, seed: int) -> np.ndarray:
    """Gaussian mixture in float32: means ~ N(0, I_d), unit-variance components."""
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((n_components, d)).astype(np.float32) * 2.0
    labels = rng.integers(0, n_components, size=n)
    return means[labels] + rng.standard_normal((n, d), dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--keep-fraction", type=float, default=0.7)
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    x = make_mixture(args.n, args.d, args.k, seed=0)
    print(f"n={args.n} d={args.d} k={args.k} seeds={seeds} backend={args.backend}", flush=True)

    start = time.perf_counter()
    separate = []
    for seed in seeds:
        values = compute_scores(x, "ssp", k=args.k, seed=seed, backend=args.backend).values
        select_kept(values, args.keep_fraction, seed=seed)
        separate.append(values)
    separate_s = time.perf_counter() - start

    timings = {}
    for label, n_threads in (("one thread", 1), ("one run per core", None)):
        start = time.perf_counter()
        result = score_stability(
            x,
            k=args.k,
            seeds=seeds,
            keep_fraction=args.keep_fraction,
            backend=args.backend,
            n_threads=n_threads,
        )
        timings[label] = time.perf_counter() - start
        difference = float(np.max(np.abs(result.values - np.stack(separate))))
        print(f"  [{label}] max |score difference| vs separate runs: {difference:.2e}", flush=True)

    print(f"  {len(seeds)} separate compute_scores runs          {separate_s:9.2f} s")
    for label, seconds in timings.items():
        print(
            f"  score_stability, {label:<17}   {seconds:9.2f} s  "
            f"ratio separate / shared {separate_s / seconds:5.2f} x  (incl. pairwise stats)"
        )


if __name__ == "__main__":
    main()
