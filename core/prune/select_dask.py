"""Selection over scores that stay in their Dask chunks: the rows :func:`select_kept` keeps.

:func:`select_kept_dask` takes the chunked scores of
:func:`core.scores.distributed.score_blocks_dask` and keeps exactly the rows that
:func:`core.prune.select.select_kept` keeps for the ``keep_hard``, ``keep_easy`` and ``random``
strategies, with pins and balance (by label or by cluster), without bringing the n scores to
one process. What crosses to the client is small: group counts, a sample of each chunk's
candidates per round, and at the end the kept rows.

How. Every strategy here is a total order on the rows: by key (``-score`` to keep the hardest,
``score`` the easiest, the position in the seeded permutation for ``random``), ties by row
index, written as one complex number ``key + 1j * row`` (NumPy sorts and compares complex
numbers by real part, then imaginary part). Keeping the first ``w`` rows of a set in that order
is keeping the rows below one *bound*: the (w+1)-th smallest value. A bound is found in rounds:
each chunk reports how many of its rows lie below the current bracket ``[low, high)`` and
either all of its rows inside (a few) or every s-th of them; from those samples the client
knows, for each sampled value, the count below it to within s rows per chunk, and narrows the
bracket to values whose counts are certain to straddle ``w``. Each round shrinks the bracket by
about the sample size; when the samples stop narrowing it, the next round asks for everything.
Balance follows :func:`core.prune.select.group_quotas` (the same counts, so the same quotas):
one bound per group for its first places, then one bound over the rows not yet chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from core._progress import ProgressFn, report
from core.prune.balance import normalize_balance
from core.prune.select import (
    STRATEGIES,
    Selection,
    _check_pin_counts,
    _kept_count,
    group_quotas,
)
from core.validate import (
    check_choice,
    check_fraction,
    check_groups,
    check_min_ratio,
    check_pins,
    check_seed,
)

if TYPE_CHECKING:
    from core.scores.distributed import ScoredBlocks

#: Strategies whose selection runs on the chunks (the others need all scores in one place).
DASK_STRATEGIES = ("keep_hard", "keep_easy", "random")
#: Sampled values a chunk sends per round, over all groups still searched.
_SAMPLE_BUDGET = 4096
_MIN_SAMPLE = 32
_LOWEST = complex(-np.inf, 0.0)
_HIGHEST = complex(np.inf, 0.0)


@dataclass(frozen=True, eq=False, slots=True)
class KeptRows:
    """What :func:`select_kept_dask` brings back: the selection and the kept rows' scores.

    Attributes
    ----------
    selection : Selection
        As :func:`core.prune.select.select_kept` returns for the same scores and options.
    values : ndarray of shape (m,), float64
        The kept rows' scores, in ``selection.kept_indices`` order.
    clusters : ndarray of shape (m,), int64
        The kept rows' clusters, same order.
    rounds : int
        Sampling rounds the bounds took (each one small task per chunk).
    """

    selection: Selection
    values: np.ndarray
    clusters: np.ndarray
    rounds: int


class _ChunkSpec(NamedTuple):
    """What a chunk's tasks need besides its scores: its rows, pins and groups."""

    lo: int
    hi: int
    keep: np.ndarray  # local positions of always_keep rows
    drop: np.ndarray  # local positions of always_drop rows
    rank: np.ndarray | None  # ``random``: position of each row in the seeded permutation
    label_codes: np.ndarray | None  # balance by label: group code of each row


