"""Tests for core.analysis.compare and the ``compare`` command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.analysis.compare import compare_scores, disagreements, jaccard
from core.cli import main


def planted_blobs(n_per: int = 150, n_clusters: int = 8, d: int = 16, seed: int = 0):
    """Gaussian blobs around well-separated centres; hardness = distance from own centre.

    Offsets are orthogonal to their centre, so the cosine distance to it (the SSP score) grows
    with the distance from it.
    """
    rng = np.random.default_rng(seed)
    centres = 10.0 * np.eye(d)[:n_clusters]
    offsets = rng.standard_normal((n_clusters * n_per, d))
    offsets[np.arange(n_clusters * n_per), np.repeat(np.arange(n_clusters), n_per)] = 0.0
    embeddings = np.repeat(centres, n_per, axis=0) + offsets
    return embeddings.astype(np.float32), np.linalg.norm(offsets, axis=1)


def test_identical_and_reversed_scores() -> None:
    x = np.arange(10.0)
    result = compare_scores({"a": x, "b": 2 * x, "c": -x}, keep_fraction=0.5)
    rows = result.pairs.set_index(["metric_a", "metric_b"])
    assert rows.loc[("a", "b"), "spearman"] == pytest.approx(1.0)
    assert rows.loc[("a", "b"), "kendall"] == pytest.approx(1.0)
    assert rows.loc[("a", "b"), "jaccard"] == 1.0
    assert rows.loc[("a", "c"), "spearman"] == pytest.approx(-1.0)
    assert rows.loc[("a", "c"), "jaccard"] == 0.0  # top half vs bottom half
    assert result.spearman.shape == (3, 3)
    assert result.kendall_sample is None


def test_kendall_sample_is_said() -> None:
    x = np.random.default_rng(0).random(300)
    result = compare_scores({"a": x, "b": x + 0.01}, keep_fraction=0.5, kendall_max_rows=100)
    assert result.kendall_sample == 100


def test_disagreements_finds_the_swapped_example() -> None:
    a = np.arange(10.0)
    b = a.copy()
    b[0], b[9] = 9.0, 0.0
    table = disagreements(a, b, top=2)
    assert sorted(table["index"]) == [0, 9]
    assert table["rank_difference"].abs().tolist() == [1.0, 1.0]


def test_jaccard() -> None:
    assert jaccard(np.array([1, 1, 0], bool), np.array([0, 1, 1], bool)) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("scores", "match"),
    [
        ({"a": [1.0, 2.0]}, "at least two scores"),
        ({"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0]}, "different lengths"),
        ({"a": [1.0, np.nan], "b": [1.0, 2.0]}, "NaN or inf"),
        ({"a": [1.0, 1.0], "b": [1.0, 2.0]}, "constant"),
    ],
)
def test_bad_input(scores: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        compare_scores(scores, keep_fraction=0.5)


def test_compare_cli_planted_hardness_agrees_with_ssp(tmp_path: Path, capsys) -> None:
    embeddings, hardness = planted_blobs()
    n = embeddings.shape[0]
    np.save(tmp_path / "emb.npy", embeddings)
    ids = [f"x{i}" for i in range(n)]
    pd.DataFrame({"id": ids}).to_csv(tmp_path / "meta.csv", index=False)
    noisy = hardness + 0.02 * np.random.default_rng(1).standard_normal(n)
    pd.DataFrame({"id": ids[::-1], "col": noisy[::-1]}).to_csv(tmp_path / "my.csv", index=False)
    out = tmp_path / "cmp.csv"
    args = ["compare", str(tmp_path / "emb.npy"), "--meta", str(tmp_path / "meta.csv")]
    args += ["--metrics", "ssp,knn_density", "--scores", f"{tmp_path / 'my.csv'}:col"]
    args += ["--keep", "0.7", "--k", "8", "--seed", "0", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    table = pd.read_csv(out)
    assert list(table.columns) == ["metric_a", "metric_b", "spearman", "kendall", "jaccard"]
    assert len(table) == 3
    row = table[(table.metric_a == "ssp") & (table.metric_b == "imported:col")].iloc[0]
    assert row.spearman > 0.9
    assert row.jaccard > 0.8


@pytest.mark.parametrize("kind", ["ties", "continuous", "constant", "one", "empty"])
def test_average_ranks_match_scipy(kind: str) -> None:
    from scipy.stats import rankdata

    from core.analysis.compare import average_ranks

    rng = np.random.default_rng(0)
    values = {
        "ties": rng.integers(0, 7, size=500).astype(float),
        "continuous": rng.standard_normal(500),
        "constant": np.full(9, 2.5),
        "one": np.array([4.0]),
        "empty": np.array([], dtype=float),
    }[kind]
    np.testing.assert_array_equal(average_ranks(values), rankdata(values))
