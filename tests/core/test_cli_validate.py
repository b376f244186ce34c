"""Tests for the ``curve`` and ``theory`` CLI commands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.analysis.curve import CURVE_COLUMNS
from core.analysis.theory import THEORY_COLUMNS
from core.cli import main


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(3), 40)
    embeddings = (3.0 * rng.standard_normal((3, 6)))[codes] + rng.standard_normal((120, 6))
    emb = tmp_path / "emb.npy"
    meta = tmp_path / "meta.csv"
    np.save(emb, embeddings.astype(np.float32))
    pd.DataFrame({"id": [f"r{i}" for i in range(120)], "label": codes + 1}).to_csv(
        meta, index=False
    )
    return emb, meta


def test_curve_writes_documented_csv(files, tmp_path: Path, capsys) -> None:
    emb, meta = files
    out = tmp_path / "curve.csv"
    argv = [
        "curve", str(emb), "--meta", str(meta), "--metric", "ssp", "--fractions", "0.5,1.0",
        "--seeds", "0,1", "--balance", "class", "--k", "3", "--compare-unbalanced",
        "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    table = pd.read_csv(out)
    assert tuple(table.columns) == CURVE_COLUMNS
    assert len(table) == 2 * 3 * 2 * 2  # balances x strategies x fractions x seeds
    assert set(table["balance"]) == {"class", "none"}
    full = table[table["keep_fraction"] == 1.0]
    assert full.groupby("seed")["accuracy"].nunique().eq(1).all()
    assert "unpruned accuracy" in capsys.readouterr().out
    first = out.read_bytes()
    assert main(argv) == 0
    assert out.read_bytes() == first  # deterministic bytes


def test_curve_compare_metrics_and_pins(files, tmp_path: Path, capsys) -> None:
    emb, meta = files
    out = tmp_path / "curve.csv"
    argv = [
        "curve", str(emb), "--meta", str(meta), "--fractions", "0.5,1.0", "--seeds", "0",
        "--k", "3", "--compare-metrics", "class_prototype,knn_density",
        "--always-keep", "r1", "--always-drop", "r2,r3", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    table = pd.read_csv(out)
    assert len(table) == (3 + 2 + 2) * 2  # strategies of the three metrics x fractions
    assert list(dict.fromkeys(table["metric"])) == ["ssp", "class_prototype", "knn_density"]
    assert set(table.loc[table["strategy"] == "random", "metric"]) == {"ssp"}
    printed = capsys.readouterr().out
    assert "knn_density" in printed
    assert "pins: 1 always kept, 2 always dropped" in printed
    # f = 1.0 with drop pins keeps every train row but the dropped ones in the train split.
    n_train = 120 - 24
    full = table[table["keep_fraction"] == 1.0]
    assert full["n_kept"].nunique() == 1
    assert n_train - 2 <= full["n_kept"].iloc[0] < n_train


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--compare-metrics", "ssp,magic"], "valid: ssp, prototype_margin"),
        (["--compare-metrics", "ssp"], "differ from metric='ssp'"),
        (["--always-drop", "nope"], "--always-drop: 1 unknown ids"),
    ],
)
def test_curve_bad_compare_metrics_and_pins_exit_2(
    files, extra: list[str], message: str, tmp_path: Path, capsys
) -> None:
    emb, meta = files
    out = tmp_path / "c.csv"
    assert main(["curve", str(emb), "--meta", str(meta), *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message in err
    assert not out.exists()


def test_theory_writes_documented_csv(tmp_path: Path, capsys) -> None:
    out = tmp_path / "theory.csv"
    argv = [
        "theory", "--alpha", "4", "--keep", "0.5", "--theta", "10", "--n", "20", "--seeds", "2",
        "--alphas", "1,4", "--fractions", "0.5,1", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    table = pd.read_csv(out)
    assert tuple(table.columns) == THEORY_COLUMNS
    assert len(table) == (2 + 2) * 3 * 2
    assert table["converged"].all()
    assert set(table["sweep"]) == {"alpha", "keep"}
    assert "alpha sweep" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["theory", "--theta", "120"],
        ["theory", "--keep", "0"],
        ["theory", "--seeds", "0"],
        ["theory", "--alphas", "1,x"],
    ],
)
def test_theory_bad_input_exits_2(argv: list[str], tmp_path: Path, capsys) -> None:
    out = tmp_path / "t.csv"
    assert main([*argv, "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert not out.exists()


@pytest.mark.parametrize(
    "extra",
    [
        ["--fractions", "0,0.5"],
        ["--fractions", "a"],
        ["--seeds", "x"],
        ["--strategies", "keep_middle"],
        ["--k", "0"],
        ["--min-ratio", "3"],
    ],
)
def test_curve_bad_input_exits_2(files, extra: list[str], tmp_path: Path, capsys) -> None:
    emb, meta = files
    out = tmp_path / "c.csv"
    assert main(["curve", str(emb), "--meta", str(meta), *extra, "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert not out.exists()


def test_curve_missing_file_and_labels_exit_2(files, tmp_path: Path) -> None:
    emb, meta = files
    out = tmp_path / "c.csv"
    assert main(["curve", str(tmp_path / "nope.npy"), "--meta", str(meta), "--out", str(out)]) == 2
    no_labels = tmp_path / "ids.csv"
    pd.DataFrame({"id": [f"r{i}" for i in range(120)]}).to_csv(no_labels, index=False)
    assert main(["curve", str(emb), "--meta", str(no_labels), "--out", str(out)]) == 2
    assert main(["curve", str(emb), "--meta", str(meta), "--out", str(tmp_path / "no/c.csv")]) == 2
    assert not out.exists()


def test_theory_frontier_writes_both_csvs(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    out = tmp_path / "frontier.csv"
    argv = ["theory", "--sweep", "frontier", "--n", "20", "--seeds", "2", "--alphas", "1,2,4"]
    code = main([*argv, "--fractions", "0.3,0.6", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(out)
    assert list(table.columns[:5]) == [
        "alpha_prune", "keep_fraction", "strategy", "error_mean", "error_std",
    ]  # fmt: skip
    assert len(table) == 3 * 3  # alphas x (0.3, 0.6, 1.0)
    assert set(table["strategy"]) == {"keep_hard", "unpruned"}
    frontier = pd.read_csv(tmp_path / "frontier.frontier.csv")
    assert (frontier["error"] <= frontier["unpruned_error"].fillna(1.0) + 1e-12).all()
    assert "Pareto frontier" in capsys.readouterr().out


def test_curve_summary_and_knn_probe(files, tmp_path: Path, capsys) -> None:
    from core.analysis.curve import pruning_curve
    from core.analysis.verdicts import VERDICT_COLUMNS, fraction_verdicts

    emb, meta = files
    out, summary = tmp_path / "curve.csv", tmp_path / "summary.csv"
    argv = [
        "curve", str(emb), "--meta", str(meta), "--fractions", "0.3,1.0", "--seeds", "0,1,2",
        "--k", "3", "--probe", "knn", "--summary", str(summary), "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "k-NN classifier" in printed
    assert "verdicts (win: margin > 2 paired standard errors" in printed
    got = pd.read_csv(summary)
    assert tuple(got.columns) == VERDICT_COLUMNS
    assert got["keep_fraction"].tolist() == [0.3]
    assert set(got["verdict"]) <= {"win", "tie"}
    labels = pd.read_csv(meta)["label"].to_numpy()
    expected = pruning_curve(
        np.load(emb), labels, fractions=(0.3, 1.0), seeds=(0, 1, 2), k=3, probe="knn"
    )
    row, want = got.iloc[0], fraction_verdicts(expected).iloc[0]
    assert (row["best"], row["runner_up"], row["verdict"]) == (
        want["best"],
        want["runner_up"],
        want["verdict"],
    )
    assert row["margin"] == pytest.approx(want["margin"])
    assert row["stderr"] == pytest.approx(want["stderr"])
    same = ["curve", str(emb), "--meta", str(meta), "--summary", str(out), "--out", str(out)]
    assert main(same) == 2


def _score_file(tmp_path: Path, values: np.ndarray) -> Path:
    path = tmp_path / "losses.csv"
    ids = [f"r{i}" for i in range(values.size)]
    pd.DataFrame({"id": ids[::-1], "loss": values[::-1]}).to_csv(path, index=False)
    return path


def test_curve_with_imported_scores(files, tmp_path: Path, capsys) -> None:
    emb, meta = files
    values = np.random.default_rng(5).normal(size=120)
    scores = _score_file(tmp_path, values)
    out = tmp_path / "curve.csv"
    base = ["curve", str(emb), "--meta", str(meta), "--fractions", "0.5,1.0", "--seeds", "0,1"]
    # Without --metric the file's column is the metric.
    assert main([*base, "--scores", f"{scores}:loss", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert set(table["metric"]) == {"imported:loss"}
    assert len(table) == 3 * 2 * 2  # strategies x fractions x seeds
    assert "scores: imported:loss" in capsys.readouterr().out
    # Flipped on import: keep_hard of the flipped scores keeps what keep_easy kept.
    flipped = tmp_path / "flipped.csv"
    argv = [*base, "--scores", f"{scores}:loss", "--higher-is-easier", "--out", str(flipped)]
    assert main(argv) == 0
    easier = pd.read_csv(flipped)
    hard = easier[easier["strategy"] == "keep_hard"]["accuracy"].to_numpy()
    np.testing.assert_array_equal(hard, table[table["strategy"] == "keep_easy"]["accuracy"])
    # With --metric given, the file's column is one more compared metric.
    argv = [*base, "--metric", "random", "--scores", f"{scores}:loss", "--out", str(out)]
    assert main(argv) == 0
    compared = pd.read_csv(out)
    assert list(dict.fromkeys(compared["metric"])) == ["random", "imported:loss"]
    assert set(compared.loc[compared["metric"] == "imported:loss", "strategy"]) == {
        "keep_hard",
        "keep_easy",
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--higher-is-easier"], "--higher-is-easier needs --scores"),
        (["--scores", "SHORT:loss"], "has 119 rows but the dataset has n=120"),
    ],
)
def test_curve_imported_scores_errors_exit_2(
    files, extra: list[str], message: str, tmp_path: Path, capsys
) -> None:
    emb, meta = files
    short = tmp_path / "short.csv"
    pd.DataFrame({"loss": np.zeros(119)}).to_csv(short, index=False)
    extra = [part.replace("SHORT", str(short)) for part in extra]
    out = tmp_path / "c.csv"
    assert main(["curve", str(emb), "--meta", str(meta), *extra, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_curve_imported_scores_have_no_clusters(files, tmp_path: Path, capsys) -> None:
    emb, meta = files
    scores = _score_file(tmp_path, np.arange(120, dtype=np.float64))
    argv = ["curve", str(emb), "--meta", str(meta), "--scores", f"{scores}:loss"]
    assert main([*argv, "--balance", "cluster", "--out", str(tmp_path / "c.csv")]) == 2
    assert "metric='imported:loss' has none" in capsys.readouterr().err
