"""Tests for Dask scoring: same Scores as the in-memory path, validation, .npy access, CLI --dask."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.cli import main
from core.scores.distributed import (
    DEFAULT_CHUNK_ROWS,
    _row_bounds,
    dask_client,
    load_npy_dataset,
    open_npy,
    score_prototype_margin_dask,
    score_ssp_dask,
)
from core.scores.metrics import score_prototype_margin, score_ssp


@pytest.fixture(scope="module")
def embeddings() -> np.ndarray:
    """3000 rows from 5 blobs: with k=5 the fit samples 1280 rows (the sampling path)."""
    rng = np.random.default_rng(0)
    centers = 4 * rng.standard_normal((5, 12))
    rows = centers[rng.integers(0, 5, 3000)] + rng.standard_normal((3000, 12))
    return rows.astype(np.float32)


@pytest.fixture(autouse=True)
def synchronous() -> object:
    with dask.config.set(scheduler="synchronous"):
        yield


def _assert_same_scores(expected: object, got: object) -> None:
    # Centroids are bit-identical (same sampled rows, same fit). Values/clusters come from the
    # same float32 code per chunk; they are exact in practice but only guaranteed to float32
    # rounding, since a BLAS may sum a block product in another order for another block shape.
    np.testing.assert_array_equal(got.centroids, expected.centroids)
    np.testing.assert_allclose(got.values, expected.values, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(got.clusters, expected.clusters)
    assert got.metric == expected.metric
    assert got.values.dtype == np.float64
    assert got.clusters.dtype == np.int64
    assert got.params.executor == "dask"
    assert {k: v for k, v in got.params.as_dict().items() if k != "executor"} == pytest.approx(
        expected.params.as_dict()
    )


@pytest.mark.parametrize(
    "chunk_rows", [pytest.param(1, marks=pytest.mark.slow), 7, 1000, 5000, None]
)  # one-row chunks: ~2 s
@pytest.mark.parametrize("backend", ["sklearn", "faiss"])
def test_ssp_dask_equals_in_memory(
    embeddings: np.ndarray, chunk_rows: int | None, backend: str
) -> None:
    expected = score_ssp(embeddings, k=5, seed=3, backend=backend)
    got = score_ssp_dask(embeddings, k=5, seed=3, backend=backend, chunk_rows=chunk_rows)
    _assert_same_scores(expected, got)


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_dask_array_input_threads_scheduler_and_margin(
    embeddings: np.ndarray, distance: str
) -> None:
    x = da.from_array(embeddings.astype(np.float64), chunks=(333, 6))  # split columns too
    with dask.config.set(scheduler="threads"):
        ssp = score_ssp_dask(x, k=5, seed=1, distance=distance)
        margin = score_prototype_margin_dask(x, k=5, seed=1, distance=distance, chunk_rows=512)
    _assert_same_scores(score_ssp(embeddings, k=5, seed=1, distance=distance), ssp)
    _assert_same_scores(score_prototype_margin(embeddings, k=5, seed=1, distance=distance), margin)
    assert (margin.values <= 0).all()


def test_fit_on_all_rows_when_sample_covers_them(embeddings: np.ndarray) -> None:
    small = embeddings[:700]  # 256 * 5 > 700: no sampling
    _assert_same_scores(score_ssp(small, k=5, seed=2), score_ssp_dask(small, k=5, seed=2))
    got = score_ssp_dask(embeddings, k=5, seed=2, sample_size=3000)
    assert got.params.n_fit == 3000


def test_progress_reaches_one(embeddings: np.ndarray) -> None:
    seen: list[float] = []
    score_ssp_dask(embeddings, k=5, chunk_rows=500, progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0
    assert seen == sorted(seen)


def test_nan_in_a_chunk_names_the_rows(embeddings: np.ndarray) -> None:
    broken = embeddings.copy()
    rows = np.sort(np.random.default_rng(3).choice(3000, size=1280, replace=False))
    outside = np.setdiff1d(np.arange(3000), rows)[[10, -1]]  # not in the fitting sample
    broken[outside] = np.nan
    expected = f"2 row\\(s\\) with NaN or inf.*first rows: {outside[0]}, {outside[1]}"
    with pytest.raises(ValueError, match=expected):
        score_ssp_dask(broken, k=5, seed=3, chunk_rows=256)
    inside = broken.copy()
    inside[rows[0]] = np.inf  # in the sample: found before the fit, all rows scanned
    first = sorted([int(rows[0]), *outside.tolist()])
    with pytest.raises(ValueError, match=f"3 row\\(s\\).*first rows: {first[0]}, {first[1]}"):
        score_ssp_dask(inside, k=5, seed=3, chunk_rows=256)
    too_big = embeddings.astype(np.float64)
    too_big[5, 0] = 1e300  # beyond float32: inf after the cast, as in the in-memory path
    with pytest.raises(ValueError, match=r"1 row\(s\).*first rows: 5"):
        score_ssp_dask(too_big, k=5, seed=3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 3001}, r"k=3001 should be <= n_examples=3000"),
        ({"k": 0}, r"k=0 should be >= 1"),
        ({"distance": "l1"}, r"distance='l1' is not one of"),
        ({"backend": "x"}, r"backend='x' is not one of"),
        ({"seed": -1}, r"seed=-1 should be >= 0"),
        ({"chunk_rows": 0}, r"chunk_rows=0 should be >= 1"),
        ({"sample_size": 4}, r"sample_size=4 should be >= 5"),
        ({"sample_size": 3001}, r"sample_size=3001 should be <= 3000"),
    ],
)
def test_bad_arguments_raise(embeddings: np.ndarray, kwargs: dict[str, object], match: str) -> None:
    arguments: dict[str, object] = {"k": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        score_ssp_dask(embeddings, **arguments)  # type: ignore[arg-type]


def test_bad_arrays_raise(embeddings: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"should be 2-D"):
        score_ssp_dask(embeddings[0], k=1)
    with pytest.raises(ValueError, match=r"real-valued numeric"):
        score_ssp_dask(da.from_array(np.array([["a"], ["b"]])), k=1)
    unknown = da.from_array(embeddings, chunks=(1000, 12))
    unknown = unknown[unknown[:, 0] > -100]  # boolean mask: unknown row chunk sizes
    with pytest.raises(ValueError, match=r"unknown chunk sizes"):
        score_ssp_dask(unknown, k=5)
    with pytest.raises(ValueError, match=r"prototype_margin needs k >= 2"):
        score_prototype_margin_dask(embeddings, k=1)


def test_open_npy_reads_lazily_and_pickles_as_path(tmp_path: Path, embeddings: np.ndarray) -> None:
    path = tmp_path / "emb.npy"
    np.save(path, embeddings)
    x = open_npy(path, chunk_rows=1000)
    assert x.chunks == ((1000, 1000, 1000), (12,))
    np.testing.assert_array_equal(x[1500:1502].compute(), embeddings[1500:1502])
    # The graph ships the path, not the 144 kB of data.
    assert len(pickle.dumps(dict(x.__dask_graph__()))) < 20_000
    _assert_same_scores(score_ssp(embeddings, k=5), score_ssp_dask(x, k=5))


def test_npy_path_sample_is_read_on_the_client(tmp_path: Path) -> None:
    # 70000 rows: the client reads the 51200-row sample (k=200) in two blocks of the file.
    rng = np.random.default_rng(5)
    centers = 4 * rng.standard_normal((20, 8))
    rows = (centers[rng.integers(0, 20, 70_000)] + rng.standard_normal((70_000, 8))).astype(
        np.float32
    )
    path = tmp_path / "emb.npy"
    np.save(path, rows)
    computed: list[int] = []

    def recording_get(graph: object, keys: object, **kwargs: object) -> object:
        computed.append(1)
        return dask.get(graph, keys, **kwargs)  # type: ignore[arg-type]

    expected = score_ssp(rows, k=200, seed=4)
    with dask.config.set(scheduler=recording_get):
        by_path = score_ssp_dask(path, k=200, seed=4, chunk_rows=30_000)
        assert len(computed) == 1  # the assignment pass only: no task gathers the sample
        by_array = score_ssp_dask(open_npy(path, chunk_rows=30_000), k=200, seed=4)
        assert len(computed) == 3  # a Dask array's sample is computed by the scheduler
    _assert_same_scores(expected, by_path)
    _assert_same_scores(expected, by_array)
    assert by_path.params.n_fit == 51_200
    with pytest.raises(FileNotFoundError):
        score_ssp_dask(tmp_path / "missing.npy", k=2)


@st.composite
def _rows_and_chunk_rows(draw: st.DrawFn) -> tuple[int, int | None]:
    """n up to 10**9 rows; chunk_rows None or up to 10**6, at most 10**5 chunks (a list)."""
    n = draw(st.integers(1, 10**9))
    chunk_rows = draw(st.one_of(st.none(), st.integers(max(1, -(-n // 10**5)), 10**6)))
    return n, chunk_rows


@settings(max_examples=300, deadline=None)
@given(_rows_and_chunk_rows())
def test_chunks_cover_every_row_once_in_equal_sizes(case: tuple[int, int | None]) -> None:
    n, chunk_rows = case
    bounds = _row_bounds(n, chunk_rows)
    starts = [lo for lo, _ in bounds]
    stops = [hi for _, hi in bounds]
    assert starts[0] == 0
    assert stops[-1] == n
    assert starts[1:] == stops[:-1]
    sizes = np.diff([0, *stops])
    if chunk_rows is None:  # ceil(n / 65536) chunks, no small remainder
        assert len(bounds) == -(-n // DEFAULT_CHUNK_ROWS)
        assert sizes.max() <= DEFAULT_CHUNK_ROWS
        assert sizes.max() - sizes.min() <= 1
    else:
        assert (sizes[:-1] == chunk_rows).all()
        assert 1 <= sizes[-1] <= chunk_rows


def test_a_file_or_array_is_scored_without_dask_array_or_distributed(
    npy_inputs: tuple[Path, Path],
) -> None:
    # Imports that cost time and no task needs: dask.array (about 0.25 s, in the client and in
    # every worker process; the tasks are plain functions on NumPy blocks) and, on Dask's
    # threads, distributed (about 0.25 s, which dask.compute imports to look for a Client).
    # A fresh interpreter: this one imported both.
    emb, meta = npy_inputs
    out = emb.parent / "out.csv"
    script = f"""
