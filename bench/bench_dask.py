"""Dask engine vs in memory for ``python -m core prune``, side by side in one run, and the peak
memory of ``prune --dask`` on a memory-mapped ``.npy``.

    python bench/bench_dask.py                    # 200k x 64 timing, 2M x 64 (512 MB) memory
    python bench/bench_dask.py --rows 1000000     # the 1M x 64 timing
    python bench/bench_dask.py --rss-rows 0       # timing only

Every command runs in a fresh subprocess; its peak RSS is the largest ``ru_maxrss`` of any
process in its tree (``resource.getrusage(RUSAGE_CHILDREN)`` read by a small wrapper), i.e.
the most memory one process held: Dask workers are counted, the embeddings must fit in none.
The kept CSVs of the engines are compared byte for byte. Ratios, not wall-clock limits.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WRAPPER = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
)


def write_blobs(path: Path, rows: int, dim: int, seed: int = 0) -> None:
    """``rows`` x ``dim`` float32 from 100 Gaussian blobs, written block by block to a .npy."""
    rng = np.random.default_rng(seed)
    centers = 3 * rng.standard_normal((100, dim)).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim))
    step = 1 << 18
    for start in range(0, rows, step):
        m = min(step, rows - start)
        noise = rng.standard_normal((m, dim), dtype=np.float32)
        out[start : start + m] = centers[rng.integers(0, 100, m)] + noise
    out.flush()
    del out


def run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB, largest single process) of ``python -m core ARGS``."""
    command = [sys.executable, "-c", WRAPPER, sys.executable, "-m", "core", *args]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{done.stderr[-2000:]}")
    return seconds, int(done.stdout.strip().splitlines()[-1]) / 1024


def timing(folder: Path, rows: int, dim: int, k: int | None, workers: int) -> list[str]:
    emb = folder / "time.npy"
    write_blobs(emb, rows, dim)
    base = ["prune", str(emb), "--keep", "0.5", "--seed", "0"]
    base += [] if k is None else ["--k", str(k)]
    engines = {
        "in memory": [],
        "dask threads": ["--dask"],
        f"dask local:{workers}": ["--dask", "--dask-scheduler", f"local:{workers}"],
    }
    results = {}
    for name, flags in engines.items():
        out = folder / f"{name.replace(' ', '_').replace(':', '')}.csv"
        results[name] = (*run([*base, *flags, "--out", str(out)]), out.read_bytes())
    memory = results["in memory"]
    lines = [f"prune --keep 0.5 at {rows:,} x {dim} (k={'default' if k is None else k})"]
    lines.append(f"{'engine':<16} {'seconds':>8} {'x memory':>9} {'peak RSS MiB':>13} same CSV")
    for name, (seconds, rss, data) in results.items():
        same = "yes" if data == memory[2] else "NO"
        lines.append(f"{name:<16} {seconds:8.1f} {seconds / memory[0]:9.2f} {rss:13.0f} {same}")
    return lines


def peak_memory(folder: Path, rows: int, dim: int, k: int, workers: int) -> list[str]:
    emb = folder / "rss.npy"
    write_blobs(emb, rows, dim, seed=1)
    size = emb.stat().st_size / 2**20
    base = ["prune", str(emb), "--keep", "0.5", "--seed", "0", "--k", str(k)]
    lines = [f"peak RSS of prune at {rows:,} x {dim} ({size:.0f} MiB .npy, k={k})"]
    lines.append(f"{'engine':<16} {'seconds':>8} {'peak RSS MiB':>13} {'x file size':>12}")
    for name, flags in {
        "dask threads": ["--dask"],
        f"dask local:{workers}": ["--dask", "--dask-scheduler", f"local:{workers}"],
        "in memory": [],
    }.items():
        seconds, rss = run([*base, *flags, "--out", str(folder / "rss.csv")])
        lines.append(f"{name:<16} {seconds:8.1f} {rss:13.0f} {rss / size:12.2f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="timing rows (1000000: 1M)")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--k", type=int, default=None, help="default: prune's default k")
    parser.add_argument("--workers", type=int, default=2, help="local:N worker processes")
    parser.add_argument("--rss-rows", type=int, default=2_000_000, help="0 skips the RSS run")
    parser.add_argument("--rss-k", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_dask_") as tmp:
        folder = Path(tmp)
        lines = timing(folder, args.rows, args.dim, args.k, args.workers)
        if args.rss_rows:
            lines += ["", *peak_memory(folder, args.rss_rows, args.dim, args.rss_k, args.workers)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
