"""Small computations the app shows beside the scores: cut neighbours, cluster extremes, groups.

Every function is pure numpy on arrays (no streamlit, no plotting). Scores are oriented
**higher = harder**, as everywhere in prunescope.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.prune.select import STRATEGIES


@dataclass(frozen=True, eq=False, slots=True)
class CutNeighbours:
    """The examples either side of a score cut.

    Attributes
    ----------
    just_kept : ndarray of shape (m,), int64
        Kept rows nearest the cut, nearest first.
    just_pruned : ndarray of shape (m,), int64
        Pruned rows nearest the cut, nearest first.
    threshold : float or None
        Midpoint between the two rows nearest the cut; None when there is no single cut
        (``random``, ``ccs``, ``moderate``, or everything / nothing kept).
    band : tuple of float, or None
        ``moderate`` only: (lowest, highest) score of the kept unpinned rows -- the edges of the
        middle band (with balance groups each group has its own band inside these edges).
    """

    just_kept: np.ndarray
    just_pruned: np.ndarray
    threshold: float | None
    band: tuple[float, float] | None = None


@dataclass(frozen=True, eq=False, slots=True)
class Grouping:
    """Per-example group codes with their display names.

    Attributes
    ----------
    codes : ndarray of shape (n,), int64
        Group code of every example, in ``[0, len(names))``.
    names : tuple of str
        Name of each code.
    kind : "class" or "cluster"
    """

    codes: np.ndarray
    names: tuple[str, ...]
    kind: str


def _scores_1d(values: np.ndarray, name: str = "values") -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"{name} should be 1-D, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contain NaN or inf values")
    return values


def _codes_1d(codes: np.ndarray, n: int, name: str) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.ndim != 1 or codes.shape[0] != n:
        raise ValueError(f"{name} should have shape ({n},), got {codes.shape}")
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"{name} should be integer codes, got dtype {codes.dtype}")
    if codes.size and codes.min() < 0:
        raise ValueError(f"{name} should be >= 0, got {int(codes.min())}")
    return codes.astype(np.int64, copy=False)


def cut_neighbours(
    values: np.ndarray,
    kept_mask: np.ndarray,
    *,
    strategy: str,
    n: int = 8,
    pinned: np.ndarray | tuple[int, ...] = (),
) -> CutNeighbours:
    """The ``n`` kept and ``n`` pruned examples nearest the score cut of a selection.

    For ``keep_hard`` the cut lies between the lowest-scored kept and the highest-scored pruned
    example (mirrored for ``keep_easy``). Ties are broken by row index. Pinned rows are kept or
    dropped whatever their score, so they are left out: an always-keep pin with a low score would
    otherwise move the cut.

    ``random``, ``ccs`` (a stratified sample over the whole score range) and ``moderate``
    (chosen by embedding distances, not scores) have no cut: empty arrays. ``middle_band``
    keeps a middle band of scores: ``band`` holds its edges, ``just_kept`` the kept
    rows nearest an edge (from inside) and ``just_pruned`` the pruned rows nearest the band
    (distance to the interval; 0 inside it, which happens with per-group bands).

    Parameters
    ----------
    values : ndarray of shape (n_examples,)
        Scores, higher = harder. Finite.
    kept_mask : ndarray of shape (n_examples,), bool
        ``Selection.mask()``.
    strategy : {"keep_hard", "keep_easy", "random", "ccs", "moderate", "middle_band"}
    n : int
        How many of each side, >= 0.
    pinned : array-like of int
        Rows pinned always-keep or always-drop (``Selection.always_keep``/``always_drop``).

    Returns
    -------
    CutNeighbours
        Empty arrays and ``threshold=None`` for ``random``, ``ccs`` and ``moderate`` or when one
        side is empty; ``threshold=None`` and ``band`` set for ``middle_band``.

    Raises
    ------
    ValueError
        For an unknown strategy, ``n < 0``, non-finite scores, a mask of another length or
        pinned rows outside ``[0, n_examples)``.
    """
    values = _scores_1d(values)
    kept_mask = np.asarray(kept_mask)
    if kept_mask.shape != values.shape or kept_mask.dtype != np.bool_:
        raise ValueError(
            f"kept_mask should be bool of shape {values.shape}, got {kept_mask.dtype} "
            f"{kept_mask.shape}"
        )
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy={strategy!r} should be one of {STRATEGIES}")
    if n < 0:
        raise ValueError(f"n={n} should be >= 0")
    pinned = np.asarray(pinned, dtype=np.int64).reshape(-1)
    if pinned.size and (pinned.min() < 0 or pinned.max() >= values.shape[0]):
        raise ValueError(
            f"pinned rows should lie in [0, {values.shape[0]}), got {pinned.min()}..{pinned.max()}"
        )
    free = np.ones(values.shape[0], dtype=bool)
    free[pinned] = False
    kept_rows = np.flatnonzero(kept_mask & free)
    pruned_rows = np.flatnonzero(~kept_mask & free)
    empty = np.zeros(0, np.int64)
    if strategy in ("random", "ccs", "moderate") or not len(kept_rows) or not len(pruned_rows):
        return CutNeighbours(empty, empty, None)
    if strategy == "middle_band":
        kept_values, pruned_values = values[kept_rows], values[pruned_rows]
        low, high = float(kept_values.min()), float(kept_values.max())
        inside = np.minimum(kept_values - low, high - kept_values)  # 0 on an edge
        outside = np.maximum(np.maximum(low - pruned_values, pruned_values - high), 0.0)
        return CutNeighbours(
            just_kept=kept_rows[np.argsort(inside, kind="stable")[:n]].astype(np.int64),
            just_pruned=pruned_rows[np.argsort(outside, kind="stable")[:n]].astype(np.int64),
            threshold=None,
            band=(low, high),
        )
    sign = 1.0 if strategy == "keep_hard" else -1.0  # keep_easy: mirror the score axis
    # Nearest the cut first; at least one each side, whose scores place the threshold.
    nearest_kept = kept_rows[_smallest(sign * values[kept_rows], max(n, 1))]
    nearest_pruned = pruned_rows[_smallest(-sign * values[pruned_rows], max(n, 1))]
    threshold = (float(values[nearest_kept[0]]) + float(values[nearest_pruned[0]])) / 2
    return CutNeighbours(
        just_kept=nearest_kept[:n].astype(np.int64),
        just_pruned=nearest_pruned[:n].astype(np.int64),
        threshold=threshold,
    )


def _smallest(keys: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` smallest ``keys``, smallest first, ties by position: exactly
    ``np.argsort(keys, kind="stable")[:n]`` for ``n >= 1``, in O(len) instead of a full sort (a
    slider move on a million examples calls this twice)."""
    if n >= keys.shape[0]:
        return np.argsort(keys, kind="stable")
    nth = keys[np.argpartition(keys, n - 1)[n - 1]]  # the n-th smallest value
    candidates = np.flatnonzero(keys <= nth)  # every tie of it included, in position order
    return candidates[np.argsort(keys[candidates], kind="stable")[:n]]


