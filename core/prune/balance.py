"""What the kept set is balanced over: one vocabulary and one way to get the balance groups.

Balancing means every group (a class label, or a prototype metric's cluster) keeps a minimum
share of the kept examples (see :func:`core.prune.select.select_kept`). The canonical names are
``"label"`` (``"class"`` is the same thing), ``"cluster"`` and ``None`` (``"none"``); they are
what ``Selection.balance_by`` and the export manifest record. The pruning-curve table shows the
display names of :data:`BALANCE_DISPLAY` (``"class"``, ``"cluster"``, ``"none"``) instead.
"""

from __future__ import annotations

import numpy as np

#: Canonical balance names (``None`` = no balance).
BALANCE_BY = ("label", "cluster")
#: Display name of each canonical balance, as the pruning-curve table writes it.
BALANCE_DISPLAY: dict[str | None, str] = {"label": "class", "cluster": "cluster", None: "none"}
_ALIASES: dict[str, str | None] = {
    "label": "label",
    "class": "label",
    "cluster": "cluster",
    "none": None,
}


def normalize_balance(balance: str | None, *, name: str = "balance_by") -> str | None:
    """The canonical balance name: ``"label"`` (also for ``"class"``), ``"cluster"`` or ``None``
    (also for ``"none"``); case-insensitive.

    Raises
    ------
    ValueError
        For any other value; the message names it (as ``name``) and the accepted ones.
    """
    if balance is None:
        return None
    if isinstance(balance, str) and balance.lower() in _ALIASES:
        return _ALIASES[balance.lower()]
    raise ValueError(f"{name}={balance!r} should be one of 'label' (or 'class'), 'cluster' or None")


def balance_groups(
    labels: np.ndarray | None,
    clusters: np.ndarray | None,
    balance_by: str | None,
    *,
    metric: str | None = None,
) -> np.ndarray | None:
    """The groups that balancing uses: ``labels`` for ``"label"``/``"class"``, ``clusters`` for
    ``"cluster"``, ``None`` without balance.

    Parameters
    ----------
    labels : ndarray of shape (n,) of int, or None
        Class label codes.
    clusters : ndarray of shape (n,) of int, or None
        The scoring metric's cluster of each example (None when it has none).
    balance_by : {"label", "class", "cluster", "none", None}
    metric : str, optional
        Name of the scoring metric, for the message when it has no clusters.

    Returns
    -------
    ndarray of shape (n,), int64, or None

    Raises
    ------
    ValueError
        Unknown ``balance_by``, or the labels / clusters it needs are missing.
    """
    name = normalize_balance(balance_by)
    if name == "label":
        if labels is None:
            raise ValueError("balance_by='label' needs labels; there are none")
        return np.asarray(labels)
    if name == "cluster":
        if clusters is None:
            shown = "the metric" if metric is None else f"metric={metric!r}"
            raise ValueError(f"balance_by='cluster' needs a metric with clusters; {shown} has none")
        return np.asarray(clusters)
    return None
