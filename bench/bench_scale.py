"""Benchmark: time to the first map at scale, sample + place vs a plain UMAP fit, in one run.

Usage: ``python bench/bench_scale.py [--n 100000 --d 64] [--million] [--plain-n 50000]
[--max-fit 15000 20000]``.

Both routes run warm (numba kernels compiled first, not timed: ``warm_up_umap()`` for ours, a
5,000-row plain fit for pynndescent's, which the plain route uses and ours does not) on the
same Gaussian mixture:
``core.analysis.projection.project_sampled`` (UMAP on a stratified sample of at most
``--max-fit`` rows, default ``DEFAULT_MAX_FIT`` = 15,000, the rest placed by their nearest
fitted neighbours; what the Map and ``python -m core project`` run; several values: a row each) against ``umap.UMAP(random_state=0, n_jobs=1).fit_transform`` of every row (the same
single-threaded, seeded settings). Trustworthiness (sklearn, 10 neighbours, cosine) of both
layouts on one shared 3,000-row subsample. ``--plain-n`` fits the plain route on a subsample
when a full fit would take too long (the table says so). ``--million`` also times
``project_sampled`` on 1,000,000 rows (target: under 2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.analysis.projection import DEFAULT_MAX_FIT, project_sampled, warm_up_umap
from core.cache_dir import import_umap


def make_mixture(n: int, d: int, n_components: int, seed: int) -> np.ndarray:
    """float32 Gaussian mixture: means ~ N(0, I_d), spreads in [0.5, 1.0], Dirichlet(5) weights."""
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((n_components, d)).astype(np.float32)
    spreads = rng.uniform(0.5, 1.0, n_components).astype(np.float32)
    members = rng.choice(n_components, size=n, p=rng.dirichlet(np.full(n_components, 5.0)))
    x = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 100_000):
        part = members[start : start + 100_000]
        noise = rng.standard_normal((part.size, d), dtype=np.float32)
        x[start : start + part.size] = means[part] + spreads[part, None] * noise
    return x


def trust(x: np.ndarray, coords: np.ndarray, rows: np.ndarray) -> float:
    from sklearn.manifold import trustworthiness

    return float(trustworthiness(x[rows], coords[rows], n_neighbors=10, metric="cosine"))


def plain_umap(x: np.ndarray, seed: int) -> np.ndarray:
    umap = import_umap()
    normalised = x / np.linalg.norm(x, axis=1, keepdims=True)
    model = umap.UMAP(n_components=2, random_state=seed, transform_seed=seed, n_jobs=1)
    return model.fit_transform(normalised)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--plain-n", type=int, default=None, help="rows for the plain fit")
    parser.add_argument("--million", action="store_true", help="also time 1M rows (sampled)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-fit",
        type=int,
        nargs="+",
        default=[DEFAULT_MAX_FIT],
        help=f"sample sizes of project_sampled, a row each (default {DEFAULT_MAX_FIT})",
    )
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")

    started = time.perf_counter()
    warm_up_umap()
    print(f"warm-up (compile or load numba kernels, not timed below): "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    started = time.perf_counter()
    plain_umap(make_mixture(5000, 8, 3, args.seed), args.seed)  # pynndescent's kernels too
    print(f"warm-up of the plain route (pynndescent, above 4,096 rows): "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip

    x = make_mixture(args.n, args.d, args.components, args.seed)
    rng = np.random.default_rng(args.seed)
    plain_n = min(args.plain_n or args.n, args.n)
    plain_rows = np.sort(rng.choice(args.n, size=plain_n, replace=False))
    shared = np.sort(rng.choice(plain_rows, size=min(3000, plain_n), replace=False))

    sampled_runs = []
    for max_fit in args.max_fit:
        started = time.perf_counter()
        coords = project_sampled(x, method="umap", seed=args.seed, max_fit=max_fit).coords
        sampled_runs.append((max_fit, coords, time.perf_counter() - started))
        print(
            f"project_sampled (max_fit {max_fit:,}) done in {sampled_runs[-1][2]:.1f} s", flush=True
        )
    print(f"plain fit of {plain_n:,} rows…", flush=True)

    started = time.perf_counter()
    plain = np.full((args.n, 2), np.nan, dtype=np.float32)
    plain[plain_rows] = plain_umap(x[plain_rows], args.seed)
    t_plain = time.perf_counter() - started

    tw_plain = trust(x, plain, shared)
    note = "" if plain_n == args.n else f" (plain fit on a {plain_n:,}-row subsample)"
    print(f"\n{args.n:,} x {args.d}, {args.components} components{note}")
    print(f"{'route':<44}{'rows fitted':>12}{'seconds':>10}{'trust@3k':>10}")
    for max_fit, sampled, t_sampled in sampled_runs:
        tw_sampled = trust(x, sampled, shared)
        print(
            f"{'project_sampled (sample + k-NN placement)':<44}"
            f"{min(args.n, max_fit):>12,}{t_sampled:>10.1f}{tw_sampled:>10.4f}"
            f"   speed-up {t_plain / t_sampled:.2f}x (target >= 3x), "
            f"trust - plain {tw_sampled - tw_plain:+.4f} (target >= -0.03)"
        )
    print(f"{'plain umap.UMAP().fit_transform':<44}{plain_n:>12,}{t_plain:>10.1f}{tw_plain:>10.4f}")
    # fmt: on

    if args.million:
        big = make_mixture(1_000_000, args.d, args.components, args.seed + 1)
        started = time.perf_counter()
        coords = project_sampled(big, method="umap", seed=args.seed).coords
        t_big = time.perf_counter() - started
        finite = bool(np.isfinite(coords).all())
        print(f"\n1,000,000 x {args.d}: project_sampled {t_big:.1f} s (target < 120 s), "
              f"every row placed: {finite}")  # fmt: skip


if __name__ == "__main__":
    main()
