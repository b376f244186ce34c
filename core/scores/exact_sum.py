"""Sums of float64 values that do not depend on how the values are split or ordered.

A k-means inertia is a sum over every example. Summed with ``ndarray.sum`` (pairwise) or
``np.dot`` (BLAS, whose order changes with the thread count), its last bits depend on how the
array is laid out, so the chunks of a Dask run could not reproduce the in-memory value. Here
each value ``m * 2**e`` (``np.frexp``) is split into two integer halves of its 53-bit mantissa,
and the halves are summed exactly per exponent (``np.bincount`` of integers below 2**53, then
int64): :func:`sum_parts` of any split of the values adds up (``+``) to the same integers, and
:func:`parts_total` rounds their exact sum to the nearest float64 once.
"""

from __future__ import annotations

import math

import numpy as np

_SPLIT = 2.0**26  # |mantissa| < 2**53 = high * 2**26 + low with |high| < 2**27, |low| < 2**26
_OFFSET = 1100  # np.frexp's exponents of finite float64 values lie in [-1073, 1024]
_SLOTS = _OFFSET + 1025
_ROWS = 1 << 20  # per bincount: 2**20 halves below 2**27 sum exactly in float64 (< 2**47)


def sum_parts(values: np.ndarray) -> np.ndarray:
    """The exact sum of ``values`` as integers, (2, slots) int64; add the parts of several
    arrays with ``+`` and round with :func:`parts_total`.

    Raises
    ------
    ValueError
        If a value is NaN or infinite.
    """
    x = np.ascontiguousarray(values, dtype=np.float64).ravel()
    if not np.isfinite(x).all():
        raise ValueError("cannot sum NaN or infinite values exactly")
    parts = np.zeros((2, _SLOTS), dtype=np.int64)
    for lo in range(0, x.size, _ROWS):
        mantissa, exponent = np.frexp(x[lo : lo + _ROWS])
        whole = np.ldexp(mantissa, 53)  # integers, exactly
        high = np.trunc(whole / _SPLIT)
        low = whole - high * _SPLIT
        slot = exponent + _OFFSET
        parts[0] += np.bincount(slot, weights=high, minlength=_SLOTS).astype(np.int64)
        parts[1] += np.bincount(slot, weights=low, minlength=_SLOTS).astype(np.int64)
    return parts


def parts_total(parts: np.ndarray) -> float:
    """The float64 nearest to the exact sum that ``parts`` (from :func:`sum_parts`) hold
    (+-inf when it is beyond the largest float64)."""
    parts = np.asarray(parts, dtype=np.int64)
    exact = 0  # in units of 2**-(_OFFSET + 53)
    for slot in np.flatnonzero(parts.any(axis=0)).tolist():
        exact += ((int(parts[0, slot]) << 26) + int(parts[1, slot])) << slot
    try:
        return exact / (1 << (_OFFSET + 53))  # int / int is correctly rounded
    except OverflowError:  # beyond the largest float64, as a float sum would be
        return math.inf if exact > 0 else -math.inf


def exact_sum(values: np.ndarray) -> float:
    """``sum(values)`` rounded once: the same float64 for any order or split of the values."""
    return parts_total(sum_parts(values))
