"""Benchmark: SSP scoring + selection vs a scikit-learn KMeans route, measured in one run.

Usage: ``python bench/bench_scoring.py [--n 1000000 --d 128 --k 1000]``. Prints wall times,
inertia on the full data, the assignment pass's GFLOP/s against a float32 matmul measured in the
same run, and peak RSS against the embedding array's size, each with its ratio and target.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.prune.select import select_kept
from core.scores.kmeans import _nearest_centroids
from core.scores.metrics import compute_scores

GIB = 1024**3


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_mixture(n: int, d: int, n_components: int, seed: int) -> np.ndarray:
    """Gaussian mixture in float32, written block by block so no float64 (n, d) temporary exists.

    Component means ~ N(0, I_d); each component has its own isotropic spread in [0.5, 1.0]
    (within-cluster radius ~ 0.75 sqrt(d) vs ~ sqrt(2 d) between means: separated but not
    trivially). Mixture weights ~ Dirichlet(5), so cluster sizes differ.
    """
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((n_components, d), dtype=np.float32)
    spread = rng.uniform(0.5, 1.0, size=n_components).astype(np.float32)
    weights = rng.dirichlet(np.full(n_components, 5.0))
    components = rng.choice(n_components, size=n, p=weights)
    x = np.empty((n, d), dtype=np.float32)
    block = 65536
    for start in range(0, n, block):
        stop = min(n, start + block)
        c = components[start:stop]
        noise = rng.standard_normal((stop - start, d), dtype=np.float32)
        noise *= spread[c][:, None]
        noise += means[c]
        x[start:stop] = noise
    return x


def matmul_gflops(repeats: int = 3, size: int = 4096) -> float:
    """Best-of-``repeats`` float32 GFLOP/s of a (size x size) @ (size x size) product."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty((size, size), dtype=np.float32)
    np.matmul(a, b, out=out)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size**3 / best / 1e9


