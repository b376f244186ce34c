"""Tests for core.prune.select: exact counts, orientation, ties, nesting, balance quotas and pins."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.prune.select import (
    STRATEGIES,
    default_ccs_beta,
    kept_count,
    moderate_distances,
    select_kept,
)

fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def _features(n: int, seed: int = 0) -> np.ndarray:
    """Embeddings for ``moderate`` (ignored by the other strategies)."""
    return np.random.default_rng([seed, 7]).normal(size=(n, 3))


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


def _kept_exact(n: int, decimal: Fraction) -> int:
    """The documented rule in exact arithmetic: ``decimal * n`` rounded half up."""
    return math.floor(decimal * n + Fraction(1, 2))


def test_kept_count_matches_exact_arithmetic_for_every_whole_percent() -> None:
    # float64 gives 0.7 * 45 = 31.499999999999996; the decimal as written gives 31.5 -> 32.
    for percent in range(101):
        decimal = Fraction(percent, 100)
        for n in range(1001):
            assert kept_count(n, percent / 100) == _kept_exact(n, decimal), (n, percent)


@given(
    n=st.integers(0, 100_000),
    places=st.integers(0, 6),
    digits=st.integers(0, 10**6),
)
def test_kept_count_is_the_decimal_as_written_rounded_half_up(
    n: int, places: int, digits: int
) -> None:
    decimal = Fraction(min(digits, 10**places), 10**places)  # e.g. "0.7" -> 7/10
    fraction = float(decimal)  # the float a user gets by writing that decimal
    k = kept_count(n, fraction)
    assert k == _kept_exact(n, decimal)
    assert abs(k - decimal * n) <= Fraction(1, 2)


@given(n=st.integers(1, 3000), fraction=fractions)
def test_kept_count_is_within_half_for_any_float(n: int, fraction: float) -> None:
    k = kept_count(n, fraction)
    # Any float in [0, 1]: the product is rounded to 9 decimals first, so the count is within
    # half an example of the exact product, up to that rounding.
    assert abs(k - Fraction(fraction) * n) <= Fraction(1, 2) + Fraction(1, 10**9)
    assert kept_count(n, math.nextafter(fraction, 2.0) if fraction < 1 else 1.0) >= k
    scores = np.random.default_rng(n).random(n)
    assert select_kept(scores, fraction).n_kept == k


def test_keep_hard_keeps_highest_and_keep_easy_lowest() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.7, 0.3])
    assert select_kept(scores, 0.4).kept_indices.tolist() == [1, 3]
    assert select_kept(scores, 0.4, strategy="keep_easy").kept_indices.tolist() == [0, 4]
    sel = select_kept(scores, 0.6, strategy="random", seed=1)
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
    # A fixed ccs_beta: the default beta grows as the kept fraction falls.
    extra = {"embeddings": _features(n, seed), "ccs_beta": 0.1}
    a = select_kept(scores, small, strategy=strategy, seed=seed, **extra)
    b = select_kept(scores, large, strategy=strategy, seed=seed, **extra)
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
        scores,
        fraction,
        strategy=strategy,
        groups=groups,
        balance_by="label",
        min_ratio=ratio,
        embeddings=_features(n, seed),
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
        embeddings=_features(n),
        labels=groups,
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
        ({"seed": -1}, "seed=-1 should be >= 0"),
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
    with pytest.raises(ValueError, match="n=-1 should be >= 0"):
        kept_count(-1, 0.5)
    with pytest.raises(ValueError, match=r"keep_fraction=2.0 should be in \[0, 1\]"):
        kept_count(10, 2.0)


# ----------------------------------------------------------------------------- ccs, moderate, middle_band


def _cut_and_strata(
    scores: np.ndarray, beta: float, n_strata: int
) -> tuple[np.ndarray, np.ndarray]:
    """Reference CCS partition of all rows: (cut rows hardest first, stratum of every row or -1)."""
    n = scores.size
    hardest_first = np.lexsort((np.arange(n), -scores))
    n_cut = math.floor(beta * n + 0.5)
    cut, rest = hardest_first[:n_cut], hardest_first[n_cut:]
    strata = np.full(n, -1)
    if rest.size:
        low, high = scores[rest].min(), scores[rest].max()
        strata[rest] = 0
        if high > low:
            position = (scores[rest] - low) / (high - low) * n_strata
            strata[rest] = np.minimum(np.floor(position), n_strata - 1).astype(int)
    return cut, strata


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(1, 400),
    fraction=fractions,
    beta=st.floats(0.0, 0.99),
    n_strata=st.integers(1, 60),
    seed=st.integers(0, 20),
    ties=st.booleans(),
    grouped=st.booleans(),
)
def test_ccs_exact_count_cut_coverage_and_water_filling(
    n: int, fraction: float, beta: float, n_strata: int, seed: int, ties: bool, grouped: bool
) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 7, n).astype(float) if ties else rng.normal(size=n) ** 3
    k = kept_count(n, fraction)
    groups = np.arange(n) % 3 if grouped else None
    sel = select_kept(
        scores,
        fraction,
        strategy="ccs",
        ccs_beta=beta,
        ccs_strata=n_strata,
        seed=seed,
        groups=groups,
    )
    assert sel.n_kept == k
    assert sel.kept_indices.dtype == np.int64
    assert (np.diff(sel.kept_indices) > 0).all()
    assert (sel.ccs_beta, sel.ccs_strata) == (beta, n_strata)
    if grouped:
        return  # per-group partitions: see test_ccs_runs_within_each_group
    cut, strata = _cut_and_strata(scores, beta, n_strata)
    kept = sel.mask()
    n_rest = n - cut.size
    if k <= n_rest:  # the hard cutoff holds
        assert not kept[cut].any()
        sizes = np.bincount(strata[strata >= 0], minlength=n_strata)
        taken = np.bincount(strata[kept], minlength=n_strata)
        non_empty = sizes > 0
        if k >= non_empty.sum():  # coverage: every non-empty stratum keeps one
            assert (taken[non_empty] >= 1).all()
        # Water-filling: a stratum with room never has 2+ fewer than another stratum.
        open_ = non_empty & (taken < sizes)
        if open_.any():
            assert taken.max() <= taken[open_].min() + 1
    else:  # K forces cut rows back: all the rest, then the least hard of the cut
        assert kept[strata >= 0].all()
        back = np.lexsort((cut, scores[cut]))[: k - n_rest]
        assert set(np.flatnonzero(kept & (strata < 0)).tolist()) == set(cut[back].tolist())


def test_ccs_hand_example_and_takeback() -> None:
    """20 scores 0..19, beta=0.1 cuts 19 and 18; two strata [0, 8.5) and [8.5, 17]."""
    scores = np.arange(20, dtype=float)
    sel = select_kept(scores, 0.2, strategy="ccs", ccs_strata=2, seed=3, ccs_beta=0.1)
    kept = sel.kept_indices
    assert kept.size == 4
    assert ((kept < 9).sum(), (kept >= 9).sum()) == (2, 2)
    assert not np.isin([18, 19], kept).any()
    # K = 19 > 18 left after the cut: 18 (the least hard cut example) comes back, 19 does not.
    sel = select_kept(scores, 0.95, strategy="ccs", seed=3, ccs_beta=0.1)
    assert sel.kept_indices.tolist() == list(range(19))
    # Uneven strata: 1 member in the low one, 9 in the high one; K=4 -> 1 + 3.
    scores = np.array([0.0] + [10.0 + i for i in range(9)] + [100.0])
    sel = select_kept(scores, 4 / 11, strategy="ccs", ccs_strata=2, ccs_beta=0.05, seed=0)
    assert sel.kept_indices.size == 4
    assert 0 in sel.kept_indices
    assert 10 not in sel.kept_indices


def test_ccs_is_seeded_and_uniform_within_strata() -> None:
    scores = np.repeat(np.arange(5, dtype=float), 40)  # 5 equal strata of 40 ties
    a = select_kept(scores, 0.25, strategy="ccs", ccs_strata=5, ccs_beta=0.0, seed=1)
    b = select_kept(scores, 0.25, strategy="ccs", ccs_strata=5, ccs_beta=0.0, seed=1)
    c = select_kept(scores, 0.25, strategy="ccs", ccs_strata=5, ccs_beta=0.0, seed=2)
    np.testing.assert_array_equal(a.kept_indices, b.kept_indices)
    assert not np.array_equal(a.kept_indices, c.kept_indices)
    assert np.bincount(scores[a.kept_indices].astype(int)).tolist() == [10] * 5
    # Not the first members of each stratum: a random sample inside it.
    assert a.kept_indices.tolist() != [i for s in range(5) for i in range(40 * s, 40 * s + 10)]


def test_ccs_runs_within_each_group() -> None:
    """Group 1 scores far above group 0; balanced CCS cuts each group's own hardest tenth."""
    scores = np.concatenate([np.arange(10.0), 100 + np.arange(10.0)])
    groups = np.repeat([0, 1], 10)
    sel = select_kept(
        scores, 0.5, strategy="ccs", groups=groups, min_ratio=1.0, ccs_strata=3, ccs_beta=0.1
    )
    kept = sel.kept_indices
    assert sel.group_quota == {0: 5, 1: 5}
    assert 9 not in kept
    assert 19 not in kept
    assert ((kept < 10).sum(), (kept >= 10).sum()) == (5, 5)
    # Strata of group 0's range [0, 8] are [0, 3), [3, 6), [6, 8]: all three are covered.
    assert set((scores[kept[kept < 10]] // 3).astype(int).tolist()) == {0, 1, 2}


def test_ccs_pins_set_aside_before_the_cut() -> None:
    scores = np.arange(20, dtype=float)
    # Dropping 19 leaves a pool of 19: the cut is round(1.9) = 2 rows, 18 and 17.
    sel = select_kept(scores, 0.5, strategy="ccs", always_drop=[19], seed=0)
    assert sel.n_kept == 10
    assert not np.isin([17, 18, 19], sel.kept_indices).any()
    # A keep-pin inside the cut is kept and uses a place; the pool (19 rows) cuts 18 and 17.
    sel = select_kept(scores, 0.5, strategy="ccs", always_keep=[19], seed=0)
    assert 19 in sel.kept_indices
    assert sel.n_kept == 10
    assert not np.isin([17, 18], sel.kept_indices).any()


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 300),
    fraction=fractions,
    ties=st.booleans(),
    grouped=st.booleans(),
    seed=st.integers(0, 10),
)
def test_middle_band_keeps_the_k_closest_to_the_median(
    n: int, fraction: float, ties: bool, grouped: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 9, n).astype(float) if ties else rng.normal(size=n)
    groups = rng.integers(0, 4, n) if grouped else np.zeros(n, dtype=np.int64)
    medians = {g: np.median(scores[groups == g]) for g in np.unique(groups)}
    distance = np.abs(scores - np.array([medians[g] for g in groups]))
    k = kept_count(n, fraction)
    expected = np.sort(np.lexsort((np.arange(n), distance))[:k])
    sel = select_kept(
        scores, fraction, strategy="middle_band", groups=groups if grouped else None, seed=seed
    )
    np.testing.assert_array_equal(sel.kept_indices, expected)
    assert sel.ccs_beta is None
    assert sel.ccs_strata is None


