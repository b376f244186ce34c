"""Tests for core.analysis.stability and the ``stability`` command."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.analysis.stability import score_stability, stability_summary
from core.cli import main
from core.scores.metrics import compute_scores


def separable(n_per: int = 100, n_clusters: int = 4, d: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = 20.0 * np.eye(d)[:n_clusters]
    return (
        np.repeat(centres, n_per, axis=0) + rng.standard_normal((n_clusters * n_per, d))
    ).astype(np.float32)


def test_separable_blobs_are_stable() -> None:
    result = score_stability(separable(), k=4, seeds=(0, 1, 2, 3, 4), keep_fraction=0.7)
    assert result.values.shape == (5, 400)
    all_or_none = np.isin(result.kept_share, (0.0, 1.0)).mean()
    assert all_or_none > 0.95
    assert result.pairs["spearman"].min() > 0.98
    assert len(result.pairs) == 10
    assert "kept in all 5 runs" in stability_summary(result)


def test_single_blob_with_k8_is_unstable() -> None:
    x = np.random.default_rng(0).standard_normal((400, 8)).astype(np.float32)
    result = score_stability(x, k=8, seeds=range(5), keep_fraction=0.7)
    assert result.unstable_share > 0.25
    assert result.pairs["jaccard"].mean() < 0.9


def test_runs_match_compute_scores_and_k_range() -> None:
    x = separable(n_per=30)
    result = score_stability(x, metric="prototype_margin", k=[3, 4], seeds=[0, 1])
    assert result.runs == ((3, 0), (3, 1), (4, 0), (4, 1))
    for row, (k, seed) in zip(result.values, result.runs):
        expected = compute_scores(x, "prototype_margin", k=k, seed=seed).values
        np.testing.assert_array_equal(row, expected)  # the same fit and assignment, bit for bit


def test_parallel_runs_equal_one_thread_and_report_from_the_caller() -> None:
    x = np.random.default_rng(1).standard_normal((3000, 16)).astype(np.float32)
    calls: list[tuple[float, str, int]] = []

    def progress(fraction: float, message: str) -> None:
        calls.append((fraction, message, threading.get_ident()))

    kwargs = {"k": 12, "seeds": range(6), "keep_fraction": 0.6}
    one = score_stability(x, n_threads=1, **kwargs)
    many = score_stability(x, n_threads=3, progress=progress, **kwargs)
    np.testing.assert_array_equal(one.values, many.values)
    np.testing.assert_array_equal(one.kept, many.kept)
    pd.testing.assert_frame_equal(one.pairs, many.pairs)
    assert {ident for _, _, ident in calls} == {threading.get_ident()}
    fractions = [fraction for fraction, _, _ in calls]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert sum("done (k=12" in message for _, message, _ in calls) == 6


def test_spearman_pairs_match_scipy() -> None:
    from scipy.stats import spearmanr

    result = score_stability(separable(n_per=40), k=[2, 4], seeds=[0, 1])
    for row in result.pairs.itertuples():
        a = result.runs.index((row.k_a, row.seed_a))
        b = result.runs.index((row.k_b, row.seed_b))
        expected = spearmanr(result.values[a], result.values[b]).statistic
        assert row.spearman == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "knn_density", "k": 3}, "metric='knn_density'"),
        ({"k": 3, "seeds": [0]}, "at least two runs"),
        ({"k": 500}, "k=500 should be <= n_examples=120"),
        ({"k": 3, "keep_fraction": 0.0}, r"keep_fraction=0.0 should be in \(0, 1\]"),
    ],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        score_stability(separable(n_per=30), **kwargs)


def test_stability_cli(tmp_path: Path, capsys) -> None:
    np.save(tmp_path / "emb.npy", separable(n_per=50))
    out = tmp_path / "st.csv"
    args = ["stability", str(tmp_path / "emb.npy"), "--metric", "ssp", "--k", "4"]
    assert main([*args, "--seeds", "0,1,2", "--keep", "0.7", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "mean pairwise spearman: " in printed
    assert "mean pairwise jaccard: " in printed
    table = pd.read_csv(out)
    assert list(table.columns) == ["index", "id", "score_mean", "score_std", "kept_share"]
    assert len(table) == 200
    assert main([*args, "--seeds", "0", "--out", str(out)]) == 2
    assert "at least two runs" in capsys.readouterr().err