def euclidean_inertia(x: np.ndarray, centroids: np.ndarray) -> float:
    """Sum of squared Euclidean distances to the nearest centroid over all rows (float64 sum)."""
    dist, _ = _nearest_centroids(
        x,
        np.ascontiguousarray(centroids, dtype=np.float32),
        distance="euclidean",
        n_nearest=1,
        chunk_size=65536,
    )
    d = dist[:, 0].astype(np.float64)
    return float(np.dot(d, d))


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - t0
    print(f"  {label:<58s} {seconds:9.2f} s", flush=True)
    return value, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--components", type=int, default=None, help="mixture size (default k)")
    parser.add_argument("--keep-fraction", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--sk-n",
        type=int,
        default=None,
        help="fit scikit-learn KMeans on this many rows and extrapolate its fit time linearly "
        "to n (labelled); default: fit on all n rows",
    )
    parser.add_argument(
        "--sk-max-iter", type=int, default=300, help="scikit-learn max_iter (default 300)"
    )
    parser.add_argument("--skip-sklearn", action="store_true")
    args = parser.parse_args(argv)
    n, d, k = args.n, args.d, args.k

    import faiss
    import sklearn
    from threadpoolctl import threadpool_info

    print("prunescope scoring benchmark")
    print(
        f"  n={n} d={d} k={k}  cpus={os.cpu_count()}  python {platform.python_version()}  "
        f"numpy {np.__version__}  sklearn {sklearn.__version__}  faiss {faiss.__version__}"
    )
    pools = ", ".join(f"{p['internal_api']}:{p['num_threads']}" for p in threadpool_info())
    print(f"  thread pools: {pools}; faiss omp threads {faiss.omp_get_max_threads()}")

    x, _ = timed(
        "generate Gaussian mixture (float32)",
        lambda: make_mixture(n, d, args.components or k, args.seed),
    )
    data_bytes = x.nbytes
    print(
        f"  embedding array: {data_bytes / GIB:.3f} GiB; peak RSS so far "
        f"{peak_rss_bytes() / GIB:.3f} GiB"
    )

    print("ours (compute_scores metric='ssp' + select_kept keep_hard):")

    def ours(distance: str):  # type: ignore[no-untyped-def]
        scores = compute_scores(x, "ssp", k=k, distance=distance, seed=args.seed)
        selection = select_kept(scores.values, args.keep_fraction, strategy="keep_hard")
        return scores, selection

    (scores_e, sel_e), t_ours_e = timed(
        "euclidean: fit + assign all + select", lambda: ours("euclidean")
    )
    (scores_c, _sel_c), t_ours_c = timed(
        "cosine (reference): fit + assign all + select", lambda: ours("cosine")
    )
    rss_ours = peak_rss_bytes()
    print(
        f"  backend={scores_e.params.backend} n_fit={scores_e.params.n_fit} "
        f"n_iter={scores_e.params.n_iter} kept={sel_e.n_kept}"
    )

    # The scoring pass alone: assignment of all n rows to k centroids (no validation).
    centroids = scores_e.centroids
    _, t_pass_e = timed(
        "scoring pass alone, euclidean (n x k x d)",
        lambda: _nearest_centroids(
            x, centroids, distance="euclidean", n_nearest=1, chunk_size=65536
        ),
    )
    _, t_pass_c = timed(
        "scoring pass alone, cosine (n x k x d)",
        lambda: _nearest_centroids(
            x, scores_c.centroids, distance="cosine", n_nearest=1, chunk_size=65536
        ),
    )
    _, t_pass_m = timed(
        "scoring pass, euclidean, 2 nearest (prototype_margin)",
        lambda: _nearest_centroids(
            x, centroids, distance="euclidean", n_nearest=2, chunk_size=65536
        ),
    )
    flops = 2.0 * n * k * d
    mm = matmul_gflops()
    inertia_ours = float(scores_e.params.inertia)

    sk_line = None
    if not args.skip_sklearn:
        from sklearn.cluster import KMeans
        from sklearn.metrics import pairwise_distances_argmin_min

        sk_n = min(n, args.sk_n) if args.sk_n else n
        label = "scikit-learn KMeans(n_clusters=k) defaults"
        if args.sk_max_iter != 300:
            label += f", max_iter={args.sk_max_iter}"
        print(f"{label} + pairwise_distances_argmin_min + select_kept:")
        if sk_n < n:
            rows = np.sort(np.random.default_rng(args.seed).choice(n, size=sk_n, replace=False))
            fit_x = x[rows]
        else:
            fit_x = x
        model, t_fit = timed(
            f"KMeans fit on {sk_n} rows",
            lambda: KMeans(n_clusters=k, random_state=args.seed, max_iter=args.sk_max_iter).fit(
                fit_x
            ),
        )
        del fit_x
        (_, mind), t_assign = timed(
            "pairwise_distances_argmin_min on all n",
            lambda: pairwise_distances_argmin_min(x, model.cluster_centers_),
        )
        _, t_sel = timed(
            "select_kept", lambda: select_kept(mind.astype(np.float64), args.keep_fraction)
        )
        t_fit_full = t_fit * (n / sk_n)
        t_sk = t_fit_full + t_assign + t_sel
        inertia_sk = euclidean_inertia(x, model.cluster_centers_)
        inertia_sk_own = float(np.dot(mind.astype(np.float64), mind.astype(np.float64)))
        sk_line = (t_sk, inertia_sk, inertia_sk_own, model.n_iter_, sk_n, t_fit_full)

    print()
    print("results")
    print(f"  ours euclidean end-to-end             {t_ours_e:9.2f} s")
    print(f"  ours cosine end-to-end                {t_ours_c:9.2f} s")
    if sk_line is not None:
        t_sk, inertia_sk, inertia_sk_own, sk_iter, sk_n, t_fit_full = sk_line
        extra = "" if sk_n == n else f" (fit time EXTRAPOLATED x{n / sk_n:.1f} from {sk_n} rows)"
        print(f"  scikit-learn route end-to-end         {t_sk:9.2f} s{extra}; n_iter_={sk_iter}")
        speedup = t_sk / t_ours_e
        print(
            f"  speed-up (sklearn / ours euclidean)   {speedup:9.2f} x   "
            f"target >= 5x: {'MET' if speedup >= 5 else 'MISSED'}"
        )
        print(f"  speed-up (sklearn / ours cosine)      {t_sk / t_ours_c:9.2f} x")
        print(f"  inertia on full data, ours            {inertia_ours:.6e}")
        print(
            f"  inertia on full data, sklearn         {inertia_sk:.6e}  "
            f"(its own argmin_min distances: {inertia_sk_own:.6e})"
        )
        rel = inertia_ours / inertia_sk - 1.0
        print(
            f"  inertia ours / sklearn - 1            {rel * 100:+9.3f} %   "
            f"target <= +1%: {'MET' if rel <= 0.01 else 'MISSED'}"
        )
    rate_e = flops / t_pass_e / 1e9
    rate_c = flops / t_pass_c / 1e9
    print(f"  float32 matmul (4096^3, best of 3)    {mm:9.1f} GFLOP/s")
    print(
        f"  scoring pass euclidean                {rate_e:9.1f} GFLOP/s = {rate_e / mm:6.1%} "
        f"of matmul   target >= 40%: {'MET' if rate_e / mm >= 0.4 else 'MISSED'}"
    )
    print(
        f"  scoring pass cosine                   {rate_c:9.1f} GFLOP/s = {rate_c / mm:6.1%} "
        "of matmul"
    )
    print(
        f"  scoring pass euclidean, 2 nearest     {flops / t_pass_m / 1e9:9.1f} GFLOP/s = "
        f"{flops / t_pass_m / 1e9 / mm:6.1%} of matmul"
    )
    ratio = rss_ours / data_bytes
    print(
        f"  peak RSS through our two runs         {rss_ours / GIB:9.3f} GiB = {ratio:.2f} x the "
        f"{data_bytes / GIB:.3f} GiB embeddings   target <= 3x: "
        f"{'MET' if ratio <= 3 else 'MISSED'}"
    )
    print(f"  peak RSS at exit (incl. sklearn)      {peak_rss_bytes() / GIB:9.3f} GiB")
    print("  note: 2 shared CPU cores; other processes may have been running.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
