"""Tests for the ``score-dynamics`` command, in-process and as ``python -m core``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.io.records import make_training_records
from core.prune.select import select_kept
from core.scores.dynamics import score_records

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "sample_data" / "demo_training_records.npz"
MISLABELED = 7
N, C, EPOCHS = 12, 3, 4


@pytest.fixture
def records_file(tmp_path: Path) -> Path:
    """12 examples in 3 classes, confidently predicted as row % 3; row 7 is labelled otherwise."""
    rng = np.random.default_rng(0)
    predicted = np.arange(N) % C
    labels = predicted.copy()
    labels[MISLABELED] = (predicted[MISLABELED] + 1) % C
    logits = rng.normal(0, 0.1, (EPOCHS, N, C)).astype(np.float32)
    for epoch in range(EPOCHS):
        logits[epoch, np.arange(N), predicted] += 2.0 + epoch
    ids = np.array([f"ex{i:02d}" for i in range(N)])
    path = tmp_path / "records.npz"
    np.savez(path, logits=logits, labels=labels, ids=ids)
    return path


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
def test_subprocess_scores_demo_file(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    result = _run("score-dynamics", DEMO, "--metric", "aum", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "higher = harder" in result.stdout
    table = _read_csv(out)
    assert list(table.columns) == ["index", "id", "score", "cluster", "label"]
    assert len(table) == 1797
    assert table["id"].iloc[0] == "dg-0000"
    manifest = json.loads((tmp_path / "scores.manifest.json").read_text())
    assert (manifest["metric"], manifest["n"], manifest["d"]) == ("aum", 1797, None)
    assert manifest["inputs"][0]["name"] == "demo_training_records.npz"


@pytest.mark.parametrize("metric", ["el2n", "forgetting", "aum"])
def test_scores_csv_puts_the_mislabeled_example_on_top(
    metric: str, records_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = records_file.parent / "scores.csv"
    code = main(["score-dynamics", str(records_file), "--metric", metric, "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    table = _read_csv(out)
    assert table["id"].tolist() == [f"ex{i:02d}" for i in range(N)]
    assert table["cluster"].tolist() == [""] * N
    assert int(table["score"].idxmax()) == MISLABELED
    assert table["label"].iloc[MISLABELED] == "2"  # predicted 1, labelled 2
    manifest = json.loads((records_file.parent / "scores.manifest.json").read_text())
    assert manifest["metric"] == metric
    assert manifest["n_classes"] == C
    assert manifest["strategy"] is None
    assert manifest["score_orientation"] == "higher = harder"


def test_keep_writes_kept_rows_like_prune(
    records_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = records_file.parent / "kept.csv"
    argv = ["score-dynamics", str(records_file), "--metric", "el2n", "--keep", "0.5"]
    extra = ["--balance-by", "label", "--always-keep", "ex00", "--always-drop", "ex01"]
    code = main([*argv, *extra, "--seed", "1", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    kept = _read_csv(out)
    assert len(kept) == 6  # floor(0.5 * 12 + 0.5)
    assert kept["index"].is_monotonic_increasing
    assert "ex00" in set(kept["id"])
    assert "ex01" not in set(kept["id"])
    assert MISLABELED in kept["index"].tolist()
    with np.load(records_file) as archive:
        records = make_training_records(logits=archive["logits"], labels=archive["labels"])
    scores = score_records(records, "el2n")
    assert scores.params.epochs == (0,)  # the early checkpoint of 4 records
    expected = select_kept(
        scores.values,
        0.5,
        groups=records.labels,
        balance_by="label",
        min_ratio=0.5,
        seed=1,
        always_keep=[0],
        always_drop=[1],
    )
    assert kept["index"].tolist() == expected.kept_indices.tolist()
    manifest = json.loads((records_file.parent / "kept.manifest.json").read_text())
    assert (manifest["n_kept"], manifest["strategy"], manifest["balance_by"]) == (
        6,
        "keep_hard",
        "label",
    )
    assert manifest["always_keep"] == ["ex00"]
    assert manifest["d"] is None


def test_reruns_are_byte_identical(records_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = records_file.parent / "kept.csv"
    argv = ["score-dynamics", str(records_file), "--metric", "forgetting", "--keep", "0.7"]
    outputs = []
    for _ in range(2):
        assert main([*argv, "--out", str(out)]) == 0, capsys.readouterr().err
        manifest = json.loads((records_file.parent / "kept.manifest.json").read_text())
        manifest.pop("created_at")  # the only field that may differ between runs
        outputs.append((out.read_bytes(), manifest))
    assert outputs[0] == outputs[1]


def test_meta_ids_checked_and_labels_used_when_records_have_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    correct = np.array([[1, 0, 1, 0], [0, 0, 1, 1], [1, 0, 1, 0]], dtype=bool)
    np.savez(tmp_path / "r.npz", correct=correct)
    pd.DataFrame({"id": ["a", "b", "c", "d"], "label": ["x", "y", "x", "y"]}).to_csv(
        tmp_path / "meta.csv", index=False
    )
    out = tmp_path / "s.csv"
    argv = ["score-dynamics", str(tmp_path / "r.npz"), "--metric", "forgetting"]
    assert main([*argv, "--meta", str(tmp_path / "meta.csv"), "--out", str(out)]) == 0
    table = _read_csv(out)
    assert table["id"].tolist() == ["a", "b", "c", "d"]
    assert table["label"].tolist() == ["x", "y", "x", "y"]
    assert table["score"].tolist() == [1, 4, 0, 1]  # b never learned: n_epochs + 1
    manifest = json.loads((tmp_path / "s.manifest.json").read_text())
    assert [source["name"] for source in manifest["inputs"]] == ["r.npz", "meta.csv"]
    capsys.readouterr()


def test_epochs_option(records_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = records_file.parent / "s.csv"
    argv = ["score-dynamics", str(records_file), "--metric", "el2n", "--out", str(out)]

    def used(*extra: str) -> list[int]:
        assert main([*argv, *extra]) == 0
        manifest = json.loads((records_file.parent / "s.manifest.json").read_text())
        return list(manifest["score_params"]["epochs"])

    assert used("--epochs", "2") == [2]  # one record, not the first two
    assert used("--epochs", "0-2") == [0, 1, 2]
    assert used("--epochs", "3,1") == [1, 3]
    assert used("--epochs", "0-1,3") == [0, 1, 3]
    assert used() == [0]  # el2n default: early checkpoint floor(0.1 * 4) = 0
    capsys.readouterr()


def test_several_runs_average_the_per_run_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Forgetting over two runs: the mean of each run's count (never learned = n_epochs + 1)."""
    labels = np.zeros(3, dtype=int)
    run1 = np.array([[1, 1, 0], [0, 1, 0], [1, 1, 0], [0, 1, 0]], dtype=bool)  # 2, 0, never
    run2 = np.array([[1, 0, 1], [1, 0, 0], [1, 1, 1], [1, 1, 1]], dtype=bool)  # 0, 0, 1
    ids = np.array(["a", "b", "c"])
    for name, correct in (("r1.npz", run1), ("r2.npz", run2)):
        np.savez(tmp_path / name, correct=correct, labels=labels, ids=ids)
    out = tmp_path / "s.csv"
    argv = [str(tmp_path / "r1.npz"), str(tmp_path / "r2.npz"), "--metric", "forgetting"]
    assert main(["score-dynamics", *argv, "--out", str(out)]) == 0, capsys.readouterr().err
    assert _read_csv(out)["score"].tolist() == [1.0, 0.0, 3.0]  # (2+0)/2, 0, (5+1)/2
    manifest = json.loads((tmp_path / "s.manifest.json").read_text())
    assert manifest["score_params"]["n_runs"] == 2
    assert [s["name"] for s in manifest["inputs"]] == ["r1.npz", "r2.npz"]
    np.savez(tmp_path / "r3.npz", correct=run1[:, :2], labels=labels[:2], ids=ids[:2])
    argv[1] = str(tmp_path / "r3.npz")
    assert main(["score-dynamics", *argv, "--out", str(out)]) == 2
    assert "run 1 has n=2 examples but run 0 has n=3" in capsys.readouterr().err


