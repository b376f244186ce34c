"""Tests for the ``project`` command: the Map's coordinates as an (n, 2) .npy, same bytes each run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.analysis.projection import project_sampled
from core.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emb(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    centres = 4.0 * rng.normal(size=(3, 8))
    x = centres[np.arange(400) % 3] + rng.normal(size=(400, 8))
    np.save(tmp_path / "emb.npy", x.astype(np.float32))
    return tmp_path / "emb.npy"


def test_pca_coordinates_are_the_library_s_and_byte_identical(emb: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.npy", tmp_path / "b.npy"
    for out in (first, second):
        assert main(["project", str(emb), "--method", "pca", "--seed", "0", "--out", str(out)]) == 0
    assert first.read_bytes() == second.read_bytes()
    expected = project_sampled(np.load(emb), method="pca", seed=0).coords
    loaded = np.load(first)
    assert loaded.dtype == np.float32
    assert loaded.shape == (400, 2)
    assert loaded.tobytes() == expected.tobytes()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--max-fit", "2"], "max_fit=2"),
        (["--k-place", "0"], "k_place=0"),
        (["--method", "tsne"], "invalid choice"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(
    emb: Path, tmp_path: Path, capsys, extra: list[str], message: str
) -> None:
    out = tmp_path / "xy.npy"
    assert main(["project", str(emb), *extra, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_out_must_not_overwrite_the_embeddings(emb: Path, capsys) -> None:
    assert main(["project", str(emb), "--method", "pca", "--out", str(emb)]) == 2
    assert "would overwrite the input file" in capsys.readouterr().err


@pytest.mark.slow
def test_umap_coordinates_are_byte_identical_across_processes(emb: Path, tmp_path: Path) -> None:
    args = ["project", str(emb), "--method", "umap", "--seed", "0", "--max-fit", "150"]
    in_process, other_process = tmp_path / "a.npy", tmp_path / "b.npy"
    assert main([*args, "--out", str(in_process)]) == 0
    subprocess.run(
        [sys.executable, "-m", "core", *args, "--out", str(other_process)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    assert in_process.read_bytes() == other_process.read_bytes()
    expected = project_sampled(np.load(emb), method="umap", seed=0, max_fit=150).coords
    assert np.load(in_process).tobytes() == expected.tobytes()
