"""Exact sums: the same float64 for any split or order of the values (the Dask inertia)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.scores.exact_sum import exact_sum, parts_total, sum_parts
from core.scores.kmeans import inertia_from_parts, inertia_parts

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(finite, max_size=60), cut=st.integers(0, 60), seed=st.integers(0, 99))
def test_any_split_and_order_gives_the_correctly_rounded_sum(
    values: list[float], cut: int, seed: int
) -> None:
    x = np.array(values, dtype=np.float64)
    try:
        expected = math.fsum(values)
    except OverflowError:  # fsum overflows on the way or at the end: compare the splits only
        expected = None
    total = exact_sum(x)
    if expected is not None:
        assert total == expected
    shuffled = np.random.default_rng(seed).permutation(x)
    assert parts_total(sum_parts(shuffled[:cut]) + sum_parts(shuffled[cut:])) == total


def test_sums_cancel_exactly_where_float_sums_do_not() -> None:
    x = np.array([1e16, 1.0, -1e16, 1.0, 2.0**-1074])
    assert float(np.sum(x)) != 2.0  # pairwise float64 sum loses the ones
    assert exact_sum(x) == 2.0
    assert exact_sum(np.array([1e308, 1e308, -1e308])) == 1e308  # no intermediate overflow
    assert exact_sum(np.array([])) == 0.0
    assert exact_sum(np.array([1.7e308, 1.7e308])) == np.inf  # as np.sum: beyond float64
    assert exact_sum(np.array([-1.7e308, -1.7e308])) == -np.inf


def test_many_rows_in_several_bincount_blocks() -> None:
    x = np.random.default_rng(0).random(2_500_000)  # three blocks of 2**20
    assert exact_sum(x) == math.fsum(x.tolist())


def test_non_finite_values_are_refused() -> None:
    with pytest.raises(ValueError, match="NaN or infinite"):
        sum_parts(np.array([1.0, np.nan]))


@pytest.mark.parametrize("spherical", [True, False])
def test_inertia_of_chunks_equals_inertia_of_all_rows(spherical: bool) -> None:
    nearest = np.random.default_rng(1).random(10_001).astype(np.float32).astype(np.float64)
    whole = inertia_from_parts(inertia_parts(nearest, spherical), spherical)
    parts = sum(inertia_parts(nearest[lo : lo + 999], spherical) for lo in range(0, 10_001, 999))
    assert inertia_from_parts(parts, spherical) == whole
    squares = nearest if spherical else nearest * nearest
    assert whole == (2.0 if spherical else 1.0) * math.fsum(squares.tolist())