def largest_clusters(clusters: np.ndarray, n: int) -> list[int]:
    """Ids of the ``n`` largest non-empty clusters, largest first (ties: lower id first).

    Parameters
    ----------
    clusters : ndarray of shape (n_examples,), int
        Cluster code of every example, >= 0.
    n : int
        How many, >= 0.

    Returns
    -------
    list of int

    Raises
    ------
    ValueError
        For negative codes, non-integer codes or ``n < 0``.
    """
    clusters = np.asarray(clusters)
    if clusters.ndim != 1:
        raise ValueError(f"clusters should be 1-D, got shape {clusters.shape}")
    clusters = _codes_1d(clusters, clusters.shape[0], "clusters")
    if n < 0:
        raise ValueError(f"n={n} should be >= 0")
    sizes = np.bincount(clusters)
    return [int(c) for c in np.argsort(-sizes, kind="stable")[:n] if sizes[c] > 0]


def cluster_extremes(
    values: np.ndarray, clusters: np.ndarray, cluster: int, *, n: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """A cluster's ``n`` most prototypical (lowest scores) and least prototypical (highest) rows.

    Parameters
    ----------
    values : ndarray of shape (n_examples,)
        Scores, higher = harder.
    clusters : ndarray of shape (n_examples,), int
    cluster : int
        The cluster code.
    n : int
        How many of each, >= 0.

    Returns
    -------
    (typical, atypical) : ndarrays of shape (<= n,), int64
        ``typical`` easiest first, ``atypical`` hardest first; ties by row index (lower first
        among the typical, higher first among the atypical).

    Raises
    ------
    ValueError
        For mismatched shapes, non-finite scores or ``n < 0``.
    """
    values = _scores_1d(values)
    clusters = _codes_1d(clusters, values.shape[0], "clusters")
    if n < 0:
        raise ValueError(f"n={n} should be >= 0")
    members = np.flatnonzero(clusters == int(cluster))
    order = members[np.argsort(values[members], kind="stable")]
    return order[:n].astype(np.int64), order[::-1][:n].astype(np.int64)


def hardest_first(values: np.ndarray, rows: np.ndarray | list[int]) -> np.ndarray:
    """``rows`` ordered by score, hardest (highest) first; ties by row index.

    Parameters
    ----------
    values : ndarray of shape (n_examples,)
        Scores, higher = harder.
    rows : array-like of shape (m,), int
        Row indices into ``values``.

    Returns
    -------
    ndarray of shape (m,), int64

    Raises
    ------
    ValueError
        For rows outside ``[0, n_examples)``.
    """
    values = _scores_1d(values)
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    if rows.size and (rows.min() < 0 or rows.max() >= values.shape[0]):
        raise ValueError(
            f"rows should lie in [0, {values.shape[0]}), got {rows.min()}..{rows.max()}"
        )
    rows = np.sort(rows)
    return rows[np.argsort(-values[rows], kind="stable")]


def count_groups(
    *,
    labels: np.ndarray | None,
    class_names: tuple[str, ...] | list[str],
    clusters: np.ndarray | None,
) -> Grouping | None:
    """The grouping per-group counts should show: classes when labelled, else clusters.

    Parameters
    ----------
    labels : ndarray of shape (n,), int or None
        Label codes into ``class_names``.
    class_names : sequence of str
    clusters : ndarray of shape (n,), int or None
        Cluster codes (``Scores.clusters``).

    Returns
    -------
    Grouping or None
        None when there are neither labels nor clusters.

    Raises
    ------
    ValueError
        For label codes outside ``class_names`` or negative cluster codes.
    """
    if labels is not None:
        codes = _codes_1d(labels, len(labels), "labels")
        if codes.size and codes.max() >= len(class_names):
            raise ValueError(
                f"label code {int(codes.max())} should be < len(class_names)={len(class_names)}"
            )
        return Grouping(codes, tuple(str(c) for c in class_names), "class")
    if clusters is not None:
        codes = _codes_1d(clusters, len(clusters), "clusters")
        n_groups = int(codes.max()) + 1 if codes.size else 0
        return Grouping(codes, tuple(str(c) for c in range(n_groups)), "cluster")
    return None


def cluster_medians(coords: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each non-empty cluster's 2-D marker: the median of its members' coordinates.

    The median lands inside a cluster's points even where UMAP bends the cluster, and needs no
    stored projection model (unlike transforming the centroids).

    Parameters
    ----------
    coords : ndarray of shape (n, 2)
        Projected coordinates.
    clusters : ndarray of shape (n,), int

    Returns
    -------
    (cluster_ids, medians) : ndarray of shape (c,) int64 and ndarray of shape (c, 2) float32

    Raises
    ------
    ValueError
        For mismatched shapes or negative cluster codes.
    """
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise ValueError(f"coords should have shape (n, 2), got {coords.shape}")
    clusters = _codes_1d(clusters, coords.shape[0], "clusters")
    cluster_ids = np.unique(clusters)
    medians = np.array([np.median(coords[clusters == c], axis=0) for c in cluster_ids])
    return cluster_ids.astype(np.int64), medians.reshape(-1, 2).astype(np.float32)


def upscale_nearest(images: np.ndarray, *, min_size: int) -> np.ndarray:
    """Enlarge small images by an integer factor with nearest-neighbour pixels (crisp, not blurred).

    Browsers smooth small images when they scale them up, which turns 8x8 digits into blobs.

    Parameters
    ----------
    images : ndarray of shape (m, h, w) or (m, h, w, c)
    min_size : int
        The smaller side of the result is at least this (when the factor is an integer > 1),
        >= 1. Images already that large are returned unchanged.

    Returns
    -------
    ndarray of shape (m, h * s, w * s[, c]), same dtype, ``s = ceil(min_size / min(h, w))``.

    Raises
    ------
    ValueError
        For arrays that are not 3-D or 4-D, or ``min_size < 1``.
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"images should have shape (m, h, w[, c]), got {images.shape}")
    if min_size < 1:
        raise ValueError(f"min_size={min_size} should be >= 1")
    side = min(images.shape[1], images.shape[2])
    factor = -(-min_size // side) if side else 1
    if factor <= 1:
        return images
    return np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)