import sys
import numpy as np
from core.cli import main
from core.scores.distributed import _WORKER_PRELOAD, score_ssp_dask
common = ["--meta", {str(meta)!r}, "--keep", "0.5", "--dask", "--out", {str(out)!r}]
assert main(["prune", {str(emb)!r}, *common]) == 0
assert main(["prune", {str(emb)!r}, *common, "--dedup-epsilon", "0.01"]) == 0
score_ssp_dask(np.load({str(emb)!r}), k=3)
loaded = [*sys.modules, *_WORKER_PRELOAD]
print(sorted(name for name in loaded if name.split(".")[0] == "distributed"))
print(sorted(name for name in loaded if name.startswith("dask.array")))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-2:] == ["[]", "[]"]
    written = pd.read_csv(out)
    assert len(written) > 0


def test_open_npy_rejects_bad_files(tmp_path: Path) -> None:
    np.save(
        tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object)
    )  # np.save pickles objects
    with pytest.raises(ValueError, match=r"pickled/object arrays are not accepted"):
        open_npy(tmp_path / "obj.npy")
    np.save(tmp_path / "flat.npy", np.zeros(4))
    with pytest.raises(ValueError, match=r"should be 2-D"):
        open_npy(tmp_path / "flat.npy")
    (tmp_path / "emb.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"reads a memory-mapped \.npy file; got emb\.csv"):
        open_npy(tmp_path / "emb.csv")
    with pytest.raises(FileNotFoundError):
        open_npy(tmp_path / "missing.npy")


def test_load_npy_dataset_keeps_embeddings_on_disk(tmp_path: Path) -> None:
    np.save(tmp_path / "emb.npy", np.ones((3, 2), dtype=np.float64))
    pd.DataFrame({"id": ["a", "b", "c"], "label": ["x", "y", "x"]}).to_csv(
        tmp_path / "meta.csv", index=False
    )
    dataset = load_npy_dataset(tmp_path / "emb.npy", tmp_path / "meta.csv")
    assert isinstance(dataset.embeddings, np.memmap)
    assert (dataset.n, dataset.d) == (3, 2)
    assert dataset.ids.tolist() == ["a", "b", "c"]
    assert dataset.label_strings().tolist() == ["x", "y", "x"]
    assert [source.name for source in dataset.sources] == ["emb.npy", "meta.csv"]
    pd.DataFrame({"id": ["a", "a", "c"]}).to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(ValueError, match=r"metadata dup\.csv: ids should be unique"):
        load_npy_dataset(tmp_path / "emb.npy", tmp_path / "dup.csv")


def test_dask_client_without_distributed_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with (
        pytest.raises(ValueError, match=r"needs the 'distributed' package.*pip install"),
        dask_client("tcp://127.0.0.1:8786"),
    ):
        pass
    with pytest.raises(ValueError, match=r"scheduler address=''"), dask_client(""):
        pass


# ----------------------------------------------------------------------------- CLI --dask


@pytest.fixture
def npy_inputs(tmp_path: Path, embeddings: np.ndarray) -> tuple[Path, Path]:
    np.save(tmp_path / "emb.npy", embeddings[:600])
    labels = np.random.default_rng(1).integers(0, 4, 600)
    meta = pd.DataFrame({"id": [f"r{i}" for i in range(600)], "label": labels})
    meta.to_csv(tmp_path / "meta.csv", index=False)
    return tmp_path / "emb.npy", tmp_path / "meta.csv"


@pytest.mark.parametrize("command", ["score", "prune"])
def test_cli_dask_writes_the_same_csv(npy_inputs: tuple[Path, Path], command: str) -> None:
    emb, meta = npy_inputs
    extra = ["--keep", "0.5"] if command == "prune" else []
    common = [command, str(emb), "--meta", str(meta), "--k", "4", "--seed", "1", *extra]
    plain, dasked = emb.parent / "plain.csv", emb.parent / "dask.csv"
    assert main([*common, "--out", str(plain)]) == 0
    assert main([*common, "--dask", "--dask-chunk-rows", "50", "--out", str(dasked)]) == 0
    assert dasked.read_bytes() == plain.read_bytes()
    manifest = (emb.parent / "dask.manifest.json").read_text()
    assert '"executor": "dask"' in manifest
    again = emb.parent / "again.csv"
    assert (
        main([command, str(emb), "--meta", str(meta), "--dask", *common[4:], "--out", str(again)])
        == 0
    )
    assert again.read_bytes() == plain.read_bytes()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--dask", "--metric", "random"], "--dask supports --metric ssp or prototype_margin"),
        (["--dask-chunk-rows", "10"], "--dask-chunk-rows and --dask-scheduler need --dask"),
        (["--dask", "--dask-chunk-rows", "0"], "--dask-chunk-rows 0 should be >= 1"),
        (["--dask", "--k", "601"], "--k 601 should be <= n_examples=600"),
    ],
)
def test_cli_dask_bad_input_exits_2(
    npy_inputs: tuple[Path, Path],
    flags: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emb, _ = npy_inputs
    out = emb.parent / "out.csv"
    assert main(["score", str(emb), *flags, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_cli_dask_needs_npy_and_distributed(
    npy_inputs: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emb, meta = npy_inputs
    out = emb.parent / "out.csv"
    assert main(["score", str(meta), "--dask", "--out", str(out)]) == 2
    assert "reads a memory-mapped .npy file" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "distributed", None)
    flags = ["--dask", "--dask-scheduler", "tcp://127.0.0.1:8786"]
    assert main(["score", str(emb), *flags, "--k", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "pip install distributed==" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
