"""Dask engine vs in memory for ``python -m core prune``, side by side in one run, the start-up
of ``--dask-scheduler local:N``, and the peak memory of ``prune --dask`` on a memory-mapped
``.npy``.

    python bench/bench_dask.py                    # 200k x 64 timing, 2M x 64 (512 MB) memory
    python bench/bench_dask.py --rows 200000 1000000 --rss-rows 0   # 200k and 1M timing only
    python bench/bench_dask.py --commands prune balanced dedup --rss-rows 0

``--commands``: ``prune`` (``--keep 0.5``), ``balanced`` (the same with ``--balance-by
cluster``: per-cluster quotas, selected on the chunks too) and ``dedup`` (SemDeDup, ``--k
1000 --epsilon 0.05`` unless ``--k``).

Each engine runs ``--repeats`` times (default 5), the engines taking turns, and the table
gives medians: on a shared machine one run can be 30 % off.

The start-up lines time, in a fresh interpreter each, ``dask_client("local:N")`` (yields once
the scheduler is up; workers join in the background) against a plain
``LocalCluster(n_workers=N)`` + ``Client`` (waits for the workers): until the client is
usable, until the N workers have joined, until a first ``dask.array`` task is done, and the
close.

Every command runs in a fresh subprocess; its CPU seconds are those of every process in its
tree and its peak RSS is the largest ``ru_maxrss`` of any of them
(``resource.getrusage(RUSAGE_CHILDREN)`` read by a small wrapper that also waits for orphans,
Linux), i.e. the most memory one process held: Dask workers are counted, the embeddings must
fit in none. CPU seconds are the steadier figure on a busy machine.
The kept CSVs of the engines are compared byte for byte. Ratios, not wall-clock limits.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WRAPPER = """
import ctypes, os, resource, subprocess, sys
# Linux: orphans (the workers' forkserver, once the command exits) are re-parented to this
# process and waited for below, so their usage, and that of the workers they waited for, counts.
ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
returned = subprocess.run(sys.argv[1:])
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
sys.exit(returned.returncode)
"""


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


def run(args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (all its processes) and peak RSS (MiB, largest single
    process) of ``python -m core ARGS``."""
    command = [sys.executable, "-c", WRAPPER, sys.executable, "-m", "core", *args]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{done.stderr[-2000:]}")
    cpu, rss = done.stdout.strip().splitlines()[-1].split()
    return seconds, float(cpu), int(rss) / 1024


STARTUP = """
import sys, time
from contextlib import contextmanager
import dask, dask.array as da
from distributed import Client, LocalCluster
from core.scores.distributed import dask_client

@contextmanager
def plain(workers):
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster, Client(cluster, set_as_default=True) as client:
        yield client

workers = int(sys.argv[2])
start = time.perf_counter()
with (dask_client(f"local:{workers}") if sys.argv[1] == "dask_client" else plain(workers)) as client:
    usable = time.perf_counter() - start
    client.wait_for_workers(workers)
    joined = time.perf_counter() - start
    dask.compute(da.ones((workers, 4), chunks=(1, 4)).sum())
    first = time.perf_counter() - start
    closing = time.perf_counter()
print(usable, joined, first, time.perf_counter() - closing)
"""