def test_middle_band_hand_example_and_pins() -> None:
    scores = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 100.0])  # median 3
    assert select_kept(scores, 3 / 7, strategy="middle_band").kept_indices.tolist() == [2, 3, 4]
    # Ties at distance 1 (rows 2 and 4) go to the lower index.
    assert select_kept(scores, 2 / 7, strategy="middle_band").kept_indices.tolist() == [2, 3]
    # Pins are set aside first: the pool {0, 1, 2, 4, 5} has median 2, so 2 then 1 join pin 6.
    sel = select_kept(scores, 3 / 7, strategy="middle_band", always_keep=[6], always_drop=[3])
    assert sel.kept_indices.tolist() == [1, 2, 6]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ccs_beta": 1.0}, r"ccs_beta=1.0 should be in \[0, 1\)"),
        ({"ccs_beta": -0.1}, r"ccs_beta=-0.1 should be in \[0, 1\)"),
        ({"ccs_beta": float("nan")}, r"ccs_beta=nan should be in \[0, 1\)"),
        ({"ccs_beta": "0.1"}, "ccs_beta='0.1' should be a number"),
        ({"ccs_strata": 0}, "ccs_strata=0 should be an integer >= 1"),
        ({"ccs_strata": 2.5}, "ccs_strata=2.5 should be an integer >= 1"),
        ({"ccs_strata": True}, "ccs_strata=True should be an integer >= 1"),
    ],
)
def test_bad_ccs_options_raise_value_error(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        select_kept(np.arange(10.0), 0.5, strategy="ccs", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("n", "fraction", "expected"),
    [(45, 0.7, 32), (25, 0.58, 15), (90, 0.35, 32), (5, 0.5, 3), (15, 0.1, 2), (10, 0.04, 0)],
)
def test_kept_count_rounds_decimal_fractions_half_up_as_written(n, fraction, expected) -> None:
    # float64 makes 0.7 * 45 = 31.499999999999996; the documented rule must still give 32.
    assert kept_count(n, fraction) == expected
    assert select_kept(np.arange(n, dtype=float), fraction).n_kept == expected


def test_kept_count_is_round_half_up_for_every_whole_percent() -> None:
    from fractions import Fraction

    for n in range(1, 301):
        for percent in range(101):
            exact = Fraction(percent, 100) * n
            assert kept_count(n, percent / 100) == int(exact + Fraction(1, 2)), (n, percent)


# ----------------------------------------------------------------------------- Moderate-DS


def _published_moderate(features: np.ndarray, labels: np.ndarray, fraction: float) -> np.ndarray:
    """tmllab/Moderate-DS selection.py, written independently: distance to the class median
    feature vector, all examples ranked together, keep ranks [round(n(0.5-f/2)), round(n(0.5+f/2)))."""
    distance = np.zeros(len(features))
    for c in np.unique(labels):
        rows = labels == c
        distance[rows] = np.sqrt(((features[rows] - np.median(features[rows], axis=0)) ** 2).sum(1))
    n = len(features)
    low, high = round(n * (0.5 - fraction / 2)), round(n * (0.5 + fraction / 2))
    return np.argsort(distance)[low:high]


@pytest.mark.parametrize("fraction", [0.3, 0.7])
def test_moderate_matches_the_published_rule_on_digits(fraction: float) -> None:
    from core.io.data import load_dataset

    dataset = load_dataset(
        "sample_data/digits/pixel_embeddings.npy", "sample_data/digits/metadata.csv"
    )
    assert dataset.labels is not None
    features = np.asarray(dataset.embeddings)
    sel = select_kept(
        np.zeros(dataset.n),
        fraction,
        strategy="moderate",
        embeddings=features,
        labels=dataset.labels,
    )
    reference = set(_published_moderate(features, dataset.labels, fraction).tolist())
    kept = set(sel.kept_indices.tolist())
    assert len(kept) == kept_count(dataset.n, fraction)
    jaccard = len(kept & reference) / len(kept | reference)
    assert jaccard >= 0.95, jaccard


def test_moderate_hand_example_ranks_all_classes_together() -> None:
    # Class 0 around 0, class 1 around 100: distances to each class's median vector.
    features = np.array([[0.0], [1.0], [3.0], [100.0], [102.0], [106.0], [99.0]])
    labels = np.array([0, 0, 0, 1, 1, 1, 1])
    # Medians 1 and 101 -> distances 1, 0, 2, 1, 1, 5, 2; ranks (ties by index): 1, 0, 3, 4, 2, 6, 5
    scores = np.zeros(7)  # ignored by moderate
    sel = select_kept(scores, 3 / 7, strategy="moderate", embeddings=features, labels=labels)
    assert sel.kept_indices.tolist() == [2, 3, 4]  # ranks 2, 3, 4 of 7: the middle band
    # Without labels: one class, the global median vector (100) -> distances 100, 99, 97, 0, ...
    sel = select_kept(scores, 1 / 7, strategy="moderate", embeddings=features)
    assert sel.kept_indices.tolist() == [5]  # distance 6: rank 3 of 0,1,2,6,97,99,100
    np.testing.assert_allclose(
        moderate_distances(features, labels), [1.0, 0.0, 2.0, 1.0, 1.0, 5.0, 2.0]
    )


def test_moderate_pins_and_exact_counts() -> None:
    features = _features(50)
    sel = select_kept(
        np.zeros(50),
        0.4,
        strategy="moderate",
        embeddings=features,
        always_keep=[0],
        always_drop=[1, 2],
    )
    assert sel.n_kept == kept_count(50, 0.4)
    assert 0 in sel.kept_indices
    assert not {1, 2} & set(sel.kept_indices.tolist())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "strategy='moderate' .*needs embeddings"),
        ({"embeddings": np.zeros((3, 2))}, r"embeddings should have shape \(10, d\)"),
        ({"embeddings": np.full((10, 2), np.nan)}, "embeddings contain NaN"),
        ({"embeddings": np.zeros((10, 2)), "labels": np.zeros(3, int)}, "groups should have"),
    ],
)
def test_bad_moderate_inputs_raise_value_error(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        select_kept(np.arange(10.0), 0.5, strategy="moderate", **kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- CCS default beta


@pytest.mark.parametrize(
    ("fraction", "beta"),
    [
        (1.0, 0.0),
        (0.5, 0.0),
        (0.4, 0.05),
        (0.3, 0.1),
        (0.2, 0.1),
        (0.15, 0.2),
        (0.1, 0.3),
        (0.01, 0.3),
        (0.0, 0.3),
    ],
)
def test_default_ccs_beta_follows_the_schedule(fraction: float, beta: float) -> None:
    assert default_ccs_beta(fraction) == pytest.approx(beta)
    sel = select_kept(np.arange(100.0), fraction, strategy="ccs")
    assert sel.ccs_beta == pytest.approx(beta)
    if kept_count(100, fraction) <= 100 - round(beta * 100):
        # The hardest beta are cut (scores 0..99: the top beta * 100 values).
        assert not (sel.kept_indices >= 100 - round(beta * 100)).any()
