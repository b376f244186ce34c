"""Selection on Dask chunks keeps exactly the rows select_kept keeps, on any split of the rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import core.prune.select_dask as select_dask
from core.cli import main
from core.prune.select import select_kept
from core.prune.select_dask import DASK_STRATEGIES, select_kept_dask
from core.scores.distributed import ScoredBlocks
from core.scores.metrics import ScoreParams


def _chunked(values: np.ndarray, clusters: np.ndarray, k: int, edges: list[int]) -> ScoredBlocks:
    """Scores in chunks ending at ``edges`` (the blocks are plain values: Dask passes them on)."""
    bounds = tuple((lo, hi) for lo, hi in zip([0, *edges], [*edges, values.shape[0]]) if hi > lo)
    blocks = tuple((values[lo:hi], clusters[lo:hi]) for lo, hi in bounds)
    return ScoredBlocks("ssp", ScoreParams(k=k), np.zeros((k, 2), np.float32), bounds, blocks)


def _outcome(function, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return function(*args, **kwargs)
    except ValueError as error:
        return str(error)


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 250),
    k=st.integers(1, 9),
    kind=st.sampled_from(["distinct", "ties", "signed zeros"]),
    fraction=st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0)),
    strategy=st.sampled_from(DASK_STRATEGIES),
    balance=st.sampled_from([None, "label", "cluster"]),
    min_ratio=st.sampled_from([0.0, 0.3, 1.0]),
    n_keep=st.integers(0, 12),
    n_drop=st.integers(0, 40),
    cuts=st.lists(st.integers(0, 250), max_size=6),
    seed=st.integers(0, 2**32 - 1),
)
def test_same_rows_quotas_and_errors_as_select_kept(
    n: int,
    k: int,
    kind: str,
    fraction: float,
    strategy: str,
    balance: str | None,
    min_ratio: float,
    n_keep: int,
    n_drop: int,
    cuts: list[int],
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    if kind == "distinct":
        values = rng.standard_normal(n)
    else:
        values = rng.integers(-2, 3, n).astype(np.float64)
        if kind == "signed zeros":
            values[values == 0] = np.where(rng.random(int((values == 0).sum())) < 0.5, 0.0, -0.0)
    clusters = rng.integers(0, k, n)
    labels = rng.integers(0, 4, n) * 7  # label values need not be codes
    keep = rng.choice(n, size=min(n_keep, n), replace=False)
    drop = rng.choice(n, size=min(n_drop, n), replace=False)  # may overlap keep: an error
    ratio = min_ratio if balance else 0.0
    groups = {None: None, "label": labels, "cluster": clusters}[balance]
    expected = _outcome(
        select_kept,
        values,
        fraction,
        strategy=strategy,
        groups=groups,
        balance_by=balance,
        min_ratio=ratio,
        seed=seed,
        always_keep=keep,
        always_drop=drop,
    )
    chunked = _chunked(values, clusters, k, sorted(c for c in cuts if c < n))
    got = _outcome(
        select_kept_dask,
        chunked,
        fraction,
        strategy=strategy,
        balance_by=balance,
        labels=labels,
        min_ratio=ratio,
        seed=seed,
        always_keep=keep,
        always_drop=drop,
    )
    if isinstance(expected, str):
        assert got == expected
        return
    assert not isinstance(got, str), got
    np.testing.assert_array_equal(got.selection.kept_indices, expected.kept_indices)
    assert got.selection.group_quota == expected.group_quota
    np.testing.assert_array_equal(got.values, values[expected.kept_indices])
    np.testing.assert_array_equal(got.clusters, clusters[expected.kept_indices])


@pytest.mark.parametrize("budget", [1, 40])
def test_bounds_found_over_many_rounds_are_still_exact(
    monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    """Small samples force several rounds (and the take-everything fallback) on 30,000 rows in
    13 chunks, with heavy ties, balance over 50 clusters and pins."""
    monkeypatch.setattr(select_dask, "_SAMPLE_BUDGET", budget)
    monkeypatch.setattr(select_dask, "_MIN_SAMPLE", 2)
    rng = np.random.default_rng(1)
    n = 30_000
    values = np.round(rng.standard_normal(n), 2)
    clusters = rng.integers(0, 50, n)
    chunked = _chunked(values, clusters, 50, list(range(2_400, n, 2_400)))
    options = {"always_keep": [5, 17, 29_999], "always_drop": [0, 1, 2], "seed": 3}
    for strategy in DASK_STRATEGIES:
        got = select_kept_dask(
            chunked,
            0.35,
            strategy=strategy,
            balance_by="cluster",
            min_ratio=0.9,
            **options,  # type: ignore[arg-type]
        )
        expected = select_kept(
            values,
            0.35,
            strategy=strategy,
            groups=clusters,
            balance_by="cluster",
            min_ratio=0.9,
            **options,  # type: ignore[arg-type]
        )
        assert got.rounds > 2
        np.testing.assert_array_equal(got.selection.kept_indices, expected.kept_indices)


def test_a_strategy_that_needs_every_score_is_refused() -> None:
    chunked = _chunked(np.zeros(4), np.zeros(4, np.int64), 1, [2])
    with pytest.raises(ValueError, match="strategy='ccs' ranks with all scores in one process"):
        select_kept_dask(chunked, 0.5, strategy="ccs")
    with pytest.raises(ValueError, match="strategy='hardest' is not one of keep_hard"):
        select_kept_dask(chunked, 0.5, strategy="hardest")


def test_prune_dask_never_gathers_the_scores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``prune --dask`` selects on the chunks (gathering all n scores fails here) and writes the
    in-memory bytes; ``score --dask`` gathers them, as it writes every row."""
    rng = np.random.default_rng(2)
    x = (3 * rng.standard_normal((4, 8)))[rng.integers(0, 4, 900)] + rng.standard_normal((900, 8))
    emb = tmp_path / "emb.npy"
    np.save(emb, x.astype(np.float32))
    (tmp_path / "meta.csv").write_text(
        "id,label\n" + "".join(f"r{i},{i % 3}\n" for i in range(900))
    )
    args = ["prune", str(emb), "--meta", str(tmp_path / "meta.csv"), "--k", "6", "--seed", "1"]
    args += ["--keep", "0.45", "--balance-by", "cluster", "--always-keep", "r3,r800"]
    assert main([*args, "--out", str(tmp_path / "memory.csv")]) == 0

    def no_gather(self: ScoredBlocks) -> None:
        raise AssertionError("prune --dask gathered every score")

    monkeypatch.setattr(ScoredBlocks, "gather", no_gather)
    dask_args = ["--dask", "--dask-chunk-rows", "128"]
    assert main([*args, *dask_args, "--out", str(tmp_path / "dask.csv")]) == 0
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "memory.csv").read_bytes()
    with pytest.raises(AssertionError, match="gathered every score"):
        main(["score", str(emb), "--k", "6", *dask_args, "--out", str(tmp_path / "s.csv")])
