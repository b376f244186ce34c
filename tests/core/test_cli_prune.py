"""Tests for the ``score`` and ``prune`` commands, in-process and as ``python -m core``."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
FAR = 30  # row of the planted far point


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    """Three tight blobs of 10 on the axes plus one planted point far from all (row 30)."""
    rng = np.random.default_rng(0)
    centers = 5 * np.eye(3)
    blobs = [center + 0.1 * rng.standard_normal((10, 3)) for center in centers]
    embeddings = np.concatenate([*blobs, [[3.0, 3.0, 3.0]]]).astype(np.float32)
    np.save(tmp_path / "emb.npy", embeddings)
    meta = pd.DataFrame(
        {
            "id": [f"ex{i:02d}" for i in range(31)],
            "label": ["a"] * 10 + ["b"] * 10 + ["c"] * 11,
        }
    )
    meta.to_csv(tmp_path / "meta.csv", index=False)
    return tmp_path / "emb.npy", tmp_path / "meta.csv"


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, dtype={"id": str, "label": str})


@pytest.mark.slow  # starts Python processes: over 2 s on a busy machine
def test_prune_subprocess_writes_csv_and_manifest(inputs: tuple[Path, Path]) -> None:
    emb, meta = inputs
    out = emb.parent / "kept.csv"
    result = _run("prune", emb, "--meta", meta, "--keep", "0.5", "--k", "3", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    kept = _read_csv(out)
    assert list(kept.columns) == ["index", "id", "score", "cluster", "label"]
    assert len(kept) == 16  # floor(0.5 * 31 + 0.5)
    assert kept["index"].is_monotonic_increasing
    assert FAR in kept["index"].tolist()  # the atypical point is the hardest, so it is kept
    assert kept["id"].tolist() == [f"ex{i:02d}" for i in kept["index"]]
    manifest = json.loads((emb.parent / "kept.manifest.json").read_text())
    assert manifest["n_kept"] == 16
    assert (manifest["metric"], manifest["k"], manifest["strategy"]) == ("ssp", 3, "keep_hard")
    assert [source["name"] for source in manifest["inputs"]] == ["emb.npy", "meta.csv"]


@pytest.mark.slow  # starts Python processes: over 2 s on a busy machine
def test_prune_is_byte_identical_across_runs(inputs: tuple[Path, Path]) -> None:
    emb, meta = inputs
    outputs = []
    for name in ("first.csv", "second.csv"):
        out = emb.parent / name
        result = _run("prune", emb, "--meta", meta, "--keep", "0.7", "--seed", "3", "--out", out)
        assert result.returncode == 0, result.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    first = json.loads((emb.parent / "first.manifest.json").read_text())
    second = json.loads((emb.parent / "second.manifest.json").read_text())
    assert first["output"]["sha256"] == second["output"]["sha256"]


def test_prune_in_process_balance_and_pins(
    inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emb, meta = inputs
    out = emb.parent / "kept.csv"
    code = main(
        [
            "prune", str(emb), "--meta", str(meta), "--keep", "0.3", "--strategy", "keep_easy",
            "--balance-by", "label", "--min-ratio", "1", "--always-keep", "ex05,ex15",
            "--always-drop", "ex00", "--always-drop", "ex01", "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    kept = _read_csv(out)
    assert len(kept) == 9  # floor(0.3 * 31 + 0.5)
    assert {"ex05", "ex15"} <= set(kept["id"])
    assert not {"ex00", "ex01"} & set(kept["id"])
    assert kept["label"].value_counts().to_dict() == {"a": 3, "b": 3, "c": 3}
    manifest = json.loads((emb.parent / "kept.manifest.json").read_text())
    assert manifest["always_keep"] == ["ex05", "ex15"]
    assert manifest["always_drop"] == ["ex00", "ex01"]
    assert (manifest["balance_by"], manifest["min_ratio"]) == ("label", 1.0)


@pytest.mark.parametrize("strategy", ["ccs", "moderate", "middle_band"])
def test_prune_ccs_and_moderate_match_core(
    strategy: str, inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from core.io.data import load_dataset
    from core.prune.select import select_kept
    from core.scores.metrics import compute_scores

    emb, meta = inputs
    out = emb.parent / "kept.csv"
    extra = ["--ccs-beta", "0.2"] if strategy == "ccs" else []
    argv = ["prune", str(emb), "--meta", str(meta), "--keep", "0.4", "--k", "3"]
    code = main([*argv, "--strategy", strategy, *extra, "--seed", "2", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    kept = _read_csv(out)
    assert len(kept) == 12  # floor(0.4 * 31 + 0.5)
    scores = compute_scores(load_dataset(emb, meta).embeddings, "ssp", k=3, seed=2)
    dataset = load_dataset(emb, meta)
    expected = select_kept(
        scores.values,
        0.4,
        strategy=strategy,
        seed=2,
        ccs_beta=0.2 if extra else None,
        embeddings=dataset.embeddings,
        labels=dataset.labels,
    )
    assert kept["index"].tolist() == expected.kept_indices.tolist()
    manifest = json.loads((emb.parent / "kept.manifest.json").read_text())
    assert manifest["strategy"] == strategy
    if strategy == "ccs":
        assert manifest["strategy_params"] == {"ccs_beta": 0.2, "ccs_strata": 50}
    elif strategy == "moderate":
        assert "median embedding" in manifest["strategy_params"]["moderate_distance"]
    else:
        assert manifest["strategy_params"] == {}
    if strategy == "ccs":  # the planted far point is the hardest: cut by the hard cutoff
        assert FAR not in kept["index"].tolist()


def test_score_writes_every_row_and_a_manifest(
    inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emb, meta = inputs
    out = emb.parent / "scores.csv"
    code = main(["score", str(emb), "--meta", str(meta), "--metric", "class_prototype",
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    scores = _read_csv(out)
    assert scores["index"].tolist() == list(range(31))
    assert scores["score"].idxmax() == FAR
    manifest = json.loads((emb.parent / "scores.manifest.json").read_text())
    assert manifest["metric"] == "class_prototype"
    assert manifest["strategy"] is None
    assert manifest["n_kept"] is None


# Command lines with "{d}" for the test directory; "--out OUT" is appended.
BAD_INPUTS = {
    "nan rows": ("prune {d}/nan.npy --keep 0.5", r"1 of 4 rows contain NaN or inf .*rows 2"),
    "missing file": ("score {d}/nope.npy", r"file not found: .*nope.npy"),
    "unknown extension": ("score {d}/emb.txt", r"supported: .npy, .npz, .parquet, .csv"),
    "keep out of range": ("prune {d}/emb.npy --keep 1.5", r"--keep 1.5 should be in \(0, 1\]"),
    "balance by label without labels": (
        "prune {d}/emb.npy --meta {d}/ids.csv --keep 0.5 --balance-by label",
        r"--balance-by label needs labels",
    ),
    "metadata length": (
        "score {d}/emb.npy --meta {d}/short.csv",
        r"short.csv has 2 rows but the embeddings have 31 rows",
    ),
    "unknown pinned id": (
        "prune {d}/emb.npy --keep 0.5 --always-keep 7,zz",
        r"--always-keep: 1 unknown ids \('zz'\)",
    ),
    "too many pins": (
        "prune {d}/emb.npy --keep 0.1 --always-keep 0,1,2,3,4",
        r"pins 5 ids but --keep 0.1 keeps only 3 of 31",
    ),
    "label metric without labels": (
        "score {d}/emb.npy --metric class_prototype",
        r"--metric class_prototype needs labels",
    ),
    "k too large": ("score {d}/emb.npy --k 99", r"--k 99 should be <= n_examples=31"),
    "ccs beta out of range": (
        "prune {d}/emb.npy --keep 0.5 --strategy ccs --ccs-beta 1",
        r"--ccs-beta 1.0 should be in \[0, 1\)",
    ),
    "keeps nothing": (
        "prune {d}/emb.npy --keep 0.01",
        r"--keep 0.01 keeps no example of 31",
    ),
    "unknown metric (argparse)": (
        "score {d}/emb.npy --metric foo",
        r"argument --metric: invalid choice: 'foo'",
    ),
    "missing --keep (argparse)": ("prune {d}/emb.npy", r"required: --keep"),
    "ccs beta without ccs": (
        "prune {d}/emb.npy --keep 0.5 --ccs-beta 0.2",
        r"--ccs-beta needs --strategy ccs \(got --strategy keep_hard\)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line_and_no_files(
    case: str, inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emb, _ = inputs
    tmp = emb.parent
    nan_rows = np.ones((4, 2))
    nan_rows[2, 1] = np.nan
    np.save(tmp / "nan.npy", nan_rows)
    (tmp / "emb.txt").write_text("1 2\n")
    (tmp / "ids.csv").write_text("id\n" + "".join(f"r{i}\n" for i in range(31)))
    (tmp / "short.csv").write_text("id\na\nb\n")
    command, message = BAD_INPUTS[case]
    out = tmp / "out" / "result.csv"
    out.parent.mkdir()
    code = main([*command.format(d=tmp).split(), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().split("\n")
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert re.search(message, lines[0]), lines[0]
    assert list(out.parent.iterdir()) == []


def test_out_in_missing_directory_exits_2(
    inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emb, _ = inputs
    out = emb.parent / "missing" / "kept.csv"
    assert main(["prune", str(emb), "--keep", "0.5", "--out", str(out)]) == 2
    assert "directory" in capsys.readouterr().err
    assert not out.parent.exists()


@pytest.mark.slow  # starts Python processes: over 2 s on a busy machine
def test_bad_input_subprocess_has_no_traceback(inputs: tuple[Path, Path]) -> None:
    emb, _ = inputs
    (emb.parent / "nan.npy").write_bytes(b"not numpy at all")
    out = emb.parent / "kept.csv"
    result = _run("prune", emb.parent / "nan.npy", "--keep", "0.5", "--out", out)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: could not read nan.npy")
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert not (emb.parent / "kept.manifest.json").exists()


@pytest.mark.slow  # starts Python processes: over 2 s on a busy machine
def test_argparse_errors_exit_2(inputs: tuple[Path, Path]) -> None:
    emb, _ = inputs
    result = _run("prune", emb, "--keep", "0.5", "--strategy", "hardest", "--out", "x.csv")
    assert result.returncode == 2
    assert "invalid choice: 'hardest'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["score", "prune"])
def test_help_shows_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([command, "--help"])
    assert caught.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text
    assert f"python -m core {command} emb.npy" in text
    assert "higher" in text


@pytest.mark.slow  # starts Python processes: over 2 s on a busy machine
def test_help_subprocess_lists_both_commands() -> None:
    result = _run("--help")
    assert result.returncode == 0
    assert "score" in result.stdout
    assert "prune" in result.stdout


def test_csv_stays_parseable_with_ids_needing_quotes(tmp_path: Path) -> None:
    np.save(tmp_path / "emb.npy", np.eye(4, dtype=np.float32))
    (tmp_path / "meta.csv").write_text('id\n"a,1"\nb\nc\nd\n')
    out = tmp_path / "scores.csv"
    assert main(["score", str(tmp_path / "emb.npy"), "--meta", str(tmp_path / "meta.csv"),
                 "--metric", "random", "--out", str(out)]) == 0  # fmt: skip
    table = pd.read_csv(io.BytesIO(out.read_bytes()), dtype={"id": str})
    assert table["id"].tolist() == ["a,1", "b", "c", "d"]
