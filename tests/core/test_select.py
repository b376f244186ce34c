"""Tests for core.select: exact counts, orientation, ties, nesting, balance quotas and pins."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.select import STRATEGIES, kept_count, select, select_kept

fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@pytest.mark.parametrize(
    ("n", "fraction", "expected"),
    [
        (10, 0.5, 5),
        (5, 0.5, 3),
        (15, 0.1, 2),
        (7, 0.0, 0),
        (7, 1.0, 7),
        (3, 0.5, 2),
        (1, 0.49, 0),
        (1000, 0.8, 800),
        (1797, 0.3, 539),
    ],
)
def test_kept_count_rounds_half_up(n: int, fraction: float, expected: int) -> None:
    assert kept_count(n, fraction) == expected


@given(n=st.integers(1, 3000), fraction=fractions)
def test_kept_count_is_exact_and_within_half(n: int, fraction: float) -> None:
    k = kept_count(n, fraction)
    assert k == math.floor(fraction * n + 0.5)
    assert abs(k - fraction * n) <= 0.5 + 1e-9
    scores = np.random.default_rng(n).random(n)
    assert select_kept(scores, fraction).n_kept == k


def test_keep_hard_keeps_highest_and_keep_easy_lowest() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.7, 0.3])
    assert select_kept(scores, 0.4).kept_indices.tolist() == [1, 3]
    assert select_kept(scores, 0.4, strategy="keep_easy").kept_indices.tolist() == [0, 4]
    sel = select(scores, 0.6, strategy="random", seed=1)
    assert sel.n_kept == 3
    assert sel.strategy == "random"
    assert sel.mask().tolist() == np.isin(np.arange(5), sel.kept_indices).tolist()


def test_ties_broken_by_lower_index() -> None:
    scores = np.array([1.0, 2.0, 2.0, 2.0, 0.0])
    assert select_kept(scores, 0.4).kept_indices.tolist() == [1, 2]
    scores = np.array([0.0, 1.0, 0.0, 0.0])
    assert select_kept(scores, 0.5, strategy="keep_easy").kept_indices.tolist() == [0, 2]


def test_random_strategy_is_seeded() -> None:
    scores = np.zeros(100)
    a = select_kept(scores, 0.3, strategy="random", seed=5).kept_indices
    b = select_kept(scores, 0.3, strategy="random", seed=5).kept_indices
    c = select_kept(scores, 0.3, strategy="random", seed=6).kept_indices
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 300),
    f1=fractions,
    f2=fractions,
    strategy=st.sampled_from(STRATEGIES),
    seed=st.integers(0, 10),
    ties=st.booleans(),
)
def test_kept_sets_are_nested(
    n: int, f1: float, f2: float, strategy: str, seed: int, ties: bool
) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 3, n).astype(float) if ties else rng.random(n)
    small, large = sorted((f1, f2))
    a = select_kept(scores, small, strategy=strategy, seed=seed)
    b = select_kept(scores, large, strategy=strategy, seed=seed)
    assert set(a.kept_indices.tolist()) <= set(b.kept_indices.tolist())
    assert (np.diff(b.kept_indices) > 0).all()
    assert b.kept_indices.dtype == np.int64


@settings(max_examples=80, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    fraction=fractions,
    ratio=st.floats(0.0, 1.0),
    strategy=st.sampled_from(STRATEGIES),
    seed=st.integers(0, 5),
)
def test_balance_quotas_hold(
    sizes: list[int], fraction: float, ratio: float, strategy: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(len(sizes)) * 3, sizes)  # ids 0, 3, 6, ...: not codes
    n = groups.size
    scores = rng.random(n) * (1 + groups)  # higher groups score higher: keep_hard is unbalanced
    sel = select_kept(
        scores, fraction, strategy=strategy, groups=groups, balance_by="label", min_ratio=ratio
    )
    k = kept_count(n, fraction)
    assert sel.n_kept == k
    assert sel.balance_by == "label"
    n_groups = len(sizes)
    kept_per_group = np.bincount(groups[sel.kept_indices] // 3, minlength=n_groups)
    ceil_quota = [min(s, math.ceil(ratio * k / n_groups)) for s in sizes]
    floor_quota = [min(s, math.floor(ratio * k / n_groups)) for s in sizes]
    assert (kept_per_group >= floor_quota).all()
    if sum(ceil_quota) <= k:
        assert (kept_per_group >= ceil_quota).all()
    assert sel.group_quota is not None
    assert set(sel.group_quota) == {3 * g for g in range(n_groups)}
    assert all(kept_per_group[g // 3] >= q for g, q in sel.group_quota.items())


def test_balance_example_by_hand() -> None:
    """10 examples, group 1 always scores higher; keep 4 with r=1 -> quota ceil(4/2)=2 each."""
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.9, 0.8, 0.7, 0.65])
    groups = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    plain = select_kept(scores, 0.4)
    assert plain.kept_indices.tolist() == [6, 7, 8, 9]
    sel = select_kept(scores, 0.4, groups=groups, min_ratio=1.0)
    assert sel.kept_indices.tolist() == [4, 5, 6, 7]
    assert sel.group_quota == {0: 2, 1: 2}
    # Half the ratio: quota ceil(0.5 * 4 / 2) = 1 for group 0, the rest by score.
    sel = select_kept(scores, 0.4, groups=groups, min_ratio=0.5)
    assert sel.kept_indices.tolist() == [5, 6, 7, 8]


def test_quota_fallback_when_ceilings_exceed_k() -> None:
    """K=4 over 3 groups with r=1: ceil(4/3)=2 each would need 6 > 4, so quotas are water-filled
    to floor(4/3)=1 each and the one place left goes to the lowest group id."""
    scores = np.arange(9, dtype=float)
    groups = np.repeat([0, 1, 2], 3)
    sel = select_kept(scores, 4 / 9, groups=groups, min_ratio=1.0)
    assert sel.group_quota == {0: 2, 1: 1, 2: 1}
    assert sel.kept_indices.tolist() == [1, 2, 5, 8]


def test_pins_are_respected_and_count_stays_exact() -> None:
    scores = np.arange(10, dtype=float)  # keep_hard prefers 9, 8, 7, ...
    sel = select_kept(scores, 0.3, always_keep=[0], always_drop=[9, 8])
    assert sel.kept_indices.tolist() == [0, 6, 7]
    assert sel.always_keep.tolist() == [0]
    assert sel.always_drop.tolist() == [8, 9]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 120),
    fraction=fractions,
    data=st.data(),
    strategy=st.sampled_from(STRATEGIES),
    balanced=st.booleans(),
)
def test_pins_property(n: int, fraction: float, data, strategy: str, balanced: bool) -> None:  # type: ignore[no-untyped-def]
    k = kept_count(n, fraction)
    order = np.random.default_rng(n).permutation(n)
    n_keep = data.draw(st.integers(0, k))
    n_drop = data.draw(st.integers(0, n - k))
    keep, drop = order[:n_keep], order[n_keep : n_keep + n_drop]
    groups = np.arange(n) % 3 if balanced else None
    sel = select_kept(
        np.random.default_rng(0).random(n),
        fraction,
        strategy=strategy,
        always_keep=keep,
        always_drop=drop,
        groups=groups,
        min_ratio=0.8 if balanced else 0.0,
    )
    kept = set(sel.kept_indices.tolist())
    assert sel.n_kept == k
    assert set(keep.tolist()) <= kept
    assert not kept & set(drop.tolist())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"keep_fraction": 1.5}, r"keep_fraction=1.5 should be in \[0, 1\]"),
        ({"keep_fraction": -0.1}, r"keep_fraction=-0.1 should be in \[0, 1\]"),
        ({"keep_fraction": float("nan")}, r"keep_fraction=nan should be in \[0, 1\]"),
        ({"keep_fraction": "half"}, "keep_fraction='half' should be a number"),
        ({"strategy": "keep_middle"}, "strategy='keep_middle' is not one of keep_hard"),
        ({"seed": -1}, "seed=-1 should be a non-negative integer"),
        ({"groups": np.zeros(3, dtype=int)}, r"groups should have shape \(10,\)"),
        ({"groups": np.zeros(10)}, "groups should be integers"),
        ({"min_ratio": 0.5}, "min_ratio=0.5 needs groups"),
        ({"min_ratio": 1.5, "groups": np.zeros(10, dtype=int)}, r"min_ratio=1.5 should be in"),
        ({"balance_by": "label"}, "balance_by='label' needs groups"),
        ({"always_keep": [10]}, r"always_keep has 1 index\(es\) outside \[0, 10\)"),
        ({"always_drop": [-1]}, "always_drop has 1 index"),
        ({"always_keep": [1, 2], "always_drop": [2]}, "1 index.*both always_keep and always_drop"),
        ({"always_keep": [0, 1, 2, 3, 4, 5]}, "always_keep has 6 indices but only K=5"),
        ({"always_drop": [0, 1, 2, 3, 4, 5]}, "always_drop has 6 indices, leaving 4 of n=10.*K=5"),
    ],
)
def test_bad_inputs_raise_value_error(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"keep_fraction": 0.5, **kwargs}
    fraction = args.pop("keep_fraction")
    with pytest.raises(ValueError, match=match):
        select_kept(np.arange(10.0), fraction, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("scores", "match"),
    [
        (np.zeros((2, 2)), "scores should be 1-D"),
        (np.zeros(0), "at least one value"),
        (np.array([1.0, np.nan, 2.0]), "1 NaN/inf value.*first indices: 1"),
        (np.array(["a", "b"]), "real numbers"),
    ],
)
def test_bad_scores_raise_value_error(scores: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        select_kept(scores, 0.5)


def test_kept_count_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="n=-1 should be a non-negative integer"):
        kept_count(-1, 0.5)
    with pytest.raises(ValueError, match=r"keep_fraction=2.0 should be in \[0, 1\]"):
        kept_count(10, 2.0)
