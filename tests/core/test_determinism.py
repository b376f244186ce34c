"""Scores do not depend on the thread count, the block size or the Dask chunking (issue 13)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dask
import dask.array as da
import faiss
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from core.cli import main
from core.cli.verify import rerun_export
from core.export import build_manifest, scores_csv_bytes
from core.export_verify import verify_export
from core.io.data import make_dataset
from core.scores.distributed import score_prototype_margin_dask, score_ssp_dask
from core.scores.kmeans import nearest_centroids, single_threaded
from core.scores.metrics import compute_scores, score_prototype_margin, score_ssp


@contextmanager
def threads(n: int) -> Iterator[None]:
    """At most ``n`` BLAS and OpenMP threads, and ``n`` faiss threads, then restore."""
    before = faiss.omp_get_max_threads()
    with threadpool_limits(limits=n):
        faiss.omp_set_num_threads(n)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(before)


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    """6000 rows of 40 overlapping blobs in 32-d: many near-ties between centroids."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((40, 32)).astype(np.float32)
    rows = centres[rng.integers(40, size=6000)] + 0.9 * rng.standard_normal((6000, 32))
    return rows.astype(np.float32)


@pytest.mark.parametrize("backend", ["faiss", "sklearn"])
@pytest.mark.parametrize("metric", ["ssp", "prototype_margin"])
@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_score_csv_bytes_same_with_1_and_2_threads(
    blobs: np.ndarray, backend: str, metric: str, distance: str
) -> None:
    dataset = make_dataset(blobs)
    csvs = []
    for n_threads in (1, 2):
        with threads(n_threads):
            scores = compute_scores(blobs, metric, k=20, distance=distance, backend=backend, seed=0)
        csvs.append(scores_csv_bytes(dataset, scores))
    assert csvs[0] == csvs[1]


def test_single_threaded_restores_the_limits() -> None:
    with threads(2):
        with single_threaded():
            assert faiss.omp_get_max_threads() == 1
        assert faiss.omp_get_max_threads() == 2


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_block_size_does_not_change_distances(blobs: np.ndarray, distance: str) -> None:
    rng = np.random.default_rng(1)
    centroids = blobs[rng.choice(len(blobs), 30, replace=False)]
    whole = nearest_centroids(blobs, centroids, distance=distance, n_nearest=3)
    for chunk_size in (1, 7, 1000):
        blocked = nearest_centroids(
            blobs, centroids, distance=distance, n_nearest=3, chunk_size=chunk_size
        )
        np.testing.assert_array_equal(blocked[0], whole[0])
        np.testing.assert_array_equal(blocked[1], whole[1])


def test_near_ties_go_to_the_exactly_nearest_centroid() -> None:
    """Centroids closer together than float32's rounding of a dot product: the float64 answer."""
    rng = np.random.default_rng(2)
    base = rng.standard_normal(64).astype(np.float32)
    centroids = np.stack([base, base, base, rng.standard_normal(64).astype(np.float32)])
    centroids[1, 5] = np.nextafter(centroids[1, 5], np.float32(np.inf))
    centroids[2, 9] = np.nextafter(centroids[2, 9], np.float32(-np.inf))
    x = (base + 1e-3 * rng.standard_normal((500, 64))).astype(np.float32)
    dist, idx = nearest_centroids(x, centroids, distance="euclidean", n_nearest=3)
    exact = np.sqrt(
        ((x[:, None, :].astype(np.float64) - centroids[None].astype(np.float64)) ** 2).sum(-1)
    )
    order = np.lexsort((np.broadcast_to(np.arange(4), exact.shape), exact), axis=1)[:, :3]
    np.testing.assert_array_equal(idx, order)
    np.testing.assert_allclose(dist, np.take_along_axis(exact, order, axis=1), rtol=1e-6)
    # Exact ties go to the lower index.
    tied = nearest_centroids(base[None], np.stack([base, base]), distance="cosine", n_nearest=2)
    np.testing.assert_array_equal(tied[1], [[0, 1]])