def _bad_cases(tmp: Path, records: Path) -> dict[str, tuple[list[str], str]]:
    np.savez(tmp / "nolabels.npz", logits=np.zeros((2, 3, 2)))
    np.savez(tmp / "nan.npz", logits=np.full((2, 3, 2), np.nan), labels=np.zeros(3, dtype=int))
    pd.DataFrame({"id": [f"z{i}" for i in range(N)]}).to_csv(tmp / "other.csv", index=False)
    pd.DataFrame({"id": ["a", "b"]}).to_csv(tmp / "short.csv", index=False)
    r = str(records)
    return {
        "missing file": ([str(tmp / "none.npz"), "--metric", "aum"], "file not found"),
        "no labels": ([str(tmp / "nolabels.npz"), "--metric", "aum"], "needs 'labels'"),
        "nan": ([str(tmp / "nan.npz"), "--metric", "el2n"], "3 of 3 examples have NaN"),
        "keep": ([r, "--metric", "aum", "--keep", "1.5"], "--keep 1.5 should be in (0, 1]"),
        "no keep": ([r, "--metric", "aum", "--balance-by", "label"], "need --keep"),
        "ratio": ([r, "--metric", "aum", "--keep", "0.5", "--min-ratio", "0.5"], "--balance-by"),
        "ccs": ([r, "--metric", "aum", "--keep", "0.5", "--ccs-beta", "0.2"], "--strategy ccs"),
        "epochs": (
            [r, "--metric", "aum", "--epochs", "9"],
            "epochs 9 are outside [0, n_epochs=4)",
        ),
        "epochs text": ([r, "--metric", "aum", "--epochs", "x"], "record indices or ranges"),
        "epochs range": ([r, "--metric", "aum", "--epochs", "3-1"], "should go up"),
        "meta ids": ([r, "--metric", "aum", "--meta", str(tmp / "other.csv")], "differ from"),
        "meta rows": ([r, "--metric", "aum", "--meta", str(tmp / "short.csv")], "has 2 rows"),
        "pin": ([r, "--metric", "aum", "--keep", "0.5", "--always-keep", "nope"], "unknown ids"),
        "overwrite": ([r, "--metric", "aum"], "would overwrite the input file"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing file",
        "no labels",
        "nan",
        "keep",
        "no keep",
        "ratio",
        "ccs",
        "epochs",
        "epochs text",
        "epochs range",
        "meta ids",
        "meta rows",
        "pin",
        "overwrite",
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_files(
    case: str, records_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp = records_file.parent
    argv, message = _bad_cases(tmp, records_file)[case]
    out = records_file if case == "overwrite" else tmp / "out.csv"
    before = sorted(p.name for p in tmp.iterdir())
    code = main(["score-dynamics", *argv, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert sorted(p.name for p in tmp.iterdir()) == before


def test_help_lists_metrics_and_orientation(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["score-dynamics", "--help"])
    text = capsys.readouterr().out
    assert "el2n" in text
    assert "-AUM" in text
    assert "higher = harder" in text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "score-dynamics" in capsys.readouterr().out
