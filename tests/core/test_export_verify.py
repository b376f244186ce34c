"""Tests for core.export_verify and ``python -m core verify``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.cli.verify import rerun_export
from core.export_verify import verify_export


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A prune export with its inputs beside it."""
    rng = np.random.default_rng(0)
    embeddings = np.concatenate([c + 0.3 * rng.standard_normal((15, 4)) for c in 4 * np.eye(4)[:3]])
    np.save(tmp_path / "emb.npy", embeddings.astype(np.float32))
    ids = [f"e{i}" for i in range(45)]
    pd.DataFrame({"id": ids, "label": np.repeat(["a", "b", "c"], 15)}).to_csv(
        tmp_path / "meta.csv", index=False
    )
    out = tmp_path / "kept.csv"
    args = ["prune", str(tmp_path / "emb.npy"), "--meta", str(tmp_path / "meta.csv")]
    args += ["--keep", "0.6", "--k", "3", "--balance-by", "label", "--always-keep", "e1"]
    assert main([*args, "--seed", "3", "--out", str(out)]) == 0
    return out


def test_untouched_export_passes(export: Path, capsys) -> None:
    report = verify_export(export, rerun=rerun_export)
    assert report.ok, report.problems
    assert "input emb.npy" in report.checks
    assert "recompute" in report.checks
    assert main(["verify", str(export), "--recompute"]) == 0
    assert capsys.readouterr().out.startswith("OK ")


def test_deleted_row_fails(export: Path, capsys) -> None:
    lines = export.read_text().splitlines(keepends=True)
    export.write_text("".join(lines[:3] + lines[4:]))
    assert main(["verify", str(export)]) == 1
    line = capsys.readouterr().out
    assert "26 rows but the manifest records n_kept=27" in line
    assert len(line.strip().splitlines()) == 1


def test_changed_score_fails(export: Path) -> None:
    frame = pd.read_csv(export, dtype=str, keep_default_na=False)
    frame.loc[0, "score"] = "0.123456789"
    frame.to_csv(export, index=False, lineterminator="\n")
    problems = verify_export(export).problems
    assert any("kept.csv:" in p and ("sha256" in p or "bytes" in p) for p in problems)


def test_swapped_manifest_fails(export: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    args = ["prune", str(tmp_path / "emb.npy"), "--keep", "0.6", "--k", "3", "--seed", "4"]
    assert main([*args, "--out", str(other)]) == 0
    shutil.copy(tmp_path / "other.manifest.json", tmp_path / "kept.manifest.json")
    problems = verify_export(export).problems
    assert problems
    assert "describes other.csv, not kept.csv" in " ".join(problems)


def test_changed_input_fails_and_recompute_differs(export: Path, tmp_path: Path) -> None:
    meta = pd.read_csv(tmp_path / "meta.csv")
    meta.loc[0, "label"] = "c"
    meta.to_csv(tmp_path / "meta.csv", index=False)
    assert verify_export(export).problems == ("input meta.csv: sha256 differs from the manifest's",)


def test_imported_and_dedup_exports_recompute(tmp_path: Path, export: Path) -> None:
    rng = np.random.default_rng(1)
    pd.DataFrame({"id": [f"e{i}" for i in range(45)], "loss": rng.random(45)}).to_csv(
        tmp_path / "loss.csv", index=False
    )
    out = tmp_path / "imp.csv"
    args = ["prune", "--meta", str(tmp_path / "meta.csv"), "--scores", f"{tmp_path}/loss.csv:loss"]
    assert main([*args, "--keep", "0.5", "--out", str(out)]) == 0
    assert verify_export(out, rerun=rerun_export).ok
    out = tmp_path / "dd.csv"
    args = ["prune", str(tmp_path / "emb.npy"), "--keep", "0.5", "--k", "3"]
    assert main([*args, "--dedup-epsilon", "0.01", "--out", str(out)]) == 0
    assert verify_export(out, rerun=rerun_export).ok


def test_missing_manifest_is_exit_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "x.csv").write_text("index,id,score,cluster,label\n")
    assert main(["verify", str(tmp_path / "x.csv")]) == 2
    assert "x.manifest.json" in capsys.readouterr().err