def startup(workers: int, repeats: int = 2) -> list[str]:
    """Seconds to a usable client, to N joined workers, to a first task, and to close."""
    lines = [f"local:{workers} start-up, seconds (fresh interpreter each, best of {repeats})"]
    lines.append(f"{'cluster':<24} {'client':>7} {'workers':>8} {'1st task':>9} {'close':>6}")
    for name in ("LocalCluster (waits)", "dask_client"):
        best = None
        for _ in range(repeats):
            done = subprocess.run(
                [sys.executable, "-c", STARTUP, name.split()[0], str(workers)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"start-up run failed:\n{done.stderr[-2000:]}")
            times = [float(v) for v in done.stdout.split()]
            best = times if best is None or times[2] < best[2] else best
        assert best is not None
        usable, joined, first, close = best
        lines.append(f"{name:<24} {usable:7.2f} {joined:8.2f} {first:9.2f} {close:6.2f}")
    return lines


COMMANDS = {
    "prune": ["prune", "--keep", "0.5"],
    "balanced": ["prune", "--keep", "0.5", "--balance-by", "cluster"],
    "dedup": ["dedup", "--epsilon", "0.05"],
}


def timing(
    folder: Path,
    rows: int,
    dim: int,
    k: int | None,
    workers: int,
    repeats: int,
    command: str = "prune",
) -> list[str]:
    """Each engine ``repeats`` times, interleaved (a noisy stretch hits every engine alike);
    medians, and the ratio of medians to in memory."""
    emb = folder / "time.npy"
    if not emb.exists() or np.load(emb, mmap_mode="r").shape != (rows, dim):
        write_blobs(emb, rows, dim)
    verb, *options = COMMANDS[command]
    if k is None and verb == "dedup":
        k = 1000  # dedup has no default k
    base = [verb, str(emb), *options, "--seed", "0"]
    base += [] if k is None else ["--k", str(k)]
    engines = {
        "in memory": [],
        "dask threads": ["--dask"],
        f"dask local:{workers}": ["--dask", "--dask-scheduler", f"local:{workers}"],
    }
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in engines}
    csvs: dict[str, set[str]] = {name: set() for name in engines}  # sha256 of every run's CSV
    for _ in range(repeats):
        for name, flags in engines.items():
            out = folder / f"{name.replace(' ', '_').replace(':', '')}.csv"
            runs[name].append(run([*base, *flags, "--out", str(out)]))
            csvs[name].add(hashlib.sha256(out.read_bytes()).hexdigest())
    median = {name: np.median(np.array(values), axis=0) for name, values in runs.items()}
    memory = median["in memory"]
    lines = [
        f"{' '.join([verb, *options])} at {rows:,} x {dim} (k={'default' if k is None else k}), "
        f"median of {repeats} interleaved runs"
    ]
    lines.append(
        f"{'engine':<16} {'seconds':>8} {'x memory':>9} {'min-max s':>10} {'CPU s':>7} "
        f"{'x memory':>9} {'peak RSS MiB':>13} same CSV"
    )
    for name, (seconds, cpu, rss) in median.items():
        walls = [wall for wall, _, _ in runs[name]]
        spread = f"{min(walls):.1f}-{max(walls):.1f}"
        same = "yes" if csvs[name] == csvs["in memory"] and len(csvs[name]) == 1 else "NO"
        lines.append(
            f"{name:<16} {seconds:8.2f} {seconds / memory[0]:9.2f} {spread:>10} {cpu:7.1f} "
            f"{cpu / memory[1]:9.2f} {rss:13.0f} {same}"
        )
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
        seconds, _, rss = run([*base, *flags, "--out", str(folder / "rss.csv")])
        lines.append(f"{name:<16} {seconds:8.1f} {rss:13.0f} {rss / size:12.2f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[200_000], help="timing rows, one table each"
    )
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--k", type=int, default=None, help="default: prune's default k")
    parser.add_argument("--workers", type=int, default=2, help="local:N worker processes")
    parser.add_argument("--repeats", type=int, default=5, help="timing runs of each engine")
    parser.add_argument("--rss-rows", type=int, default=2_000_000, help="0 skips the RSS run")
    parser.add_argument("--rss-k", type=int, default=100)
    parser.add_argument(
        "--commands", nargs="+", choices=list(COMMANDS), default=["prune"], help="default: prune"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_dask_") as tmp:
        folder = Path(tmp)
        lines = startup(args.workers)
        for rows in args.rows:
            for command in args.commands:
                lines += [
                    "",
                    *timing(folder, rows, args.dim, args.k, args.workers, args.repeats, command),
                ]
        if args.rss_rows:
            lines += ["", *peak_memory(folder, args.rss_rows, args.dim, args.rss_k, args.workers)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
