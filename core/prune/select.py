"""Choosing which examples to keep from per-example scores (higher = harder)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.validate import (
    check_ccs_beta,
    check_ccs_strata,
    check_choice,
    check_fraction,
    check_groups,
    check_int,
    check_min_ratio,
    check_pins,
    check_scores,
    check_seed,
)

STRATEGIES = ("keep_hard", "keep_easy", "random", "ccs", "moderate", "middle_band")
#: Strategies that rank by the embeddings (and labels), not by ``scores``.
EMBEDDING_STRATEGIES = ("moderate",)
#: CCS hard-cutoff beta by pruning rate (1 - keep fraction), after Zheng et al., "Coverage-centric
#: coreset selection for high pruning rates", ICLR 2023: their CIFAR-10 settings cut nothing at
#: low rates and more as the rate grows (their README runs 90% pruning with ``--mis-ratio 0.3``).
#: ``default_ccs_beta`` interpolates linearly between these points and holds the ends.
CCS_BETA_SCHEDULE = ((0.0, 0.0), (0.5, 0.0), (0.7, 0.1), (0.8, 0.1), (0.9, 0.3), (1.0, 0.3))
#: Former fixed default beta, kept for reference; the default is now ``default_ccs_beta(f)``.
DEFAULT_CCS_BETA = 0.1
DEFAULT_CCS_STRATA = 50


@dataclass(frozen=True, eq=False, slots=True)
class Selection:
    """The examples kept by one pruning decision.

    Attributes
    ----------
    kept_indices : ndarray of shape (m,), int64, sorted ascending
    keep_fraction : float
        Requested fraction; ``m == kept_count(n_total, keep_fraction)``.
    strategy : str
        One of ``STRATEGIES``.
    n_total : int
        Number of examples scored.
    balance_by : str or None
        Name of what ``groups`` were (e.g. ``"label"``, ``"cluster"``), recorded only.
    min_ratio : float
        Balance ratio r in [0, 1].
    group_quota : dict of int -> int, or None
        Guaranteed kept count per group (None without groups).
    always_keep : ndarray of shape (p,), int64, sorted unique
    always_drop : ndarray of shape (q,), int64, sorted unique
    seed : int
    ccs_beta : float or None
        Hard-cutoff fraction of the ``ccs`` strategy (None for the other strategies).
    ccs_strata : int or None
        Number of equal-width score strata of the ``ccs`` strategy (None for the others).
    """

    kept_indices: np.ndarray
    keep_fraction: float
    strategy: str
    n_total: int
    balance_by: str | None
    min_ratio: float
    group_quota: dict[int, int] | None
    always_keep: np.ndarray
    always_drop: np.ndarray
    seed: int
    ccs_beta: float | None = None
    ccs_strata: int | None = None

    @property
    def n_kept(self) -> int:
        """Number of kept examples."""
        return int(self.kept_indices.shape[0])

    def mask(self) -> np.ndarray:
        """Boolean array of shape (n_total,), True for kept examples."""
        out = np.zeros(self.n_total, dtype=bool)
        out[self.kept_indices] = True
        return out


def kept_count(n: int, keep_fraction: float) -> int:
    """Number of examples kept out of ``n`` at ``keep_fraction``: ``floor(keep_fraction * n + 0.5)``.

    That is ``keep_fraction * n`` rounded half up, so ``0.5 * 5 -> 3``, ``0.1 * 15 -> 2`` and
    ``0.7 * 45 -> 32``: the product is first rounded to 9 decimals so that decimal fractions act
    as written (float64 gives ``0.7 * 45 = 31.499999999999996``). It is non-decreasing in
    ``keep_fraction``, 0 at 0 and ``n`` at 1.

    Parameters
    ----------
    n : int
        Number of examples, >= 0.
    keep_fraction : float
        In [0, 1].

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If ``n`` is not a non-negative int or ``keep_fraction`` is not a number in [0, 1].
    """
    n = check_int("n", n, low=0)
    keep_fraction = check_fraction(keep_fraction)
    return _kept_count(n, keep_fraction)


def default_ccs_beta(keep_fraction: float) -> float:
    """CCS hard-cutoff beta recommended for ``keep_fraction``: :data:`CCS_BETA_SCHEDULE` at the
    pruning rate ``1 - keep_fraction``, linearly interpolated (0 down to 50% pruning, 0.1 at
    70-80%, 0.3 at 90% and beyond).

    Parameters
    ----------
    keep_fraction : float
        In [0, 1].

    Returns
    -------
    float
        In [0, 0.3], rounded to 6 decimals.

    Raises
    ------
    ValueError
        If ``keep_fraction`` is not a number in [0, 1].
    """
    rate = 1.0 - check_fraction(keep_fraction)
    xs, ys = zip(*CCS_BETA_SCHEDULE, strict=True)
    return round(float(np.interp(rate, xs, ys)), 6)


def moderate_distances(embeddings: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """Moderate-DS distances (Xia et al., ICLR 2023): each row's Euclidean distance to the
    element-wise median feature vector of its class (of all rows when ``labels`` is None).

    Parameters
    ----------
    embeddings : array_like of shape (n, d)
        Finite feature vectors.
    labels : array_like of shape (n,) of int, or None
        Class of each row; None means one class (the global median vector).

    Returns
    -------
    ndarray of shape (n,), float64

    Raises
    ------
    ValueError
        If embeddings are not a finite 2-D numeric array or labels are not n integers.
    """
    x = _moderate_embeddings(embeddings, None)
    codes = None if labels is None else check_groups(labels, x.shape[0])[1]
    return _moderate_distances(x, codes)


def select_kept(
    scores: np.ndarray,
    keep_fraction: float,
    *,
    strategy: str = "keep_hard",
    groups: np.ndarray | None = None,
    balance_by: str | None = None,
    min_ratio: float = 0.0,
    seed: int = 0,
    always_keep: Sequence[int] | np.ndarray = (),
    always_drop: Sequence[int] | np.ndarray = (),
    ccs_beta: float | None = None,
    ccs_strata: int = DEFAULT_CCS_STRATA,
    embeddings: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> Selection:
    """Keep exactly ``kept_count(n, keep_fraction)`` examples chosen by ``strategy``.

    Order of preference: ``keep_hard`` = highest scores first (scores are higher = harder),
    ``keep_easy`` = lowest first, ``random`` = a permutation seeded by ``seed`` (scores ignored),
    ``ccs``, ``moderate`` and ``middle_band`` as below. Equal scores are ordered by index (lower
    first), so results are deterministic. Without ``groups`` the kept set is the first K of that
    order: for the same scores, strategy, seed and pins, the set kept at a smaller fraction is a
    subset of the set kept at a larger one. ``ccs``, ``moderate`` and ``middle_band`` are nested
    in the same way, also with ``groups`` as long as ``min_ratio`` is 0 (``ccs`` only at a fixed
    ``ccs_beta``: its default beta changes with the fraction).

    The last three strategies are run on the *pool*: the examples not pinned either way (pins are
    set aside first, and the K - p places left after p keep-pins are filled from the pool).
    With ``groups`` (balance asked for), ``ccs`` and ``middle_band`` run within each group (the
    group's own cutoff, strata or median); ``moderate`` always ranks the whole pool together, as
    published. Balance quotas then apply as for every strategy.

    ``ccs`` -- coverage-centric coreset selection (Zheng et al., ICLR 2023): the hardest
    ``ccs_beta`` fraction of the pool, ``floor(ccs_beta * m + 0.5)`` of its m examples (highest
    scores, ties by index), is cut first (likely mislabelled or unlearnable); the range
    [min, max] of the remaining scores is split into ``ccs_strata`` equal-width strata and the
    budget is water-filled over them: every non-empty stratum gets an equal share, capped by its
    size, until the budget is spent, and the members kept inside a stratum are a uniform random
    sample seeded by ``seed``. It is implemented as a round-robin order (round j takes the j-th
    member of a seeded permutation of every stratum still holding one, the strata of one round
    in seeded random order), whose first K give each stratum ``min(size, L)`` places and one
    more to some of the strata larger than L -- the water-filling allocation -- so every
    non-empty stratum keeps at least one example when K >= the number of non-empty strata. If K
    exceeds the examples left after the cut, the cut examples are taken back least hard first
    (lowest score, ties by index), so the count stays exact.

    The default ``ccs_beta`` (None) is :func:`default_ccs_beta` of ``keep_fraction``: 0 down to
    50% pruning, growing to 0.3 at 90% (Zheng et al.'s settings, interpolated).

    ``moderate`` -- Moderate-DS as published (Xia et al., ICLR 2023; tmllab/Moderate-DS
    ``selection.py``): needs ``embeddings``; ``scores`` are not used to choose. Each example's
    distance is :func:`moderate_distances` (Euclidean, to the element-wise median feature vector
    of its class in ``labels``, computed over all n rows; without labels one class, the global
    median vector). The pool is ranked by distance ascending (ties by index), all classes
    together, and the kept examples are the band of ranks around the middle: the published rule
    keeps ranks ``[round(m(0.5 - f/2)), round(m(0.5 + f/2)))``, whose size can differ from K by
    one; here the band has exactly K - p ranks, centred (when it cannot be exactly centred, the
    extra rank is the lower-distance one), i.e. ranks ``[floor((m - K')/2), floor((m - K')/2) +
    K')`` for ``K' = K - p`` of the pool's m. Its preference order (nearest the middle rank
    first) makes it nested.

    ``middle_band`` -- the examples whose *score* is closest to the median score:
    ``|score - median|`` ascending (the median of the pool, or of the example's group with
    ``groups``), ties by index. A cheap score-only cousin of Moderate-DS, not the published rule.

    Balance: with ``groups`` (class labels or clusters) and ratio r = ``min_ratio``, each of the G
    groups present gets the quota ``q_g = min(a_g, ceil(r * K / G))``, where ``a_g`` is its number
    of members not in ``always_drop``; its ``q_g`` best members (in the strategy's order) are
    kept first, then the remaining places go to the best of everything else. If the quotas
    (counting kept pins inside a group toward its quota) add up to more than K, they are lowered
    by water-filling: all quotas are capped at one common level, the largest that fits, and the
    places left over go one each to groups in ascending group id. Without pins this guarantees
    every group keeps at least ``min(a_g, floor(r * K / G))`` -- and ``min(a_g, ceil(r * K / G))``
    whenever those ceiling quotas fit in K. The final quotas are in ``Selection.group_quota``.

    Pins: ``always_keep`` indices are always kept and ``always_drop`` never kept; the kept count
    stays exactly K (pins use up places; the rest follow the strategy).

    Parameters
    ----------
    scores : array_like of shape (n,)
        Finite real scores, higher = harder.
    keep_fraction : float
        In [0, 1].
    strategy : {"keep_hard", "keep_easy", "random", "ccs", "moderate", "middle_band"}
    groups : array_like of shape (n,) of int, or None
        Group of each example, for balancing (and the units within which ``ccs`` and
        ``middle_band`` run).
    balance_by : str or None
        Name recorded in the Selection (needs ``groups``).
    min_ratio : float
        Balance ratio r in [0, 1] (> 0 needs ``groups``); 0 means no quotas.
    seed : int
        Seed of the ``random`` and ``ccs`` strategies.
    always_keep, always_drop : sequence of int
        Indices in [0, n); duplicates are ignored.
    ccs_beta : float or None
        ``ccs`` only: hard-cutoff fraction in [0, 1); None (default) = ``default_ccs_beta(f)``.
        Validated for every strategy.
    ccs_strata : int
        ``ccs`` only: number of equal-width score strata, >= 1 (default 50).
    embeddings : array_like of shape (n, d), or None
        ``moderate`` only (required there): the feature vectors.
    labels : array_like of shape (n,) of int, or None
        ``moderate`` only: classes for the per-class median vectors (None = one class).

    Returns
    -------
    Selection

    Raises
    ------
    ValueError
        Bad scores (not 1-D, empty, non-finite), keep_fraction outside [0, 1], unknown strategy,
        groups of the wrong length or not integers, min_ratio outside [0, 1] or > 0 without
        groups, balance_by without groups, pin indices out of range, an index in both pin lists,
        more keep-pins than K, fewer than K examples left after always_drop (the messages
        name the counts), ccs_beta outside [0, 1) or ccs_strata not an integer >= 1,
        ``moderate`` without embeddings or with embeddings / labels of the wrong shape.
    """
    values = check_scores(scores)
    n = values.shape[0]
    keep_fraction = check_fraction(keep_fraction)
    strategy = check_choice("strategy", strategy, STRATEGIES)
    seed = check_seed(seed)
    min_ratio = check_min_ratio(min_ratio)
    ccs_beta = default_ccs_beta(keep_fraction) if ccs_beta is None else check_ccs_beta(ccs_beta)
    ccs_strata = check_ccs_strata(ccs_strata)
    moderate = None
    if strategy == "moderate":
        if embeddings is None:
            raise ValueError("strategy='moderate' (Moderate-DS) needs embeddings")
        x = _moderate_embeddings(embeddings, n)
        label_codes = None if labels is None else check_groups(labels, n)[1]
        moderate = _moderate_distances(x, label_codes)
    codes: np.ndarray | None = None
    group_ids: np.ndarray | None = None
    if groups is not None:
        group_ids, codes = check_groups(groups, n)
    else:
        if min_ratio > 0:
            raise ValueError(f"min_ratio={min_ratio} needs groups to balance over")
        if balance_by is not None:
            raise ValueError(f"balance_by={balance_by!r} needs groups")
    keep_pins = check_pins("always_keep", always_keep, n)
    drop_pins = check_pins("always_drop", always_drop, n)
    k = _kept_count(n, keep_fraction)
    _check_pin_counts(keep_pins, drop_pins, n, k, keep_fraction)

    if moderate is not None:
        order = _moderate_order(moderate, keep_pins, drop_pins)
    elif strategy in ("ccs", "middle_band"):
        order = _pool_order(
            values, strategy, int(seed), codes, keep_pins, drop_pins, ccs_beta, ccs_strata
        )
    else:
        order = _preference_order(values, strategy, int(seed))
    kept, quota = _select(order, k, keep_pins, drop_pins, codes, group_ids, min_ratio)
    return Selection(
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
        ccs_beta=ccs_beta if strategy == "ccs" else None,
        ccs_strata=ccs_strata if strategy == "ccs" else None,
    )


# ----------------------------------------------------------------------------- validation


def _moderate_embeddings(embeddings: object, n: int | None) -> np.ndarray:
    x = np.asarray(embeddings)
    if x.ndim != 2 or min(x.shape) < 1 or (n is not None and x.shape[0] != n):
        want = "(n, d)" if n is None else f"({n}, d) like scores"
        raise ValueError(f"embeddings should have shape {want}, got {x.shape}")
    if x.dtype == np.bool_ or x.dtype.kind not in "fiu":
        raise ValueError(f"embeddings should be real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    if not np.isfinite(x).all():
        raise ValueError("embeddings contain NaN or inf")
    return x


def _check_pin_counts(
    keep_pins: np.ndarray, drop_pins: np.ndarray, n: int, k: int, keep_fraction: float
) -> None:
    both = np.intersect1d(keep_pins, drop_pins)
    if both.size:
        first = ", ".join(str(int(i)) for i in both[:5])
        raise ValueError(
            f"{both.size} index(es) are in both always_keep and always_drop; first: {first}"
        )
    if keep_pins.size > k:
        raise ValueError(
            f"always_keep has {keep_pins.size} indices but only K={k} examples are kept "
            f"(keep_fraction={keep_fraction}, n={n})"
        )
    if n - drop_pins.size < k:
        raise ValueError(
            f"always_drop has {drop_pins.size} indices, leaving {n - drop_pins.size} of n={n} "
            f"examples, fewer than the K={k} to keep (keep_fraction={keep_fraction})"
        )


# ----------------------------------------------------------------------------- selection


def _kept_count(n: int, keep_fraction: float) -> int:
    # Round the product to 9 decimals first: in binary 0.7 * 45 is 31.499999999999996, and the
    # documented rule must see 31.5 (so 32 are kept), as a user reading "0.7 of 45" expects.
    return min(n, math.floor(round(keep_fraction * n, 9) + 0.5))


def _preference_order(values: np.ndarray, strategy: str, seed: int) -> np.ndarray:
    """All indices, most preferred first; ties by index (stable lexsort, index as tiebreak)."""
    index = np.arange(values.shape[0])
    if strategy == "keep_hard":
        return np.lexsort((index, -values))
    if strategy == "keep_easy":
        return np.lexsort((index, values))
    return np.random.default_rng(seed).permutation(values.shape[0])


def _pool_order(
    values: np.ndarray,
    strategy: str,
    seed: int,
    codes: np.ndarray | None,
    keep_pins: np.ndarray,
    drop_pins: np.ndarray,
    beta: float,
    n_strata: int,
) -> np.ndarray:
    """Preference order of ``ccs`` / ``middle_band`` over the unpinned pool (per group when
    ``codes`` is given), pinned indices appended last (``_select`` skips them)."""
    n = values.shape[0]
    pinned = np.zeros(n, dtype=bool)
    pinned[keep_pins] = True
    pinned[drop_pins] = True
    pool = np.flatnonzero(~pinned)
    unit = np.zeros(n, dtype=np.int64) if codes is None else codes
    if strategy == "middle_band":
        distance = np.zeros(n)
        for u in np.unique(unit[pool]):
            members = pool[unit[pool] == u]
            distance[members] = np.abs(values[members] - np.median(values[members]))
        order = pool[np.lexsort((pool, distance[pool]))]
    else:
        order = _ccs_order(values, pool, unit, beta, n_strata, seed)
    return np.concatenate([order, np.flatnonzero(pinned)]).astype(np.int64)


def _moderate_distances(x: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """Distance of each row of x (n, d) float64 to the median vector of its class."""
    unit = np.zeros(x.shape[0], dtype=np.int64) if codes is None else codes
    distance = np.empty(x.shape[0], dtype=np.float64)
    for u in np.unique(unit):
        members = np.flatnonzero(unit == u)
        distance[members] = np.linalg.norm(x[members] - np.median(x[members], axis=0), axis=1)
    return distance


def _moderate_order(
    distance: np.ndarray, keep_pins: np.ndarray, drop_pins: np.ndarray
) -> np.ndarray:
    """Pool ranks by distance ascending (ties by index), then nearest the middle rank first:
    the first K' are the centred band of K' ranks; pinned indices appended last."""
    n = distance.shape[0]
    pinned = np.zeros(n, dtype=bool)
    pinned[keep_pins] = True
    pinned[drop_pins] = True
    pool = np.flatnonzero(~pinned)
    by_distance = pool[np.lexsort((pool, distance[pool]))]
    rank = np.arange(by_distance.shape[0])
    # |2r - (m - 1)| is twice the distance to the middle rank; on a tie the lower rank first.
    offset = np.abs(2 * rank - (by_distance.shape[0] - 1))
    order = by_distance[np.lexsort((rank, offset))]
    return np.concatenate([order, np.flatnonzero(pinned)]).astype(np.int64)


def _ccs_order(
    values: np.ndarray, pool: np.ndarray, unit: np.ndarray, beta: float, n_strata: int, seed: int
) -> np.ndarray:
    """Round-robin over the score strata of every unit, then the cut examples least hard first."""
    rng = np.random.default_rng(seed)
    n = values.shape[0]
    cell = np.full(n, -1, dtype=np.int64)  # stratum id (unique across units); -1 = cut
    for u_i, u in enumerate(np.unique(unit[pool])):
        members = pool[unit[pool] == u]
        hardest_first = members[np.lexsort((members, -values[members]))]
        rest = hardest_first[_kept_count(members.shape[0], beta) :]
        if not rest.size:
            continue
        low, high = float(values[rest].min()), float(values[rest].max())
        stratum = np.zeros(rest.shape[0], dtype=np.int64)
        if high > low:  # equal-width strata; the maximum belongs to the last one
            # Halved so that the span of extreme finite scores cannot overflow to inf.
            position = (values[rest] / 2 - low / 2) / (high / 2 - low / 2) * n_strata
            stratum = np.minimum(np.floor(position), n_strata - 1).astype(np.int64)
        cell[rest] = u_i * n_strata + stratum
    # Both keys are drawn for every index so the order depends on the pool only through `cell`.
    within: np.ndarray = rng.random(size=(n,))
    across: np.ndarray = rng.random(size=(n,))
    rows = pool[cell[pool] >= 0]
    by_cell = rows[np.lexsort((within[rows], cell[rows]))]  # seeded permutation of each stratum
    sorted_cells = cell[by_cell]
    starts = np.searchsorted(sorted_cells, sorted_cells, side="left")
    round_of = np.empty(n, dtype=np.int64)
    round_of[by_cell] = np.arange(by_cell.shape[0]) - starts  # rank inside its stratum
    stratified = rows[np.lexsort((across[rows], round_of[rows]))]
    cut = pool[cell[pool] < 0]
    return np.concatenate([stratified, cut[np.lexsort((cut, values[cut]))]])


def _water_fill(extra: np.ndarray, budget: int) -> np.ndarray:
    """Lower ``extra`` (ints >= 0) to sum to at most ``budget``: cap at the largest common level
    that fits, then give one more to capped groups in ascending order while places remain."""
    if int(extra.sum()) <= budget:
        return extra
    low, high = 0, int(extra.max())
    while low < high:  # largest level L with sum(min(extra, L)) <= budget
        mid = (low + high + 1) // 2
        if int(np.minimum(extra, mid).sum()) <= budget:
            low = mid
        else:
            high = mid - 1
    filled = np.minimum(extra, low)
    left = budget - int(filled.sum())
    capped = np.flatnonzero(extra > low)
    filled[capped[:left]] += 1
    return filled


def group_quotas(
    group_ids: np.ndarray,
    members: np.ndarray,
    kept_pinned: np.ndarray,
    dropped: np.ndarray,
    k: int,
    min_ratio: float,
) -> tuple[np.ndarray, dict[int, int]]:
    """The balance rule of :func:`select_kept` for validated counts: per group (members,
    keep-pinned and drop-pinned members, in ``group_ids`` order), the places its best unpinned
    members get first, and the final quota of each group id (those places + its kept pins)."""
    n_groups = group_ids.shape[0]
    target = math.ceil(min_ratio * k / n_groups) if n_groups else 0
    base = np.minimum(members - dropped, target)
    extra = _water_fill(np.maximum(base - kept_pinned, 0), k - int(kept_pinned.sum()))
    quota = {int(g): int(q) for g, q in zip(group_ids, kept_pinned + extra, strict=True)}
    return extra, quota


def _select(
    order: np.ndarray,
    k: int,
    keep_pins: np.ndarray,
    drop_pins: np.ndarray,
    codes: np.ndarray | None,
    group_ids: np.ndarray | None,
    min_ratio: float,
) -> tuple[np.ndarray, dict[int, int] | None]:
    """Kept indices (sorted int64) and final per-group quotas; assumes validated input."""
    n = order.shape[0]
    pinned = np.zeros(n, dtype=bool)
    pinned[keep_pins] = True
    pinned[drop_pins] = True
    candidates = order[~pinned[order]]  # preference order without any pinned index
    slots = k - keep_pins.size

    quota: dict[int, int] | None = None
    chosen = np.empty(0, dtype=np.int64)
    if codes is not None and group_ids is not None:
        n_groups = group_ids.shape[0]
        extra, quota = group_quotas(
            group_ids,
            np.bincount(codes, minlength=n_groups),
            np.bincount(codes[keep_pins], minlength=n_groups),
            np.bincount(codes[drop_pins], minlength=n_groups),
            k,
            min_ratio,
        )
        if extra.any():
            cand_codes = codes[candidates]
            # Same order as sorting the int64 codes; the narrowest type lets numpy radix-sort.
            narrow = cand_codes.astype(np.min_scalar_type(max(n_groups - 1, 0)), copy=False)
            by_group = np.argsort(narrow, kind="stable")
            sorted_codes = cand_codes[by_group]
            first = np.searchsorted(sorted_codes, np.arange(n_groups))
            rank = np.empty(candidates.shape[0], dtype=np.int64)
            rank[by_group] = np.arange(candidates.shape[0]) - first[sorted_codes]
            take = rank < extra[cand_codes]
            chosen = candidates[take]
            candidates = candidates[~take]
    rest = candidates[: slots - chosen.shape[0]]
    kept = np.sort(np.concatenate([keep_pins, chosen, rest]).astype(np.int64))
    return kept, quota