@pytest.mark.parametrize(
    ("dask_score", "memory_score"),
    [(score_ssp_dask, score_ssp), (score_prototype_margin_dask, score_prototype_margin)],
)
def test_dask_threads_give_the_in_memory_bytes(
    blobs: np.ndarray, dask_score: object, memory_score: object
) -> None:
    expected = memory_score(blobs, k=20, seed=0)  # type: ignore[operator]
    with dask.config.set(scheduler="threads", num_workers=2):
        got = dask_score(da.from_array(blobs, chunks=(777, 32)), k=20, seed=0)  # type: ignore[operator]
    dataset = make_dataset(blobs)
    assert scores_csv_bytes(dataset, got) == scores_csv_bytes(dataset, expected)


def test_manifest_records_threads(blobs: np.ndarray) -> None:
    with threads(2):
        scores = compute_scores(blobs, "ssp", k=5, seed=0)
        manifest = build_manifest(make_dataset(blobs), scores, None)
    assert manifest["threads"]["kmeans_fit"] == 1
    assert manifest["threads"]["faiss"] == 2
    assert manifest["threads"]["blas"] in (1, 2)  # a one-core machine caps the pool at 1
    assert "numpy" in manifest["versions"]


def test_verify_recompute_on_other_thread_count(blobs: np.ndarray, tmp_path: Path) -> None:
    np.save(tmp_path / "emb.npy", blobs)
    out = tmp_path / "kept.csv"
    argv = ["prune", str(tmp_path / "emb.npy"), "--k", "20", "--keep", "0.7", "--seed", "0"]
    with threads(2):
        assert main([*argv, "--out", str(out)]) == 0
    recorded = json.loads((tmp_path / "kept.manifest.json").read_text())
    assert recorded["threads"]["faiss"] == 2
    with threads(1):
        report = verify_export(out, rerun=rerun_export)
    assert report.ok, report.problems
    assert "recompute" in report.checks


def _rewrite_export(out: Path, csv_text: str, machine: dict[str, str]) -> None:
    """Replace the CSV and record it, as made on ``machine``, in a consistent manifest."""
    import hashlib

    from core.export import manifest_bytes

    data = csv_text.encode()
    out.write_bytes(data)
    path = out.with_name(f"{out.stem}.manifest.json")
    manifest = json.loads(path.read_text())
    manifest["output"] = {
        "name": out.name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    manifest["machine"] = machine
    path.write_bytes(manifest_bytes(manifest))


def _nudge_first_score(csv_text: str, by: float) -> str:
    lines = csv_text.splitlines(keepends=True)
    cells = lines[1].split(",")
    cells[2] = f"{float(cells[2]) + by:.9g}"
    lines[1] = ",".join(cells)
    return "".join(lines)


def test_verify_on_another_platform_allows_the_stated_tolerance(
    blobs: np.ndarray, tmp_path: Path
) -> None:
    from core.export_verify import RECOMPUTE_TOLERANCE

    np.save(tmp_path / "emb.npy", blobs[:500])
    out = tmp_path / "scores.csv"
    assert main(["score", str(tmp_path / "emb.npy"), "--k", "5", "--out", str(out)]) == 0
    original = out.read_text()
    nudged = _nudge_first_score(original, RECOMPUTE_TOLERANCE / 4)
    # Made here: the bytes must match exactly.
    _rewrite_export(
        out, nudged, json.loads(out.with_name("scores.manifest.json").read_text())["machine"]
    )
    assert not verify_export(out, rerun=rerun_export).ok
    # Made on another CPU / BLAS build: within the tolerance passes, beyond it does not.
    elsewhere = {"cpu": "aarch64", "blas": "openblas 0.3.31 NEOVERSEN1"}
    _rewrite_export(out, nudged, elsewhere)
    report = verify_export(out, rerun=rerun_export)
    assert report.ok, report.problems
    assert any("within" in check for check in report.checks)
    _rewrite_export(out, _nudge_first_score(original, 10 * RECOMPUTE_TOLERANCE), elsewhere)
    assert "changes a score" in verify_export(out, rerun=rerun_export).problems[0]
