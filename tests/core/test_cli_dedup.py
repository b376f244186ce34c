"""Tests for the ``dedup`` command, in-process and as ``python -m core``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.prune.semdedup import semdedup

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    """200 random rows plus noisy copies of the first 30 (rows 200-229)."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((200, 8))
    embeddings = np.concatenate([base, base[:30] + 0.005 * rng.standard_normal((30, 8))])
    np.save(tmp_path / "emb.npy", embeddings.astype(np.float32))
    meta = pd.DataFrame(
        {"id": [f"ex{i:03d}" for i in range(230)], "label": rng.integers(0, 3, 230)}
    )
    meta.to_csv(tmp_path / "meta.csv", index=False)
    return tmp_path / "emb.npy", tmp_path / "meta.csv", embeddings.astype(np.float32)


def _args(emb: Path, meta: Path, out: Path, *extra: str) -> list[str]:
    return ["dedup", str(emb), "--meta", str(meta), "--k", "3", "--epsilon", "0.01", *extra,
            "--out", str(out)]  # fmt: skip


def test_dedup_writes_kept_rows_removed_rows_and_manifest(
    inputs: tuple[Path, Path, np.ndarray],
) -> None:
    emb, meta, embeddings = inputs
    out, removed = emb.parent / "kept.csv", emb.parent / "removed.csv"
    assert main(_args(emb, meta, out, "--removed", str(removed))) == 0
    expected = semdedup(embeddings, k=3, epsilon=0.01)
    assert expected.n_removed == 30

    kept = pd.read_csv(out, keep_default_na=False, dtype={"id": str, "label": str})
    assert list(kept.columns) == ["index", "id", "score", "cluster", "label"]
    np.testing.assert_array_equal(kept["index"], expected.kept_indices)
    np.testing.assert_array_equal(kept["cluster"], expected.clusters[expected.kept_indices])
    np.testing.assert_allclose(kept["score"], expected.distances[expected.kept_indices], rtol=1e-8)
    assert kept["id"].tolist() == [f"ex{i:03d}" for i in expected.kept_indices]

    gone = pd.read_csv(removed, keep_default_na=False, dtype={"id": str, "duplicate_of_id": str})
    assert list(gone.columns) == ["index", "id", "duplicate_of", "duplicate_of_id", "cluster", "label"]  # fmt: skip
    np.testing.assert_array_equal(gone["index"], np.flatnonzero(~expected.keep_mask))
    np.testing.assert_array_equal(gone["duplicate_of"], expected.duplicate_of[gone["index"]])
    assert gone["duplicate_of_id"].tolist() == [f"ex{i:03d}" for i in gone["duplicate_of"]]
    # Every removed row is one of a planted pair (row i < 30 or its copy 200 + i).
    assert set((gone["index"] % 200).tolist()) == set(range(30))

    manifest = json.loads((emb.parent / "kept.manifest.json").read_text())
    assert manifest["metric"] == "semdedup"
    assert manifest["n_kept"] == 200
    assert manifest["strategy"] == "keep_hard"
    assert manifest["score_params"]["epsilon"] == 0.01
    assert manifest["extra"]["semdedup"]["n_removed"] == 30
    assert manifest["extra"]["removed_output"]["name"] == "removed.csv"
    assert manifest["output"]["name"] == "kept.csv"


def test_dedup_is_byte_identical_across_runs(inputs: tuple[Path, Path, np.ndarray]) -> None:
    emb, meta, _ = inputs
    outputs = []
    for run in ("a", "b"):
        out, removed = emb.parent / f"{run}.csv", emb.parent / f"{run}_removed.csv"
        assert main(_args(emb, meta, out, "--removed", str(removed), "--order", "random")) == 0
        outputs.append((out.read_bytes(), removed.read_bytes()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0].startswith(b"index,id,score,cluster,label\n")


def test_dedup_manifest_hash_is_reproducible(inputs: tuple[Path, Path, np.ndarray]) -> None:
    emb, meta, _ = inputs
    out = emb.parent / "kept.csv"
    hashes = []
    for _ in range(2):
        assert main(_args(emb, meta, out, "--block-size", "7")) == 0
        hashes.append((out.read_bytes(), json.loads(out.with_name("kept.manifest.json").read_text())["content_sha256"]))  # fmt: skip
    assert hashes[0] == hashes[1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--epsilon", "1.0"], "--epsilon 1.0 should be in [0, 1)"),
        (["--epsilon", "-0.5"], "--epsilon -0.5 should be in [0, 1)"),
        (["--k", "231"], "--k 231 should be <= n_examples=230"),
        (["--block-size", "0"], "--block-size 0 should be >= 1"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    inputs: tuple[Path, Path, np.ndarray],
    extra: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emb, meta, _ = inputs
    out = emb.parent / "kept.csv"
    assert main([*_args(emb, meta, out)[:-2], *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_paths_exit_2(inputs: tuple[Path, Path, np.ndarray], capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    emb, meta, _ = inputs
    assert main(_args(emb, meta, emb.parent / "missing" / "kept.csv")) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(_args(emb.parent / "nope.npy", meta, emb.parent / "kept.csv")) == 2
    assert "file not found" in capsys.readouterr().err
    assert main(_args(emb, meta, emb.parent / "kept.csv", "--removed", str(meta))) == 2
    assert "would overwrite the input file" in capsys.readouterr().err
    out = emb.parent / "kept.csv"
    assert main(_args(emb, meta, out, "--removed", str(out))) == 2
    assert "would overwrite the --out files" in capsys.readouterr().err


@pytest.mark.slow
def test_subprocess_exit_codes_and_help(inputs: tuple[Path, Path, np.ndarray]) -> None:
    emb, meta, _ = inputs
    out = emb.parent / "kept.csv"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "core", *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    ok = run(*_args(emb, meta, out))
    assert ok.returncode == 0, ok.stderr
    assert "200 of 230 kept, 30 near-duplicates removed" in ok.stdout
    bad = run(*_args(emb, meta, out)[:-2], "--epsilon", "2", "--out", str(out))
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    helped = run("--help")
    assert "dedup" in helped.stdout
