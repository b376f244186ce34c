"""Do two difficulty scores agree? Rank correlations, kept-set overlap and the examples they
disagree on most (every score oriented higher = harder)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.prune.select import STRATEGIES, select_kept

#: Above this many examples Kendall's tau is computed on a seeded sample of this size.
KENDALL_MAX_ROWS = 50_000
COMPARE_COLUMNS = ("metric_a", "metric_b", "spearman", "kendall", "jaccard")


@dataclass(frozen=True, eq=False, slots=True)
class Comparison:
    """Pairwise agreement of several scores of the same n examples.

    Attributes
    ----------
    names : tuple of str
        The scores compared, in the given order.
    pairs : DataFrame
        One row per pair (a before b in ``names``), columns ``COMPARE_COLUMNS``.
    spearman : ndarray of shape (m, m), float64
        Spearman rank correlation matrix (1 on the diagonal).
    kept : dict of str -> ndarray of shape (n,), bool
        Each score's kept mask at ``keep_fraction`` and ``strategy``.
    keep_fraction : float
    strategy : str
    kendall_sample : int or None
        Rows sampled for Kendall's tau (None: all n).
    """

    names: tuple[str, ...]
    pairs: pd.DataFrame
    spearman: np.ndarray
    kept: dict[str, np.ndarray]
    keep_fraction: float
    strategy: str
    kendall_sample: int | None


def compare_scores(
    scores: Mapping[str, np.ndarray],
    *,
    keep_fraction: float,
    strategy: str = "keep_hard",
    seed: int = 0,
    kendall_max_rows: int = KENDALL_MAX_ROWS,
) -> Comparison:
    """Spearman, Kendall and kept-set Jaccard of every pair of scores.

    Parameters
    ----------
    scores : mapping of name -> array_like of shape (n,)
        At least two finite score arrays of the same length, each higher = harder.
    keep_fraction : float
        In (0, 1]; kept sets come from :func:`core.prune.select.select_kept`.
    strategy : str
        One of ``STRATEGIES``.
    seed : int
        Seed of the selection (random, ccs) and of the Kendall sample.
    kendall_max_rows : int
        Kendall's tau is O(n log n) but slow in practice; above this many rows it is computed on
        a seeded sample of this many rows (``Comparison.kendall_sample`` says so).

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        Fewer than two scores, lengths that differ, non-finite values, a constant score, or a
        bad keep_fraction / strategy.
    """
    values = _checked(scores)
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ValueError(f"strategy={strategy!r} is not one of {', '.join(STRATEGIES)}")
    if not 0.0 < float(keep_fraction) <= 1.0:
        raise ValueError(f"keep_fraction={keep_fraction} should be in (0, 1]")
    return _compare(values, float(keep_fraction), strategy, int(seed), int(kendall_max_rows))


def disagreements(scores_a: np.ndarray, scores_b: np.ndarray, *, top: int = 20) -> pd.DataFrame:
    """The examples whose ranks under two scores differ most.

    Ranks are percentiles in [0, 1] (average ranks for ties, 1 = hardest), so scores on
    different scales compare.

    Parameters
    ----------
    scores_a, scores_b : array_like of shape (n,)
    top : int
        How many examples to return, >= 1.

    Returns
    -------
    DataFrame
        Columns ``index, rank_a, rank_b, rank_difference`` (``rank_a - rank_b``), sorted by
        ``|rank_difference|`` descending, ties by index; at most ``top`` rows.

    Raises
    ------
    ValueError
        Lengths that differ, non-finite values or ``top`` < 1.
    """
    values = _checked({"a": scores_a, "b": scores_b})
    if int(top) < 1:
        raise ValueError(f"top={top} should be >= 1")
    rank_a, rank_b = _percentile_rank(values["a"]), _percentile_rank(values["b"])
    difference = rank_a - rank_b
    order = np.lexsort((np.arange(difference.size), -np.abs(difference)))[: int(top)]
    return pd.DataFrame(
        {
            "index": order.astype(np.int64),
            "rank_a": rank_a[order],
            "rank_b": rank_b[order],
            "rank_difference": difference[order],
        }
    )


def comparison_csv_bytes(comparison: Comparison) -> bytes:
    """The pairs table as CSV bytes (``COMPARE_COLUMNS``, ``%.6f``, ``\\n`` line endings)."""
    return comparison.pairs.to_csv(index=False, float_format="%.6f", lineterminator="\n").encode()


def jaccard(mask_a: np.ndarray, mask_b: np.ndarray) -> float:
    """|A ∩ B| / |A ∪ B| of two boolean masks (1.0 when both are empty)."""
    union = int(np.count_nonzero(mask_a | mask_b))
    return 1.0 if union == 0 else int(np.count_nonzero(mask_a & mask_b)) / union


# ----------------------------------------------------------------------------- private helpers


def _checked(scores: Mapping[str, object]) -> dict[str, np.ndarray]:
    if len(scores) < 2:
        raise ValueError(f"compare needs at least two scores, got {len(scores)}")
    values: dict[str, np.ndarray] = {}
    for name, raw in scores.items():
        array = np.asarray(raw, dtype=np.float64)
        if array.ndim != 1 or array.size < 2:
            raise ValueError(f"scores {name!r} should be 1-D with >= 2 values, got {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError(f"scores {name!r} contain NaN or inf")
        if array.min() == array.max():
            raise ValueError(f"scores {name!r} are constant: ranks are undefined")
        values[str(name)] = array
    sizes = {name: array.size for name, array in values.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"scores have different lengths: {sizes}")
    return values


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of a 1-D array, ties sharing their average rank (as ``scipy.stats.rankdata``).

    Plain numpy (one stable sort), so callers that only need ranks do not pay scipy.stats'
    import.
    """
    values = np.asarray(values)
    if values.size == 0:
        return np.empty(0, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1], True])
    group = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1
    mean_rank = (starts[:-1] + starts[1:] + 1) / 2.0  # 1-based average of each tie group
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = mean_rank[group]
    return ranks


def spearman_matrix(rows: np.ndarray) -> np.ndarray:
    """Spearman rank correlation between the rows of an (r, n) array: the Pearson correlation
    of their average ranks, (r, r) with 1 on the diagonal (ranks computed once per row)."""
    ranks = np.stack([average_ranks(row) for row in np.asarray(rows)])
    matrix = np.corrcoef(ranks)
    np.fill_diagonal(matrix, 1.0)
    return matrix


def _percentile_rank(values: np.ndarray) -> np.ndarray:
    return (average_ranks(values) - 1.0) / max(values.size - 1, 1)


def _compare(
    values: dict[str, np.ndarray], keep_fraction: float, strategy: str, seed: int, max_rows: int
) -> Comparison:
    from scipy.stats import kendalltau

    names = tuple(values)
    n = next(iter(values.values())).size
    kept = {
        name: select_kept(array, keep_fraction, strategy=strategy, seed=seed).mask()
        for name, array in values.items()
    }
    sample = None
    rows = np.arange(n)
    if n > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))
        sample = max_rows
    matrix = spearman_matrix(np.stack([values[name] for name in names]))
    records = []
    for (i, a), (j, b) in itertools.combinations(enumerate(names), 2):
        rho = float(matrix[i, j])
        tau = float(kendalltau(values[a][rows], values[b][rows]).statistic)
        records.append((a, b, rho, tau, jaccard(kept[a], kept[b])))
    pairs = pd.DataFrame.from_records(records, columns=list(COMPARE_COLUMNS))
    return Comparison(names, pairs, matrix, kept, keep_fraction, strategy, sample)