def select_kept_dask(
    scored: ScoredBlocks,
    keep_fraction: float,
    *,
    strategy: str = "keep_hard",
    balance_by: str | None = None,
    labels: np.ndarray | None = None,
    min_ratio: float = 0.0,
    seed: int = 0,
    always_keep: Sequence[int] | np.ndarray = (),
    always_drop: Sequence[int] | np.ndarray = (),
    progress: ProgressFn | None = None,
) -> KeptRows:
    """Keep exactly ``kept_count(n, keep_fraction)`` rows of Dask-chunked scores: the rows
    :func:`core.prune.select.select_kept` keeps for the same options, found by tasks on the
    chunks (see the module's docstring).

    Parameters
    ----------
    scored : ScoredBlocks
        From :func:`core.scores.distributed.score_blocks_dask`.
    keep_fraction : float
        In [0, 1].
    strategy : {"keep_hard", "keep_easy", "random"}
    balance_by : {"label", "class", "cluster", "none", None}
        Balance over ``labels`` or over the scores' clusters.
    labels : ndarray of shape (n,) of int, or None
        Class labels (needed for ``balance_by="label"``; they stay on the client and travel
        to each chunk's task as that chunk's slice).
    min_ratio, seed, always_keep, always_drop
        As for :func:`core.prune.select.select_kept`.
    progress : callable (fraction, message) or None

    Returns
    -------
    KeptRows

    Raises
    ------
    ValueError
        As :func:`core.prune.select.select_kept` for the same arguments, and for a strategy
        not in :data:`DASK_STRATEGIES`.
    """
    import dask

    from core.scores.distributed import _compute, _persist

    n = scored.n
    keep_fraction = check_fraction(keep_fraction)
    if strategy in STRATEGIES and strategy not in DASK_STRATEGIES:
        raise ValueError(
            f"strategy={strategy!r} ranks with all scores in one process; on Dask chunks: "
            f"{', '.join(DASK_STRATEGIES)} (or gather the scores and use select_kept)"
        )
    strategy = check_choice("strategy", strategy, DASK_STRATEGIES)
    seed = check_seed(seed)
    min_ratio = check_min_ratio(min_ratio)
    balance_by = normalize_balance(balance_by)
    label_ids = label_codes = None
    if balance_by == "label":
        if labels is None:
            raise ValueError("balance_by='label' needs labels; there are none")
        label_ids, label_codes = check_groups(labels, n)
    elif balance_by is None and min_ratio > 0:
        raise ValueError(f"min_ratio={min_ratio} needs groups to balance over")
    keep_pins = check_pins("always_keep", always_keep, n)
    drop_pins = check_pins("always_drop", always_drop, n)
    k = _kept_count(n, keep_fraction)
    _check_pin_counts(keep_pins, drop_pins, n, k, keep_fraction)

    specs = _chunk_specs(scored.bounds, strategy, int(seed), keep_pins, drop_pins, label_codes)
    spec_nodes = _persist(*[dask.delayed(spec, traverse=False) for spec in specs])
    blocks = scored.blocks

    def run(function: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
        task = dask.delayed(function, pure=True)
        return _compute(
            *[task(b, s, strategy, *args) for b, s in zip(blocks, spec_nodes, strict=True)]
        )

    quota: dict[int, int] | None = None
    extra = np.zeros(0, dtype=np.int64)
    cluster_code: np.ndarray | None = None
    if balance_by is not None:
        report(progress, 0.0, "counting the balance groups")
        if label_codes is not None and label_ids is not None:
            group_ids, counts = label_ids, _label_counts(label_codes, keep_pins, drop_pins)
        else:
            totals = np.sum(run(_cluster_counts, int(scored.centroids.shape[0])), axis=0)
            group_ids, cluster_code, counts = _cluster_groups(totals)
        # select_kept's rule on the same counts, so the same quotas.
        extra, quota = group_quotas(group_ids, *counts, k, min_ratio)

    rounds = 0
    chosen: np.ndarray | None = None
    if extra.any():
        report(progress, 0.2, f"choosing each group's first {int(extra.sum())} places")
        units = np.flatnonzero(extra)

        def group_round(live: np.ndarray, low: np.ndarray, high: np.ndarray, cap: np.ndarray):
            return run(_bracket, cluster_code, None, units[live], low, high, cap)

        found, used = _find_bounds(group_round, extra[units])
        chosen = np.full(extra.shape[0], _LOWEST, dtype=np.complex128)
        chosen[units] = found
        rounds += used
    rest = k - keep_pins.size - int(extra.sum())
    report(progress, 0.6, f"choosing the other {rest} places")

    def rest_round(live: np.ndarray, low: np.ndarray, high: np.ndarray, cap: np.ndarray):
        return run(_bracket, cluster_code, chosen, None, low, high, cap)

    found, used = _find_bounds(rest_round, np.array([rest], dtype=np.int64))
    rounds += used
    parts = run(_kept_rows, cluster_code, chosen, found[0])
    kept = np.concatenate([part[0] for part in parts])
    if kept.shape[0] != k:  # the bounds are exact; this would be a bug here, not bad input
        raise RuntimeError(f"selected {kept.shape[0]} rows instead of {k}")
    report(progress, 1.0, f"kept {k} of {n}")
    selection = Selection(
        kept_indices=kept,
        keep_fraction=keep_fraction,
        strategy=strategy,
        n_total=n,
        balance_by=balance_by,
        min_ratio=min_ratio,
        group_quota=quota,
        always_keep=keep_pins,
        always_drop=drop_pins,
        seed=int(seed),
    )
    values = np.concatenate([part[1] for part in parts])
    clusters = np.concatenate([part[2] for part in parts])
    return KeptRows(selection, values, clusters, rounds)


# ----------------------------------------------------------------------------- client side


def _chunk_specs(
    bounds: tuple[tuple[int, int], ...],
    strategy: str,
    seed: int,
    keep_pins: np.ndarray,
    drop_pins: np.ndarray,
    label_codes: np.ndarray | None,
) -> list[_ChunkSpec]:
    rank = None
    if strategy == "random":  # select_kept's order: the seeded permutation
        rank = np.empty(bounds[-1][1] if bounds else 0, dtype=np.int64)
        rank[np.random.default_rng(seed).permutation(rank.shape[0])] = np.arange(rank.shape[0])
    return [
        _ChunkSpec(
            lo,
            hi,
            _local(keep_pins, lo, hi),
            _local(drop_pins, lo, hi),
            None if rank is None else rank[lo:hi],
            None if label_codes is None else label_codes[lo:hi],
        )
        for lo, hi in bounds
    ]


def _local(pins: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return pins[np.searchsorted(pins, lo) : np.searchsorted(pins, hi)] - lo


def _label_counts(
    codes: np.ndarray, keep_pins: np.ndarray, drop_pins: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members, keep-pinned and drop-pinned members of each label group."""
    size = int(codes.max()) + 1
    members, kept, dropped = (
        np.bincount(codes[rows], minlength=size) for rows in (slice(None), keep_pins, drop_pins)
    )
    return members, kept, dropped


def _cluster_groups(
    totals: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """From (3, k) counts per cluster: the ids of the clusters present (the groups), each
    cluster's group code (-1 when absent) and the counts of the groups."""
    present = totals[0] > 0
    group_ids = np.flatnonzero(present).astype(np.int64)
    code = np.full(totals.shape[1], -1, dtype=np.int64)
    code[present] = np.arange(group_ids.shape[0])
    return group_ids, code, (totals[0][present], totals[1][present], totals[2][present])


def _find_bounds(
    run_round: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[Any, ...]],
    want: np.ndarray,
) -> tuple[np.ndarray, int]:
    """For each unit j, the bound below which exactly ``want[j]`` of its rows lie; and the
    number of rounds. ``run_round(live, low, high, cap)`` returns, per chunk, for each live
    unit: rows below ``low``, rows in ``[low, high)``, the sample step and the sample."""
    size = want.shape[0]
    low = np.full(size, _LOWEST, dtype=np.complex128)
    high = np.full(size, _HIGHEST, dtype=np.complex128)
    cap = np.zeros(size, dtype=np.int64)  # 0: the budget's share this round
    bound = np.full(size, _LOWEST, dtype=np.complex128)  # want 0: nothing below -inf
    live = np.flatnonzero(want > 0)
    rounds = 0
    while live.size:
        share = max(_MIN_SAMPLE, _SAMPLE_BUDGET // live.size)
        caps = np.where(cap[live] > 0, cap[live], share)
        results = run_round(live, low[live], high[live], caps)
        rounds += 1
        still = []
        for pos, j in enumerate(live.tolist()):
            below = sum(int(r[0][pos]) for r in results)
            inside = [(r[3][pos], int(r[2][pos]), int(r[1][pos])) for r in results]
            target = int(want[j]) - below  # rows still to take inside the bracket
            if all(step == 1 for _, step, _ in inside):
                merged = np.sort(np.concatenate([sample for sample, _, _ in inside]))
                bound[j] = merged[target] if target < merged.shape[0] else high[j]
                continue
            pivots = np.unique(np.concatenate([sample for sample, _, _ in inside]))
            fewest = np.zeros(pivots.shape[0], dtype=np.int64)
            most = np.zeros(pivots.shape[0], dtype=np.int64)
            for sample, step, count in inside:  # rows of the chunk below each pivot: bounds
                seen = np.searchsorted(sample, pivots, side="left")
                fewest += np.where(seen == 0, 0, (seen - 1) * step + 1)
                most += np.where(seen == 0, 0, np.where(seen < sample.shape[0], seen * step, count))
            # pivots[0] is the smallest row inside, with none below it: `safe` is never empty.
            safe = np.flatnonzero(most <= target)[-1]
            over = np.flatnonzero(fewest >= target + 1)
            total = sum(count for _, _, count in inside)
            width = (most[over[0]] if over.size else total) - fewest[safe]
            low[j] = pivots[safe]
            if over.size:
                high[j] = pivots[over[0]]
            # Samples that no longer narrow the bracket (few rows, many chunks): take all.
            cap[j] = total + 1 if 2 * width > total else 0
            still.append(j)
        live = np.array(still, dtype=np.int64)
    return bound, rounds


# ----------------------------------------------------------------------------- chunk tasks


def _keys(
    block: tuple[np.ndarray, ...],
    spec: _ChunkSpec,
    strategy: str,
    cluster_code: np.ndarray | None,
    chosen: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """A chunk's order values ``key + 1j * row``, group codes, unpinned mask, and the mask of
    unpinned rows its group's first places took (all False without them)."""
    values, clusters = block[0], block[1]
    m = values.shape[0]
    z = np.empty(m, dtype=np.complex128)
    if strategy == "keep_hard":
        z.real = -values
    elif strategy == "keep_easy":
        z.real = values
    else:
        assert spec.rank is not None  # select_kept_dask ships the ranks with "random"
        z.real = spec.rank
    z.imag = np.arange(spec.lo, spec.hi, dtype=np.float64)  # exact below 2**53 rows
    free = np.ones(m, dtype=bool)
    free[spec.keep] = False
    free[spec.drop] = False
    codes = spec.label_codes
    if codes is None and cluster_code is not None:
        codes = cluster_code[clusters]
    taken = np.zeros(m, dtype=bool)
    if chosen is not None and codes is not None:
        taken = free & (z < chosen[codes])
    return z, codes, free, taken


def _cluster_counts(
    block: tuple[np.ndarray, ...], spec: _ChunkSpec, strategy: str, k: int
) -> np.ndarray:
    """(3, k): rows per cluster, and of them always kept, always dropped."""
    clusters = block[1]
    return np.stack(
        [np.bincount(clusters[rows], minlength=k) for rows in (slice(None), spec.keep, spec.drop)]
    )


def _bracket(
    block: tuple[np.ndarray, ...],
    spec: _ChunkSpec,
    strategy: str,
    cluster_code: np.ndarray | None,
    chosen: np.ndarray | None,
    units: np.ndarray | None,
    low: np.ndarray,
    high: np.ndarray,
    cap: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """One round on a chunk: per unit (a group's candidates, or with ``units=None`` every
    unpinned row its group's places did not take), the rows below ``low``, the rows in
    ``[low, high)``, and all of those (step 1) or every step-th, at most ``cap`` of them."""
    z, codes, free, taken = _keys(block, spec, strategy, cluster_code, chosen)
    if units is None:
        segments = [np.sort(z[free & ~taken])]
    else:
        z, codes = z[free], None if codes is None else codes[free]
        assert codes is not None  # a group's places exist only with groups
        order = np.lexsort((z.imag, z.real, codes))
        z, codes = z[order], codes[order]
        starts = np.searchsorted(codes, units, side="left")
        ends = np.searchsorted(codes, units, side="right")
        segments = [z[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    size = len(segments)
    below = np.zeros(size, dtype=np.int64)
    count = np.zeros(size, dtype=np.int64)
    step = np.ones(size, dtype=np.int64)
    samples = []
    for j, segment in enumerate(segments):
        a = int(np.searchsorted(segment, low[j], side="left"))
        b = int(np.searchsorted(segment, high[j], side="left"))
        below[j], count[j] = a, b - a
        if b - a > cap[j]:
            step[j] = -(-(b - a) // int(cap[j]))
        samples.append(segment[a : b : int(step[j])])
    return below, count, step, samples


def _kept_rows(
    block: tuple[np.ndarray, ...],
    spec: _ChunkSpec,
    strategy: str,
    cluster_code: np.ndarray | None,
    chosen: np.ndarray | None,
    rest: complex,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A chunk's kept rows (indices into all n, ascending), their scores and clusters."""
    z, _, free, taken = _keys(block, spec, strategy, cluster_code, chosen)
    kept = taken | (free & ~taken & (z < rest))
    kept[spec.keep] = True
    local = np.flatnonzero(kept)
    return spec.lo + local, block[0][local], block[1][local]
