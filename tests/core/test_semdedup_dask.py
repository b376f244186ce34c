"""SemDeDup on Dask: the in-memory DedupResult bit for bit, its validation and task batches."""

from __future__ import annotations

from pathlib import Path

import dask
import numpy as np
import pytest

from core.cli import main
from core.prune.semdedup import semdedup
from core.prune.semdedup_dask import _batches, semdedup_dask

FIELDS = ("keep_mask", "duplicate_of", "clusters", "centroids", "distances", "max_similarity")


@pytest.fixture(scope="module")
def embeddings() -> np.ndarray:
    """1200 rows in 4 blobs, the first 60 planted again (with tiny noise) as rows 600-659."""
    rng = np.random.default_rng(0)
    centers = 3 * rng.standard_normal((4, 10))
    x = centers[rng.integers(0, 4, 1200)] + rng.standard_normal((1200, 10))
    x[600:660] = x[:60] + 1e-4 * rng.standard_normal((60, 10))
    return x.astype(np.float32)


@pytest.fixture(autouse=True)
def synchronous() -> object:
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.mark.parametrize("order", ["keep_hard", "keep_easy", "random"])
def test_same_result_as_in_memory(tmp_path: Path, embeddings: np.ndarray, order: str) -> None:
    np.save(tmp_path / "emb.npy", embeddings)
    expected = semdedup(embeddings, k=6, epsilon=0.01, order=order, seed=2, block_size=50)
    got = semdedup_dask(
        tmp_path / "emb.npy",
        k=6,
        epsilon=0.01,
        order=order,
        seed=2,
        block_size=50,
        chunk_rows=170,
    )
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(got, field), getattr(expected, field), err_msg=field)
    assert 60 <= got.n_removed == expected.n_removed
    assert got.params.executor == "dask"
    assert expected.params.executor is None
    assert {**vars_of(got.params), "executor": None} == vars_of(expected.params)
    from_array = semdedup_dask(embeddings, k=6, epsilon=0.01, order=order, seed=2, chunk_rows=99)
    np.testing.assert_array_equal(from_array.duplicate_of, expected.duplicate_of)


def vars_of(params: object) -> dict[str, object]:
    return {name: getattr(params, name) for name in params.__slots__}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epsilon": 1.0}, "epsilon"),
        ({"order": "keep_all"}, "order"),
        ({"k": 0}, "k=0"),
        ({"block_size": 0}, "block_size"),
        ({"chunk_rows": 0}, "chunk_rows"),
        ({"backend": "torch"}, "backend"),
    ],
)
def test_bad_input(embeddings: np.ndarray, kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"k": 3, "epsilon": 0.1, **kwargs}
    with pytest.raises(ValueError, match=message):
        semdedup_dask(embeddings, **arguments)  # type: ignore[arg-type]


def test_batches_cover_every_cluster_of_two_or_more() -> None:
    starts = np.concatenate([[0], np.cumsum([1, 5000, 0, 3, 3, 1, 2])])
    batches = _batches(starts, int(starts[-1]))
    assert batches == [(1, 2), (3, 7)]  # the big cluster alone; size 0/1 clusters left out
    covered = {c for first, last in batches for c in range(first, last)}
    assert {1, 3, 4, 6} <= covered


def test_cli_flags(tmp_path: Path, embeddings: np.ndarray, capsys: pytest.CaptureFixture) -> None:
    np.save(tmp_path / "emb.npy", embeddings)
    common = ["dedup", str(tmp_path / "emb.npy"), "--k", "4", "--epsilon", "0.1"]
    out = str(tmp_path / "kept.csv")
    assert main([*common, "--dask-chunk-rows", "10", "--out", out]) == 2
    assert "--dask-chunk-rows and --dask-scheduler need --dask" in capsys.readouterr().err
    assert main([*common, "--dask", "--dask-scheduler", "local:0", "--out", out]) == 2
    assert "local:N needs N in [1, 256]" in capsys.readouterr().err
    prune = ["prune", str(tmp_path / "emb.npy"), "--keep", "0.5", "--dask", "--out", out]
    assert main([*prune, "--strategy", "moderate"]) == 2
    assert "--strategy moderate reads every embedding: drop --dask" in capsys.readouterr().err
    assert not Path(out).exists()
