"""The checks every public function, the CLI and the app apply to user input (one rulebook).

Each ``check_*`` validates one kind of value once, at the public boundary, and returns it in the
form the private helpers assume (int, float, float32/float64/int64 arrays). A bad value raises
``ValueError`` with a message that names the value and the limit, e.g. ``"k=5000 should be <=
n_examples=1797"``. ``name`` may be a CLI flag (``"--keep"``): the message then reads ``"--keep
1.5 should be in (0, 1]"``, the way the CLI words its errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

#: Largest seed: faiss stores it in a C int.
MAX_SEED = 2**31 - 1
#: |sum of a probability row - 1| allowed in training records (float16/float32 storage).
PROB_TOLERANCE = 1e-3
# Rows checked for NaN/inf per pass, so validation never allocates an (N, d) boolean array.
_CHECK_ROWS = 65536
_N_NAMED = 5  # how many offending rows / values a message names


def name_some(values: Sequence[Any]) -> str:
    """The first few values, comma separated, with an ellipsis when there are more (for messages
    that name the offending rows or values)."""
    shown = ", ".join(str(value) for value in values[:_N_NAMED])
    return shown + (", ..." if len(values) > _N_NAMED else "")


def _shown(name: str, value: object) -> str:
    """``name=value``, or ``--flag value`` for a CLI flag."""
    return f"{name} {value}" if name.startswith("--") else f"{name}={value}"


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    return f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


# ----------------------------------------------------------------------------- scalars


def check_int(name: str, value: object, *, low: int, high: int | None = None) -> int:
    """Return ``value`` as int, or raise ValueError unless it is an int in [low, high]."""
    if not isinstance(value, Integral) or isinstance(value, bool):
        raise ValueError(f"{_shown(name, repr(value))} should be an integer")
    number = int(value)
    if number < low:
        raise ValueError(f"{_shown(name, number)} should be >= {low}")
    if high is not None and number > high:
        raise ValueError(f"{_shown(name, number)} should be <= {high}")
    return number


def check_number(
    name: str,
    value: object,
    *,
    low: float,
    high: float,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as float, or raise ValueError unless it is a real number in the interval
    from ``low`` to ``high`` (each end closed unless ``*_open``); NaN is always rejected."""
    interval = _interval(low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{_shown(name, repr(value))} should be a number in {interval}")
    number = float(value)
    above = number > low if low_open else number >= low
    below = number < high if high_open else number <= high
    if not (above and below):  # also rejects NaN
        raise ValueError(f"{_shown(name, number)} should be in {interval}")
    return number


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{_shown(name, repr(value))} is not one of {', '.join(choices)}")
    return value


def check_seed(seed: object, *, name: str = "seed") -> int:
    """A seed: an int in [0, 2**31 - 1]."""
    return check_int(name, seed, low=0, high=MAX_SEED)


def check_k(k: object, n: int, *, name: str = "k", n_name: str = "n_examples") -> int:
    """A number of clusters: an int in [1, n]; ``n_name`` names ``n`` in the message."""
    if not isinstance(k, Integral) or isinstance(k, bool):
        raise ValueError(f"{_shown(name, repr(k))} should be an integer")
    number = int(k)
    if number < 1:
        raise ValueError(f"{_shown(name, number)} should be >= 1")
    if number > n:
        raise ValueError(f"{_shown(name, number)} should be <= {n_name}={n}")
    return number


def check_fraction(
    keep_fraction: object, *, name: str = "keep_fraction", allow_zero: bool = True
) -> float:
    """A kept fraction in [0, 1], or in (0, 1] when ``allow_zero`` is False."""
    return check_number(name, keep_fraction, low=0.0, high=1.0, low_open=not allow_zero)


def check_min_ratio(min_ratio: object, *, name: str = "min_ratio") -> float:
    """A balance ratio in [0, 1]."""
    return check_number(name, min_ratio, low=0.0, high=1.0)


def check_ccs_beta(ccs_beta: object, *, name: str = "ccs_beta") -> float:
    """The ``ccs`` hard-cutoff fraction, in [0, 1)."""
    return check_number(name, ccs_beta, low=0.0, high=1.0, high_open=True)


def check_ccs_strata(ccs_strata: object) -> int:
    """The number of ``ccs`` score strata, an int >= 1."""
    if not isinstance(ccs_strata, Integral) or isinstance(ccs_strata, bool) or ccs_strata < 1:
        raise ValueError(f"ccs_strata={ccs_strata!r} should be an integer >= 1")
    return int(ccs_strata)


def check_epsilon(epsilon: object, *, name: str = "epsilon") -> float:
    """A SemDeDup threshold (cosine distance), in [0, 1)."""
    return check_number(name, epsilon, low=0.0, high=1.0, high_open=True)


def check_test_size(test_size: object, *, name: str = "test_size") -> float:
    """The test fraction of a train/test split, in (0, 1)."""
    return check_number(name, test_size, low=0.0, high=1.0, low_open=True, high_open=True)


# ----------------------------------------------------------------------------- arrays


def check_embeddings(embeddings: object, name: str = "embeddings") -> np.ndarray:
    """Validate a 2-D, non-empty, finite, real-valued array and return it as float32.

    No copy is made when the input already is float32. Finiteness is checked in blocks of rows
    so a 1M x 128 array never needs an (N, d) boolean temporary.

    Raises
    ------
    ValueError
        If the array is not 2-D, has no rows or columns, is not real-valued, or has NaN/inf
        (the message names how many rows and the first row numbers).
    """
    array = np.asarray(embeddings)
    if array.ndim != 2:
        raise ValueError(f"{name} should be 2-D (n, d), got shape {array.shape}")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{name} should have at least one row and column, got {array.shape}")
    if array.dtype == np.bool_ or array.dtype.kind not in "fiu":
        raise ValueError(f"{name} should be a real-valued numeric array, got dtype {array.dtype}")
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported below
        array = np.asarray(array, dtype=np.float32)
    bad_rows: list[np.ndarray] = []
    for start in range(0, array.shape[0], _CHECK_ROWS):
        block = array[start : start + _CHECK_ROWS]
        if not np.isfinite(block.sum(axis=1)).all():
            # The cheap row-sum test can only overflow to inf on finite input; recheck exactly.
            rows = np.flatnonzero(~np.isfinite(block).all(axis=1))
            if rows.size:
                bad_rows.append(rows + start)
    if bad_rows:
        rows = np.concatenate(bad_rows)
        first = ", ".join(str(int(r)) for r in rows[:5])
        raise ValueError(
            f"{name} has {rows.size} row(s) with NaN or inf values (after casting to float32); "
            f"first rows: {first}"
        )
    return array


def check_coords(coords: object, n_rows: int, *, name: str = "coordinates") -> np.ndarray:
    """Map coordinates of every row: a finite real array of shape (n_rows, 2), returned as
    C-contiguous float32 (no copy when it already is one).

    Raises
    ------
    ValueError
        Objects or a non-real dtype, a shape other than (n_rows, 2) (the message names the
        expected and the found shape), or NaN/inf after casting to float32 (the message names
        how many rows and the first row numbers).
    """
    array = np.asarray(coords)
    expected = (int(n_rows), 2)
    if array.dtype.kind == "O":
        raise ValueError(f"{name} holds objects; save a numeric (n, 2) array")
    if array.dtype == np.bool_ or array.dtype.kind not in "fiu":
        raise ValueError(f"{name} should be real numbers, got dtype {array.dtype}")
    if array.shape != expected:
        raise ValueError(
            f"{name} should have shape {expected} (one x, y row per example, n={n_rows}), "
            f"got shape {array.shape}"
        )
    return finite_float32_rows(
        array,
        lambda rows: (
            f"{name} has {rows.size} row(s) with NaN or inf values (after casting to float32); "
            f"first rows: {name_some(rows.tolist())}"
        ),
    )


def finite_float32_rows(array: np.ndarray, describe: Callable[[np.ndarray], str]) -> np.ndarray:
    """``array`` (2-D) as C-contiguous float32, values beyond float32's range becoming inf.

    Raises
    ------
    ValueError
        ``describe(rows)`` when rows (their indices, ascending) hold NaN or inf.
    """
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported below
        matrix = np.ascontiguousarray(array, dtype=np.float32)
    rows = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
    if rows.size:
        raise ValueError(describe(rows))
    return matrix


def check_scores(scores: object) -> np.ndarray:
    """Per-example scores: a non-empty 1-D array of finite reals, returned as float64."""
    array = np.asarray(scores)
    if array.ndim != 1:
        raise ValueError(f"scores should be 1-D (n,), got shape {array.shape}")
    if array.shape[0] < 1:
        raise ValueError("scores should have at least one value, got 0")
    if array.dtype == np.bool_ or array.dtype.kind not in "fiu":
        raise ValueError(f"scores should be real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        first = ", ".join(str(int(i)) for i in bad[:5])
        raise ValueError(f"scores has {bad.size} NaN/inf value(s); first indices: {first}")
    return array


def check_groups(groups: object, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Balance groups of shape (n,), integers: (sorted unique group ids, int64 code of each
    example into them)."""
    array = np.asarray(groups)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"groups should have shape ({n},) like scores, got {array.shape}")
    if array.dtype == np.bool_ or array.dtype.kind not in "iu":
        raise ValueError(f"groups should be integers (labels or clusters), got dtype {array.dtype}")
    ids, codes = np.unique(array, return_inverse=True)
    return ids.astype(np.int64), codes.astype(np.int64).reshape(-1)


def check_pins(name: str, pins: object, n: int) -> np.ndarray:
    """Pinned row indices (``always_keep`` / ``always_drop``) in [0, n): sorted unique int64."""
    array = np.asarray(pins)
    if array.size == 0:
        return np.empty(0, dtype=np.int64)
    if array.ndim != 1 or array.dtype == np.bool_ or array.dtype.kind not in "iu":
        raise ValueError(f"{name} should be a 1-D sequence of integer indices")
    out = np.unique(array.astype(np.int64))
    bad = out[(out < 0) | (out >= n)]
    if bad.size:
        raise ValueError(f"{name} has {bad.size} index(es) outside [0, {n}): e.g. {int(bad[0])}")
    return out


# ----------------------------------------------------------------------------- training records


def check_no_objects(array: np.ndarray, name: str) -> None:
    """Reject object arrays (a records file must hold plain numeric or str arrays)."""
    if array.dtype.kind == "O":
        raise ValueError(f"{name}: object arrays are not accepted; save numeric arrays")


def check_per_class_array(values: Any, name: str) -> np.ndarray:
    """Per-epoch, per-class outputs (``logits`` / ``probs``): a finite real array of shape
    (n_epochs, n, c) with n_epochs >= 1, n >= 2, c >= 2; float dtypes are kept, integers become
    float64. The message names the count and first rows of examples with NaN/inf."""
    array = np.asarray(values)
    check_no_objects(array, name)
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{name} should be real numbers, got dtype {array.dtype}")
    if array.ndim != 3:
        raise ValueError(f"{name} should be 3-D (n_epochs, n, c), got shape {array.shape}")
    n_epochs, n, c = array.shape
    if n_epochs < 1:
        raise ValueError(f"{name} should hold at least 1 epoch, got n_epochs=0 ({array.shape})")
    if n < 2:
        raise ValueError(f"{name} should hold at least 2 examples, got n={n} ({array.shape})")
    if c < 2:
        raise ValueError(f"{name} should have at least 2 classes, got c={c} ({array.shape})")
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    bad = np.zeros(n, dtype=bool)
    for epoch in range(n_epochs):  # one epoch at a time: no (n_epochs, n, c) temporary
        bad |= ~np.isfinite(array[epoch]).all(axis=1)
    rows = np.flatnonzero(bad)
    if rows.size:
        raise ValueError(
            f"{name}: {rows.size} of {n} examples have NaN or inf values in some epoch "
            f"(rows {name_some(rows.tolist())})"
        )
    return array


def looks_like_probabilities(array: np.ndarray) -> bool:
    """Whether a checked (n_epochs, n, c) array holds values in [0, 1] with every row summing to
    1 within :data:`PROB_TOLERANCE` (EL2N's ``kind="auto"``); a test, never an error."""
    for epoch in range(array.shape[0]):
        block = array[epoch]
        if block.min() < 0 or block.max() > 1:
            return False
        if np.abs(block.sum(axis=1, dtype=np.float64) - 1.0).max() > PROB_TOLERANCE:
            return False
    return True


def check_probabilities(array: np.ndarray) -> None:
    """Raise ValueError unless a checked (n_epochs, n, c) ``probs`` array is in [0, 1] with
    every row summing to 1 within :data:`PROB_TOLERANCE` (count and first rows named)."""
    n = array.shape[1]
    out_of_range = np.zeros(n, dtype=bool)
    bad_sum = np.zeros(n, dtype=bool)
    for epoch in range(array.shape[0]):
        block = array[epoch]
        out_of_range |= ((block < 0) | (block > 1)).any(axis=1)
        bad_sum |= np.abs(block.sum(axis=1, dtype=np.float64) - 1.0) > PROB_TOLERANCE
    rows = np.flatnonzero(out_of_range)
    if rows.size:
        raise ValueError(
            f"probs: {rows.size} of {n} examples have values outside [0, 1] "
            f"(rows {name_some(rows.tolist())}); save softmax outputs as 'probs' or raw "
            "outputs as 'logits'"
        )
    rows = np.flatnonzero(bad_sum)
    if rows.size:
        raise ValueError(
            f"probs: {rows.size} of {n} examples have rows that do not sum to 1 "
            f"(within {PROB_TOLERANCE}; rows {name_some(rows.tolist())})"
        )


def check_correct(values: Any) -> np.ndarray:
    """Training accuracy per presentation: (n_epochs, n) bool from bool or 0/1 integers (or
    floats exactly 0/1), n_epochs >= 1, n >= 2."""
    array = np.asarray(values)
    check_no_objects(array, "correct")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"correct should be bool or 0/1 integers, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"correct should be 2-D (n_epochs, n), got shape {array.shape}")
    n_epochs, n = array.shape
    if n_epochs < 1:
        raise ValueError(f"correct should hold at least 1 epoch, got n_epochs=0 ({array.shape})")
    if n < 2:
        raise ValueError(f"correct should hold at least 2 examples, got n={n} ({array.shape})")
    if array.dtype.kind == "b":
        return array
    bad = np.flatnonzero(((array != 0) & (array != 1)).any(axis=0))
    if bad.size:
        values_seen = np.unique(array[:, bad[:_N_NAMED]])
        raise ValueError(
            f"correct should hold only 0/1 (or bool); {bad.size} of {n} examples have other "
            f"values (rows {name_some(bad.tolist())}; values {name_some(values_seen.tolist())})"
        )
    return array.astype(bool)


def check_labels_in_range(values: Any, n: int, n_classes: int | None) -> np.ndarray:
    """Class indices of the records: (n,) integers in [0, n_classes) (any non-negative integers
    when ``n_classes`` is None), returned as int64; out-of-range rows and values are named."""
    array = np.asarray(values)
    check_no_objects(array, "labels")
    if array.ndim != 1:
        raise ValueError(f"labels should be 1-D with n={n} entries, got shape {array.shape}")
    if array.shape[0] != n:
        raise ValueError(f"labels has {array.shape[0]} entries but the records have n={n}")
    if array.dtype.kind not in "iu":
        raise ValueError(
            f"labels should be integer class indices in [0, c), got dtype {array.dtype}"
        )
    codes = array.astype(np.int64)
    bad = codes < 0 if n_classes is None else (codes < 0) | (codes >= n_classes)
    rows = np.flatnonzero(bad)
    if rows.size:
        where = "[0, c)" if n_classes is None else f"[0, c={n_classes})"
        raise ValueError(
            f"labels should lie in {where}; {rows.size} of {n} are outside "
            f"(rows {name_some(rows.tolist())}; values "
            f"{name_some(codes[rows[:_N_NAMED]].tolist())})"
        )
    return codes
