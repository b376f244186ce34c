"""Tests for core.validate: every check names the value and the limit, and passes valid input."""

from __future__ import annotations

import numpy as np
import pytest

from core import validate as v
from core.prune.balance import balance_groups, normalize_balance


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: v.check_int("n", 2.5, low=0), r"n=2\.5 should be an integer"),
        (lambda: v.check_int("n", True, low=0), r"n=True should be an integer"),
        (lambda: v.check_int("n", -1, low=0), r"n=-1 should be >= 0"),
        (lambda: v.check_int("n_nearest", 3, low=1, high=2), r"n_nearest=3 should be <= 2"),
        (
            lambda: v.check_choice("distance", "l1", ("cosine", "euclidean")),
            r"distance='l1' is not one of cosine, euclidean",
        ),
        (lambda: v.check_choice("metric", 3, ("ssp",)), r"metric=3 is not one of ssp"),
        (lambda: v.check_seed(-1), r"seed=-1 should be >= 0"),
        (lambda: v.check_seed(2**31), r"seed=2147483648 should be <= 2147483647"),
        (lambda: v.check_seed("0"), r"seed='0' should be an integer"),
        (lambda: v.check_k(0, 10), r"k=0 should be >= 1"),
        (lambda: v.check_k(11, 10), r"k=11 should be <= n_examples=10"),
        (lambda: v.check_k(11, 10, n_name="n_train"), r"k=11 should be <= n_train=10"),
        (lambda: v.check_k(1.5, 10), r"k=1\.5 should be an integer"),
        (lambda: v.check_k(11, 10, name="--k"), r"--k 11 should be <= n_examples=10"),
        (lambda: v.check_fraction(1.5), r"keep_fraction=1\.5 should be in \[0, 1\]"),
        (lambda: v.check_fraction(float("nan")), r"keep_fraction=nan should be in \[0, 1\]"),
        (lambda: v.check_fraction("half"), r"keep_fraction='half' should be a number in \[0, 1\]"),
        (
            lambda: v.check_fraction(0.0, allow_zero=False),
            r"keep_fraction=0\.0 should be in \(0, 1\]",
        ),
        (
            lambda: v.check_fraction(1.5, name="--keep", allow_zero=False),
            r"--keep 1\.5 should be in \(0, 1\]",
        ),
        (lambda: v.check_min_ratio(-0.5), r"min_ratio=-0\.5 should be in \[0, 1\]"),
        (lambda: v.check_ccs_beta(1.0), r"ccs_beta=1\.0 should be in \[0, 1\)"),
        (lambda: v.check_ccs_strata(0), r"ccs_strata=0 should be an integer >= 1"),
        (lambda: v.check_epsilon(1.0), r"epsilon=1\.0 should be in \[0, 1\)"),
        (lambda: v.check_epsilon(True), r"epsilon=True should be a number in \[0, 1\)"),
        (lambda: v.check_test_size(1.0), r"test_size=1\.0 should be in \(0, 1\)"),
        (lambda: v.check_test_size(0), r"test_size=0\.0 should be in \(0, 1\)"),
        (
            lambda: v.check_number("tol", 0.0, low=0, high=1, low_open=True),
            r"tol=0\.0 should be in \(0, 1\]",
        ),
        (
            lambda: v.check_embeddings(np.zeros(3)),
            r"embeddings should be 2-D \(n, d\), got shape \(3,\)",
        ),
        (lambda: v.check_embeddings(np.zeros((0, 2))), r"at least one row and column"),
        (lambda: v.check_embeddings(np.array([["a"]])), r"real-valued numeric array"),
        (
            lambda: v.check_embeddings(np.array([[0.0], [np.nan], [np.inf]])),
            r"2 row\(s\) with NaN or inf.*first rows: 1, 2",
        ),
        (lambda: v.check_scores(np.zeros((2, 2))), r"scores should be 1-D"),
        (lambda: v.check_scores(np.zeros(0)), r"at least one value, got 0"),
        (lambda: v.check_scores(np.array([True])), r"scores should be real numbers"),
        (
            lambda: v.check_scores(np.array([1.0, np.nan])),
            r"scores has 1 NaN/inf value\(s\); first indices: 1",
        ),
        (lambda: v.check_groups(np.zeros(3, dtype=int), 4), r"groups should have shape \(4,\)"),
        (lambda: v.check_groups(np.zeros(4), 4), r"groups should be integers"),
        (
            lambda: v.check_pins("always_keep", [4], 4),
            r"always_keep has 1 index\(es\) outside \[0, 4\): e\.g\. 4",
        ),
        (lambda: v.check_pins("always_drop", [[0]], 4), r"always_drop should be a 1-D sequence"),
        (lambda: normalize_balance("kind"), r"balance_by='kind' should be one of 'label'"),
        (lambda: balance_groups(None, None, "label"), r"balance_by='label' needs labels"),
        (
            lambda: balance_groups(None, None, "cluster", metric="random"),
            r"metric='random' has none",
        ),
    ],
)
def test_bad_values_raise_value_error_naming_value_and_limit(call, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        call()


def test_valid_values_are_returned_in_canonical_form() -> None:
    assert v.check_int("n", np.int64(3), low=0) == 3
    assert type(v.check_int("n", np.int64(3), low=0)) is int
    assert v.check_choice("distance", "cosine", ("cosine",)) == "cosine"
    assert v.check_seed(0) == 0
    assert v.check_seed(v.MAX_SEED) == v.MAX_SEED
    assert v.check_k(10, 10) == 10
    assert v.check_fraction(0) == 0.0
    assert v.check_fraction(1) == 1.0
    assert v.check_fraction(np.float32(0.5), allow_zero=False) == 0.5
    assert v.check_min_ratio(1.0) == 1.0
    assert v.check_ccs_beta(0.0) == 0.0
    assert v.check_ccs_strata(50) == 50
    assert v.check_epsilon(0.05) == 0.05
    assert v.check_test_size(0.2) == 0.2
    x = v.check_embeddings(np.ones((3, 2), dtype=np.float64))
    assert x.dtype == np.float32
    assert x.shape == (3, 2)
    scores = v.check_scores([1, 2, 3])
    assert scores.dtype == np.float64
    ids, codes = v.check_groups(np.array([5, 3, 5]), 3)
    assert ids.tolist() == [3, 5]
    assert codes.tolist() == [1, 0, 1]
    assert v.check_pins("always_keep", [2, 0, 2], 3).tolist() == [0, 2]
    assert v.check_pins("always_keep", (), 3).dtype == np.int64


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("label", "label"),
        ("class", "label"),
        ("Class", "label"),
        ("cluster", "cluster"),
        ("none", None),
        (None, None),
    ],
)
def test_balance_names_have_one_canonical_form(given: str | None, canonical: str | None) -> None:
    assert normalize_balance(given) == canonical


def test_balance_groups_picks_labels_or_clusters() -> None:
    labels, clusters = np.array([0, 1, 1]), np.array([2, 2, 0])
    assert balance_groups(labels, clusters, "class").tolist() == [0, 1, 1]  # type: ignore[union-attr]
    assert balance_groups(labels, clusters, "label").tolist() == [0, 1, 1]  # type: ignore[union-attr]
    assert balance_groups(labels, clusters, "cluster").tolist() == [2, 2, 0]  # type: ignore[union-attr]
    assert balance_groups(labels, clusters, "none") is None
    assert balance_groups(None, None, None) is None
