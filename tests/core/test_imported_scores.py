"""Tests for core.io.imported_scores and ``prune --scores``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.io.imported_scores import (
    import_scores,
    parse_score_spec,
    read_score_table,
    table_ids,
)


def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "s.csv") -> Path:
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


def test_parse_spec_splits_column(tmp_path: Path) -> None:
    assert parse_score_spec("a/b.csv:loss") == (Path("a/b.csv"), "loss")
    assert parse_score_spec("b.csv") == (Path("b.csv"), None)
    with pytest.raises(ValueError, match="FILE:COLUMN"):
        parse_score_spec("b.csv:")


def test_aligns_by_id_in_any_order(tmp_path: Path) -> None:
    path = _write(tmp_path, pd.DataFrame({"id": ["c", "a", "b"], "loss": [3.0, 1.0, 2.0]}))
    scores = import_scores(read_score_table(path, "loss"), ids=np.array(["a", "b", "c"]))
    np.testing.assert_array_equal(scores.values, [1.0, 2.0, 3.0])
    assert scores.metric == "imported:loss"
    assert scores.clusters is None
    assert scores.params.aligned_by == "id"


def test_aligns_by_index_and_flips_orientation(tmp_path: Path) -> None:
    path = _write(
        tmp_path, pd.DataFrame({"index": [2, 0, 1], "conf": [0.9, 0.1, 0.5]}), "s.parquet"
    )
    scores = import_scores(read_score_table(path), n=3, higher_is_easier=True)
    np.testing.assert_array_equal(scores.values, [-0.1, -0.5, -0.9])
    assert scores.params.higher_is_easier is True


def test_row_order_and_npy(tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", np.array([0.5, 0.25]))
    scores = import_scores(read_score_table(tmp_path / "v.npy"), n=2)
    np.testing.assert_array_equal(scores.values, [0.5, 0.25])
    path = _write(tmp_path, pd.DataFrame({"x": [1, 2, 3]}))
    with pytest.raises(ValueError, match="has 3 rows but the dataset has n=2"):
        import_scores(read_score_table(path), n=2)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"id": ["a", "b"], "s": [1, 2]}), r"no score for 1 of 3 ids: 'c'"),
        (
            pd.DataFrame({"id": ["a", "b", "b", "c"], "s": [1, 2, 3, 4]}),
            r"id repeats in rows 1 \('b'\), 2",
        ),
        (
            pd.DataFrame({"id": ["a", "b", "c"], "s": ["1", "", "3"]}),
            r"1 missing/NaN values in rows 1",
        ),
        (
            pd.DataFrame({"id": ["a", "b", "c"], "s": ["1", "NaN", "3"]}),
            r"missing/NaN values in rows 1",
        ),
        (
            pd.DataFrame({"id": ["a", "b", "c"], "s": ["1", "x", "3"]}),
            r"non-numeric values in rows 1 \('x'\)",
        ),
        (
            pd.DataFrame({"id": ["a", "b", "c"], "s": ["1", "inf", "3"]}),
            r"infinite values in rows 1",
        ),
        (
            pd.DataFrame({"id": ["a", "b", "c", "z"], "s": [1, 2, 3, 4]}),
            r"1 ids not in the dataset \(rows 3: 'z'\)",
        ),
    ],
)
def test_bad_files_name_the_rows(tmp_path: Path, frame: pd.DataFrame, match: str) -> None:
    path = _write(tmp_path, frame)
    with pytest.raises(ValueError, match=match):
        import_scores(read_score_table(path, "s"), ids=np.array(["a", "b", "c"]))


def test_column_choice_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, pd.DataFrame({"id": ["a"], "u": [1], "v": [2]}))
    with pytest.raises(ValueError, match=r"pick one with s\.csv:COLUMN"):
        read_score_table(path)
    with pytest.raises(ValueError, match="no column 'w'"):
        read_score_table(path, "w")
    index_path = _write(tmp_path, pd.DataFrame({"index": [0, 0], "s": [1, 2]}), "i.csv")
    with pytest.raises(ValueError, match="index repeats in rows 0"):
        import_scores(read_score_table(index_path), n=2)
    np.testing.assert_array_equal(table_ids(read_score_table(path, "u")), ["a"])


def test_prune_scores_keeps_top_rows_of_the_column(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    n = 40
    ids = [f"ex{i:02d}" for i in range(n)]
    values = rng.permutation(n).astype(float)
    order = rng.permutation(n)  # score file rows shuffled: aligned by id
    pd.DataFrame({"id": ids}).to_csv(tmp_path / "meta.csv", index=False)
    pd.DataFrame({"id": np.array(ids)[order], "loss": values[order]}).to_csv(
        tmp_path / "my.csv", index=False
    )
    out = tmp_path / "kept.csv"
    code = main(
        [
            "prune",
            "--meta",
            str(tmp_path / "meta.csv"),
            "--scores",
            f"{tmp_path / 'my.csv'}:loss",
            "--keep",
            "0.25",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    kept = pd.read_csv(out, dtype={"id": str})
    expected = np.sort(np.argsort(-values)[:10])
    np.testing.assert_array_equal(kept["index"], expected)
    np.testing.assert_allclose(kept["score"], values[expected])
    manifest = pd.read_json(out.with_name("kept.manifest.json"), typ="series")
    assert manifest["metric"] == "imported:loss"
    assert [i["name"] for i in manifest["inputs"]] == ["meta.csv", "my.csv"]
    assert manifest["d"] is None

    # higher = easier: the lowest values are now the hardest and are kept.
    code = main(
        [
            "prune",
            "--scores",
            f"{tmp_path / 'my.csv'}:loss",
            "--higher-is-easier",
            "--keep",
            "0.25",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    kept = pd.read_csv(out, dtype={"id": str})
    # Without --meta the score file's own row order and ids define the dataset.
    assert set(kept["id"]) == {ids[i] for i in np.argsort(values)[:10]}


def test_prune_scores_errors_are_one_line(tmp_path: Path, capsys) -> None:
    pd.DataFrame({"s": [1, 2]}).to_csv(tmp_path / "s.csv", index=False)
    out = str(tmp_path / "k.csv")
    assert main(["prune", "--keep", "0.5", "--out", out]) == 2
    assert "EMB is required unless --scores" in capsys.readouterr().err
    assert (
        main(
            [
                "prune",
                "--scores",
                str(tmp_path / "s.csv"),
                "--k",
                "3",
                "--keep",
                "0.5",
                "--out",
                out,
            ]
        )
        == 2
    )
    assert "--scores replaces the scoring" in capsys.readouterr().err
    assert (
        main(
            [
                "prune",
                "--scores",
                str(tmp_path / "s.csv"),
                "--balance-by",
                "cluster",
                "--keep",
                "0.5",
                "--out",
                out,
            ]
        )
        == 2
    )
    assert "needs a prototype metric" in capsys.readouterr().err
