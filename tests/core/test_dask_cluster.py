"""A real ``distributed`` cluster (2 worker processes, 1 thread each, loopback only): prune,
score and dedup write the same bytes as in memory, and ``--dask-scheduler local`` cleans up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from core.cli import main
from core.scores.distributed import _WORKER_ENVIRON, dask_client

pytestmark = pytest.mark.slow  # starting worker processes takes seconds

# Manifest entries that name the run rather than the result: time, engine, output file names.
RUN_ONLY = {"created_at", "content_sha256", "executor", "name"}
BALANCED = ["prune", "--k", "9", "--keep", "0.3", "--balance-by", "cluster", "--min-ratio", "0.9"]


@pytest.fixture(scope="module")
def cluster_address() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """2500 rows in 5 blobs with 80 planted near-duplicates; ids and labels."""
    folder = tmp_path_factory.mktemp("cluster")
    rng = np.random.default_rng(4)
    centers = 3 * rng.standard_normal((5, 16))
    x = centers[rng.integers(0, 5, 2500)] + rng.standard_normal((2500, 16))
    x[1000:1080] = x[:80] + 1e-3 * rng.standard_normal((80, 16))
    np.save(folder / "emb.npy", x.astype(np.float32))
    ids = [f"row{i}" for i in range(2500)]
    pd.DataFrame({"id": ids, "label": rng.integers(0, 3, 2500)}).to_csv(
        folder / "meta.csv", index=False
    )
    return folder / "emb.npy", folder / "meta.csv"


def _run_only_removed(value: object) -> object:
    if isinstance(value, dict):
        return {k: _run_only_removed(v) for k, v in value.items() if k not in RUN_ONLY}
    if isinstance(value, list):
        return [_run_only_removed(v) for v in value]
    return value


def _both(args: list[str], engine: list[str], out_dir: Path, extra_out: str = "") -> list[Path]:
    """Run ``args`` in memory and with ``engine``; return [memory CSV, dask CSV] (+ extras)."""
    paths = []
    for tag, flags in (("memory", []), ("dask", engine)):
        out = out_dir / f"{tag}.csv"
        more = [extra_out, str(out_dir / f"{tag}-removed.csv")] if extra_out else []
        assert main([*args, *flags, *more, "--out", str(out)]) == 0
        paths.append(out)
    return paths


def _assert_same_export(memory: Path, dasked: Path) -> None:
    assert dasked.read_bytes() == memory.read_bytes()
    manifests = [
        json.loads(path.with_name(f"{path.stem}.manifest.json").read_text())
        for path in (memory, dasked)
    ]
    assert manifests[1]["score_params"]["executor"] == "dask"
    assert _run_only_removed(manifests[1]) == _run_only_removed(manifests[0])


@pytest.mark.parametrize(
    "command",
    [
        ["score", "--k", "7"],
        ["prune", "--k", "7", "--keep", "0.6", "--strategy", "keep_hard"],
        ["prune", "--keep", "0.3", "--strategy", "keep_easy", "--metric", "prototype_margin"],
        ["prune", "--keep", "0.5", "--strategy", "random", "--balance-by", "label"],
        [*BALANCED, "--always-keep", "row4,row2499", "--always-drop", "row0"],
        ["prune", "--k", "7", "--keep", "0.5", "--dedup-epsilon", "0.01"],
    ],
    ids=[
        "score",
        "keep_hard",
        "margin_keep_easy",
        "random_balanced",
        "cluster_balanced_pinned",
        "dedup_then_prune",
    ],
)
def test_prune_and_score_same_bytes_on_a_cluster(
    tmp_path: Path, cluster_address: str, inputs: tuple[Path, Path], command: list[str]
) -> None:
    emb, meta = inputs
    args = [command[0], str(emb), "--meta", str(meta), "--seed", "3", *command[1:]]
    engine = ["--dask", "--dask-scheduler", cluster_address, "--dask-chunk-rows", "300"]
    memory, dasked = _both(args, engine, tmp_path)
    _assert_same_export(memory, dasked)


@pytest.mark.parametrize("order", ["keep_hard", "random"])
def test_dedup_same_bytes_on_a_cluster(
    tmp_path: Path, cluster_address: str, inputs: tuple[Path, Path], order: str
) -> None:
    emb, meta = inputs
    args = ["dedup", str(emb), "--meta", str(meta), "--k", "9", "--epsilon", "0.01"]
    args += ["--order", order, "--seed", "5", "--block-size", "64"]
    engine = ["--dask", "--dask-scheduler", cluster_address, "--dask-chunk-rows", "256"]
    memory, dasked = _both(args, engine, tmp_path, extra_out="--removed")
    _assert_same_export(memory, dasked)
    removed = [tmp_path / f"{tag}-removed.csv" for tag in ("memory", "dask")]
    assert removed[1].read_bytes() == removed[0].read_bytes()
    assert len(removed[0].read_text().splitlines()) > 80  # the planted duplicates at least


def test_local_cluster_is_closed_on_exit_and_on_error(
    tmp_path: Path, inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emb, _ = inputs
    me = psutil.Process()
    before = _worker_processes(me)
    with dask_client("local:2") as client:
        client.wait_for_workers(2, timeout=120)  # they start in the background
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
        assert len(_worker_processes(me) - before) == 2  # the test can see them
        assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
        assert all(info["nthreads"] == 1 for info in workers.values())
        # Forked from a forkserver started before distributed set its worker environment:
        # BLAS is single-threaded there all the same (one thread per worker process).
        blas = client.run(_blas_threads)
        assert sorted(blas) == sorted(workers)
        assert all(threads == [1] * len(threads) and threads for threads in blas.values())
        ours = {me.pid} | {child.pid for child in me.children(recursive=True)}
        listening = [
            conn.laddr
            for conn in psutil.net_connections("tcp")
            if conn.status == psutil.CONN_LISTEN and conn.pid in ours
        ]
        assert listening
        assert all(address.ip == "127.0.0.1" for address in listening)  # loopback only
    bad = np.load(emb)
    bad[7] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    out = tmp_path / "out.csv"
    flags = ["--dask", "--dask-scheduler", "local:1", "--k", "4", "--out", str(out)]
    assert main(["prune", str(tmp_path / "nan.npy"), "--keep", "0.5", *flags]) == 2
    assert "1 row(s) with NaN or inf" in capsys.readouterr().err
    assert not out.exists()
    assert _worker_processes(me) <= before  # every worker process is gone


def test_forkserver_environment_is_distributeds_but_the_trim_threshold() -> None:
    import dask
    import distributed  # noqa: F401  (loads its config defaults)

    defaults = dask.config.get("distributed.nanny.pre-spawn-environ")
    expected = {name: str(value) for name, value in defaults.items()}
    assert expected.pop("MALLOC_TRIM_THRESHOLD_") == "65536"
    assert expected == _WORKER_ENVIRON


def _blas_threads() -> list[int]:
    import threadpoolctl

    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info()]


def _worker_processes(me: psutil.Process) -> set[int]:
    """Running worker processes below ``me``: spawned ones, or ones forked by a forkserver
    (not the forkserver itself, a child of ``me``, nor the resource tracker)."""
    found = set()
    for child in me.children(recursive=True):
        try:
            command = " ".join(child.cmdline())
            forked = "forkserver" in command and child.ppid() != me.pid
            if child.status() != psutil.STATUS_ZOMBIE and ("spawn_main" in command or forked):
                found.add(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found
