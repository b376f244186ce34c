"""Pruning curves: linear-probe test accuracy against the kept fraction, per pruning strategy.

For each seed the labelled data are split (stratified) into train and test; difficulty scores are
computed on the **train split only** (the test split never influences which examples are kept);
for every kept fraction × strategy × balance the train split is pruned with
:func:`core.prune.select.select_kept` and a linear probe is trained on the kept examples and scored on
the untouched test split.

Compare metrics
---------------
``compare_metrics`` adds the ``keep_hard`` and ``keep_easy`` rows of other metrics computed on the
*same* splits (each metric scores the same train split; label metrics see the train labels only),
pruned with the same balance groups and pins and probed with the same recipe, so the rows differ
only in the ranking. Random pruning ignores the scores, so its rows are computed once and listed
under the primary ``metric``. Balancing by cluster always uses the primary metric's clusters (the
groups must not change with the ranking being compared).

Pins
----
``always_keep`` / ``always_drop`` are dataset row indices (the Map page's pins). A pin that falls
in a seed's test split is ignored for that seed (the test split is never touched) and listed in
``CurveSplit.ignored_pins``. A kept fraction whose count exceeds the train rows left after the
drop pins keeps all of them: with drop pins, ``keep_fraction=1.0`` means "every train example but
the dropped ones" (``n_kept`` records the count), so it can differ from the unpruned accuracy,
which always uses the whole train split.

The probe
---------
Multinomial logistic regression (scikit-learn ``LogisticRegression``, L-BFGS) on embeddings
standardised with the kept examples' mean and standard deviation. Its recipe is the same at every
kept fraction: the objective is the *mean* cross-entropy plus ``probe_l2 / 2 · |W|²`` (a fixed
weight decay, i.e. ``C = 1 / (probe_l2 · n_kept)`` in scikit-learn's summed form) and the
optimiser runs at most ``probe_max_iter`` L-BFGS iterations (``tol=1e-4``) on one BLAS thread.
A kept set with a single class gives a constant predictor of that class.

``probe="knn"`` is a second, cheap and deterministic check: a k-nearest-neighbour classifier
(scikit-learn ``KNeighborsClassifier``, ``k = min(10, n_kept)``, cosine distance, brute force,
uniform votes; a tied vote goes to the smallest label code) on the same standardised inputs. It
has no training objective, so a ranking of strategies that survives both probes does not hinge on
the logistic recipe. The probe on the
full train split (the *unpruned* accuracy) goes through the very same function with the very
same inputs as every strategy at ``keep_fraction=1.0``, so those accuracies are equal exactly.

The power law
-------------
For the random strategy the mean (over seeds) test *error* ``1 - accuracy`` is fitted by
``error = a · f^(-b)`` (least squares in log–log over the kept fractions with positive error),
where ``f`` is the kept fraction; ``a`` is the fitted error at ``f = 1`` and ``b > 0`` means error
falls as more data are kept. Random pruning is a plain subsample, so this is the data-scaling law
the pruning strategies are compared with.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core._progress import ProgressFn, report, sub_progress
from core.prune.balance import BALANCE_DISPLAY, balance_groups, normalize_balance
from core.prune.select import kept_count
from core.validate import (
    check_choice,
    check_embeddings,
    check_fraction,
    check_k,
    check_min_ratio,
    check_number,
    check_pins,
    check_test_size,
)

if TYPE_CHECKING:
    import pandas as pd

    from core.scores.metrics import Scores

#: Default kept fractions of a curve.
DEFAULT_FRACTIONS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)
#: Balance modes: per class (labels), per cluster (the metric's clusters) or none. These are the
#: display names the curve table's ``balance`` column writes (``core.prune.balance.BALANCE_DISPLAY``
#: of the canonical "label", "cluster", None); :func:`pruning_curve` also accepts "label".
BALANCES = ("class", "cluster", "none")
#: Strategies that use the scores (repeated for every compare metric); random does not.
RANKED_STRATEGIES = ("keep_hard", "keep_easy", "ccs", "moderate", "middle_band")
#: Probes of :func:`pruning_curve`: the linear probe (default) and the k-NN check.
PROBES = ("logistic", "knn")
#: Neighbours of the k-NN probe (fewer when fewer examples are kept).
KNN_PROBE_K = 10
#: What each probe is, as :attr:`CurveParams.probe_recipe` records it.
PROBE_RECIPES = {
    "logistic": "multinomial logistic regression (sklearn lbfgs), standardised inputs",
    "knn": f"k-NN classifier (k=min({KNN_PROBE_K}, n_kept), cosine, uniform votes), "
    "standardised inputs",
}
#: Columns of :attr:`CurveResult.table`, in order.
CURVE_COLUMNS = ("metric", "strategy", "balance", "keep_fraction", "seed", "n_kept", "accuracy")


class CurveCancelled(Exception):
    """Raised by :func:`pruning_curve` when ``should_stop()`` returns True; nothing is returned."""


@dataclass(frozen=True, eq=False, slots=True)
class CurveSplit:
    """The train/test split of one seed.

    Attributes
    ----------
    seed : int
    train_indices : ndarray of shape (n_train,), int64, sorted dataset row indices.
    test_indices : ndarray of shape (n_test,), int64, sorted; disjoint from ``train_indices``.
    ignored_pins : ndarray of int64, sorted; pinned rows that fell in the test split (ignored).
    """

    seed: int
    train_indices: np.ndarray
    test_indices: np.ndarray
    ignored_pins: np.ndarray


@dataclass(frozen=True, eq=False, slots=True)
class PowerLawFit:
    """``error = a · f^(-b)`` fitted to the random strategy's mean test error.

    Attributes
    ----------
    a : fitted error at ``f = 1``.
    b : exponent; ``b > 0`` when error falls as the kept fraction grows.
    balance : the balance mode of the fitted rows.
    fractions : kept fractions used in the fit (those with positive mean error).
    r2 : coefficient of determination in log–log space (nan with two points or no spread).
    """

    a: float
    b: float
    balance: str
    fractions: tuple[float, ...]
    r2: float


@dataclass(frozen=True, slots=True)
class CurveParams:
    """Every input that decides a curve (:attr:`CurveResult.params`).

    Attributes
    ----------
    metric : str
    compare_metrics : tuple of str
    fractions : tuple of float, sorted ascending.
    strategies : tuple of str
    seeds : tuple of int
    test_size : float
    k : int or None (None: each metric's default).
    distance, backend : str
    balances : tuple of str, display names ("class", "cluster", "none"); the first is the main one.
    min_ratio : float
    always_keep, always_drop : tuple of int, sorted dataset row indices (the pins).
    probe : {"logistic", "knn"}
    probe_l2 : float, the logistic probe's weight decay (unused by the k-NN probe).
    probe_max_iter : int, the logistic probe's L-BFGS budget (unused by the k-NN probe).
    """

    metric: str
    compare_metrics: tuple[str, ...]
    fractions: tuple[float, ...]
    strategies: tuple[str, ...]
    seeds: tuple[int, ...]
    test_size: float
    k: int | None
    distance: str
    backend: str
    balances: tuple[str, ...]
    min_ratio: float
    always_keep: tuple[int, ...]
    always_drop: tuple[int, ...]
    probe: str = "logistic"
    probe_l2: float = 1e-3
    probe_max_iter: int = 100

    @property
    def probe_recipe(self) -> str:
        """One line saying what the probe is."""
        return PROBE_RECIPES[self.probe]

    @property
    def power_law(self) -> str:
        """What :attr:`CurveResult.power_law` fits."""
        return "error = a * keep_fraction ** -b (random strategy, mean over seeds)"

    def as_dict(self) -> dict[str, object]:
        """The fields (and the probe recipe) as a plain dict, for a manifest or a log."""
        out: dict[str, object] = {name: getattr(self, name) for name in self.__slots__}
        out["probe_recipe"] = self.probe_recipe
        return out


@dataclass(frozen=True, eq=False, slots=True)
class CurveResult:
    """A pruning curve (see :func:`pruning_curve`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (balance, metric, strategy, keep_fraction, seed), in that order, with columns
        :data:`CURVE_COLUMNS`: ``metric`` (str), ``strategy`` (str), ``balance`` ("class",
        "cluster" or "none"), ``keep_fraction`` (float, as requested), ``seed`` (int),
        ``n_kept`` (int, kept train examples) and ``accuracy`` (float, linear-probe accuracy on
        the test split). The primary metric comes first; compare metrics have only the
        ``keep_hard``/``keep_easy`` rows (random rows are listed once, under the primary metric).
    unpruned_accuracy : ndarray of shape (n_seeds,), float64
        Probe accuracy with the whole train split, per seed (aligned with ``seeds``).
    seeds : tuple of int
    power_law : PowerLawFit or None
        Fit of the random strategy's error (``None`` without a random strategy or with fewer than
        two fractions of positive error).
    splits : tuple of CurveSplit, one per seed.
    kept_indices : tuple of ndarray or None
        With ``return_kept=True``: the kept dataset row indices (sorted int64) of each table row.
    params : CurveParams
        Every input that decides the result (metric, k, distance, balances, pins, probe...).
    """

    table: pd.DataFrame
    unpruned_accuracy: np.ndarray
    seeds: tuple[int, ...]
    power_law: PowerLawFit | None
    splits: tuple[CurveSplit, ...]
    kept_indices: tuple[np.ndarray, ...] | None
    params: CurveParams


def pruning_curve(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    metric: str = "ssp",
    compare_metrics: Sequence[str] = (),
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    strategies: Sequence[str] = ("keep_hard", "keep_easy", "random"),
    seeds: Sequence[int] = (0, 1, 2),
    test_size: float = 0.2,
    k: int | None = None,
    distance: str = "cosine",
    backend: str = "auto",
    balance: str | None = "class",
    min_ratio: float = 0.5,
    compare_unbalanced: bool = False,
    always_keep: Sequence[int] | np.ndarray = (),
    always_drop: Sequence[int] | np.ndarray = (),
    probe: str = "logistic",
    probe_l2: float = 1e-3,
    probe_max_iter: int = 100,
    return_kept: bool = False,
    imported: Mapping[str, np.ndarray] | None = None,
    progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> CurveResult:
    """Linear-probe test accuracy against the kept fraction for each pruning strategy.

    Parameters
    ----------
    embeddings : ndarray of shape (n, d)
        Finite embeddings.
    labels : ndarray of shape (n,)
        Class labels (any values); at least 2 classes, each with at least 2 examples.
    metric : str, default "ssp"
        A :data:`core.scores.registry.METRICS` name (scores are computed on the train split only)
        or a key of ``imported``.
    compare_metrics : sequence of str, default ()
        Other metric names (registered or keys of ``imported``; distinct, not ``metric``) whose rows for the
        ranked strategies (:data:`RANKED_STRATEGIES`: keep_hard, keep_easy, ccs, moderate,
        middle_band)
        are added on the same splits, groups, pins and probe; random rows are not repeated (see
        the module docstring). Needs one of those in ``strategies``.
    fractions : sequence of float, default (0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)
        Kept fractions in (0, 1] of the train split.
    strategies : sequence of str, default ("keep_hard", "keep_easy", "random")
        :data:`core.prune.select.STRATEGIES` names (``ccs`` uses the default beta of each fraction
        and 50 strata; with balance, ``ccs`` and ``middle_band`` run within each group;
        ``moderate`` ranks the train split's embeddings by their class-median distance).
    seeds : sequence of int, default (0, 1, 2)
        Each seed draws its own split, k-means, random selection; the probe is deterministic.
    test_size : float, default 0.2
        Test fraction of the stratified split, in (0, 1).
    k : int, optional
        Clusters for the k-means metrics (default ``core.scores.metrics.default_k(n_train,
        n_classes)``), neighbours for the k-NN metrics (default 10), for the primary and the
        compare metrics alike; ignored by the others.
    distance : {"cosine", "euclidean"}, default "cosine"
    backend : {"auto", "faiss", "sklearn"}, default "auto"
        k-means backend.
    balance : {"class", "cluster", None}, default "class"
        Balance the kept set across classes (``"label"`` is accepted as an alias) or across the
        primary metric's clusters, or not at all (``None`` or ``"none"``).
    min_ratio : float, default 0.5
        Balance ratio ``r`` in [0, 1]: every group keeps at least ``min(size, ceil(r · K / G))``.
    compare_unbalanced : bool, default False
        Also add rows with ``balance="none"`` (the unbalanced overlay); ignored when
        ``balance`` is already none.
    always_keep, always_drop : sequence of int
        Dataset row indices pinned as kept / never kept. Pins that fall in a seed's test split
        are ignored for that seed (listed in ``splits[i].ignored_pins``), so the test split is
        never touched. A fraction keeping more rows than the drop pins leave keeps all the rows
        left (``keep_fraction=1.0`` = every train row but the dropped ones).
    probe : {"logistic", "knn"}, default "logistic"
        The classifier trained on the kept examples: the linear probe, or the k-NN check
        (k = min(10, n_kept), cosine); see the module docstring.
    probe_l2 : float, default 1e-3
        Weight decay of the logistic probe (on the mean loss), > 0.
    probe_max_iter : int, default 100
        L-BFGS iteration budget of the logistic probe, >= 1.
    return_kept : bool, default False
        Store the kept row indices of every table row in ``kept_indices``.
    imported : mapping of str to ndarray of shape (n,), optional
        Per-example scores made elsewhere (higher = harder), by name (such as
        ``"imported:<column>"``, :func:`core.io.imported_scores.import_scores`'s metric), over
        **all** rows. Each name may be ``metric`` or one of ``compare_metrics``; a seed's train
        scores are the values at its train rows (nothing is recomputed, so the test split's
        values are never used). They have no clusters: ``balance="cluster"`` needs a registered
        primary metric. A name may not be a registered metric's.
    progress : callable (fraction, message), optional
    should_stop : callable () -> bool, optional
        Polled before each seed's scoring and before every probe; when it returns True,
        :class:`CurveCancelled` is raised.

    Returns
    -------
    CurveResult

    Raises
    ------
    ValueError
        On bad input; the message names the values.
    CurveCancelled
        When ``should_stop()`` returned True.
    """
    from core.scores.metrics import DISTANCES
    from core.scores.registry import METRICS, get_metric

    imported_values = {} if imported is None else dict(imported)
    valid = (*METRICS, *(name for name in imported_values if name not in METRICS))
    metric = check_choice("metric", metric, valid)
    compare = _check_compare_metrics(metric, compare_metrics, valid)
    distance = check_choice("distance", distance, DISTANCES)
    test_size = check_test_size(test_size)
    x, codes, n_train = _check_data(embeddings, labels, test_size)
    imported_values = _check_imported(imported_values, x.shape[0], METRICS)
    display = BALANCE_DISPLAY[normalize_balance(balance, name="balance")]
    balances = (display, "none") if compare_unbalanced and display != "none" else (display,)
    keep_pins, drop_pins = _check_curve_pins(always_keep, always_drop, x.shape[0])
    registered = [m for m in (metric, *compare) if m in METRICS]
    if k is not None and any(get_metric(m).kmeans_based for m in registered):
        k = check_k(k, n_train, n_name="n_train")
    plan = _CurvePlan(
        metric=metric,
        compare_metrics=compare,
        fractions=_check_fractions(fractions, n_train),
        strategies=_check_strategies(strategies, compare),
        test_size=test_size,
        k=k,
        distance=distance,
        backend=backend,
        balances=balances,
        min_ratio=check_min_ratio(min_ratio),
        keep_pins=keep_pins,
        drop_pins=drop_pins,
        probe_l2=check_number(
            "probe_l2", probe_l2, low=0.0, high=math.inf, low_open=True, high_open=True
        ),
        probe_max_iter=_check_probe_max_iter(probe_max_iter),
        return_kept=return_kept,
        probe=check_choice("probe", probe, PROBES),
        imported=imported_values,
    )
    seeds = _check_seeds(seeds)
    splits = tuple(_seed_split(codes, test_size, seed, keep_pins, drop_pins) for seed in seeds)
    _check_split_pins(splits, plan, n_train)
    return _pruning_curve(x, codes, splits, plan, progress, should_stop)


def curve_summary(result: CurveResult) -> pd.DataFrame:
    """Mean and standard deviation (over seeds, ``ddof=0``) of the accuracy per curve point.

    Parameters
    ----------
    result : CurveResult

    Returns
    -------
    pandas.DataFrame
        Columns ``metric, balance, strategy, keep_fraction, n_kept_mean, accuracy_mean,
        accuracy_std, n_seeds``, one row per (metric, balance, strategy, keep_fraction), in
        table order.
    """
    keys = ["metric", "balance", "strategy", "keep_fraction"]
    grouped = result.table.groupby(keys, sort=False)
    out = grouped.agg(
        n_kept_mean=("n_kept", "mean"),
        accuracy_mean=("accuracy", "mean"),
        n_seeds=("seed", "count"),
    ).reset_index()
    out.insert(len(keys) + 2, "accuracy_std", grouped["accuracy"].std(ddof=0).to_numpy())
    return out


def best_per_fraction(summary: pd.DataFrame) -> pd.DataFrame:
    """The most accurate (metric, strategy) at each kept fraction below 1.

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`curve_summary` rows; only the first balance mode listed is compared (the
        unbalanced overlay, when present, comes second).

    Returns
    -------
    pandas.DataFrame
        Columns ``keep_fraction, metric, strategy, accuracy_mean``, one row per fraction < 1,
        sorted by fraction; ties go to the row listed first.
    """
    columns = ["keep_fraction", "metric", "strategy", "accuracy_mean"]
    if summary.empty:
        return summary.reindex(columns=columns)
    main = summary[(summary["balance"] == summary["balance"].iloc[0])]
    main = main[main["keep_fraction"] < 1]
    best = main.loc[main.groupby("keep_fraction", sort=True)["accuracy_mean"].idxmax()]
    return best[columns].reset_index(drop=True)


def curve_csv_bytes(result: CurveResult) -> bytes:
    """The curve table as plain CSV (:data:`CURVE_COLUMNS`, floats ``%.9g``, ``\\n`` endings).

    The CLI's ``curve --out`` file and the app's download are these bytes.
    """
    text = result.table.to_csv(index=False, float_format="%.9g", lineterminator="\n")
    return text.encode("utf-8")


def power_law_accuracy(fit: PowerLawFit, fractions: np.ndarray | Sequence[float]) -> np.ndarray:
    """Accuracy ``1 - a · f^(-b)`` predicted by a power-law fit at kept fractions ``f``.

    Parameters
    ----------
    fit : PowerLawFit
    fractions : array-like of shape (m,), values in (0, 1]

    Returns
    -------
    ndarray of shape (m,), float64
    """
    f = np.asarray(fractions, dtype=np.float64)
    if np.any(~(f > 0)):
        raise ValueError("fractions should be > 0")
    return 1.0 - fit.a * f ** (-fit.b)


# --- helpers (inputs already validated) ---------------------------------------------------------


@dataclass(frozen=True, eq=False, slots=True)
class _CurvePlan:
    """Every validated input of :func:`pruning_curve` but the data, splits and callbacks."""

    metric: str
    compare_metrics: tuple[str, ...]
    fractions: tuple[float, ...]  # sorted ascending
    strategies: tuple[str, ...]
    test_size: float
    k: int | None
    distance: str
    backend: str
    balances: tuple[str, ...]  # display names: "class", "cluster", "none"
    min_ratio: float
    keep_pins: np.ndarray
    drop_pins: np.ndarray
    probe_l2: float
    probe_max_iter: int
    return_kept: bool
    probe: str
    imported: dict[str, np.ndarray]  # name -> (n,) float64 scores over all rows

    def metric_strategies(self) -> list[tuple[str, ...]]:
        """Strategies per metric: compare metrics repeat only the ranked ones (random ignores
        scores)."""
        ranked = tuple(s for s in self.strategies if s in RANKED_STRATEGIES)
        return [self.strategies] + [ranked for _ in self.compare_metrics]

    def n_fits(self) -> int:
        """Probe fits per seed (table rows per seed)."""
        per_balance = sum(len(s) for s in self.metric_strategies())
        return len(self.balances) * len(self.fractions) * per_balance


def _check_compare_metrics(
    metric: str, compare_metrics: Sequence[str], valid: tuple[str, ...]
) -> tuple[str, ...]:
    compare = (compare_metrics,) if isinstance(compare_metrics, str) else tuple(compare_metrics)
    unknown = [m for m in compare if m not in valid]
    if unknown:
        raise ValueError(f"compare_metrics {unknown} are not metrics; valid: {', '.join(valid)}")
    if metric in compare or len(set(compare)) != len(compare):
        raise ValueError(
            f"compare_metrics={compare} should be distinct and differ from metric={metric!r}"
        )
    return compare


def _check_imported(
    imported: dict[str, np.ndarray], n: int, registered: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Imported scores as finite (n,) float64 arrays, by a name that is not a registered metric."""
    out: dict[str, np.ndarray] = {}
    for name, values in imported.items():
        if not isinstance(name, str) or not name or name in registered:
            raise ValueError(
                f"imported score name {name!r} should be a non-empty name that is not a "
                "registered metric (such as 'imported:<column>')"
            )
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (n,):
            raise ValueError(
                f"imported scores {name!r} should have shape ({n},) (one per row of the "
                f"dataset), got {array.shape}"
            )
        if not np.isfinite(array).all():
            raise ValueError(f"imported scores {name!r} should be finite (no NaN or inf)")
        out[name] = array
    return out


def _check_data(
    embeddings: np.ndarray, labels: np.ndarray | None, test_size: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """(embeddings as given, int64 label codes, n_train) after checking both arrays and that
    the stratified split leaves every class in train and test."""
    check_embeddings(embeddings)
    x = np.asarray(embeddings)  # the probe sees the values as given (float64 stays float64)
    if x.shape[0] < 4:
        raise ValueError(f"embeddings should be a 2-D array with >= 4 rows, got shape {x.shape}")
    n = x.shape[0]
    if labels is None:
        raise ValueError("labels are required: the linear probe is trained and tested on them")
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"labels should have shape ({n},), got {labels.shape}")
    class_names, codes = np.unique(labels, return_inverse=True)
    codes = codes.astype(np.int64)
    n_classes = len(class_names)
    if n_classes < 2:
        raise ValueError(f"labels should contain at least 2 classes, got {n_classes}")
    counts = np.bincount(codes)
    if counts.min() < 2:
        small = class_names[np.flatnonzero(counts < 2)][:5].tolist()
        raise ValueError(f"every class needs >= 2 examples for a stratified split; classes {small}")
    n_test = math.ceil(test_size * n)
    if n_test < n_classes or n - n_test < n_classes:
        raise ValueError(
            f"test_size={test_size} gives n_test={n_test} and n_train={n - n_test}; both should "
            f"be >= n_classes={n_classes}"
        )
    return x, codes, n - n_test


def _check_fractions(fractions: Sequence[float], n_train: int) -> tuple[float, ...]:
    """Distinct kept fractions in (0, 1], each keeping at least one train row; sorted."""
    values = tuple(float(f) for f in fractions)
    if not values or len(set(values)) != len(values):
        raise ValueError(f"fractions={values} should be non-empty and distinct")
    for f in values:
        check_fraction(f, allow_zero=False)
        if kept_count(n_train, f) < 1:
            raise ValueError(f"keep_fraction={f} keeps no example of n_train={n_train}")
    return tuple(sorted(values))


def _check_strategies(strategies: Sequence[str], compare: tuple[str, ...]) -> tuple[str, ...]:
    from core.prune.select import STRATEGIES

    chosen = tuple(strategies)
    bad = [s for s in chosen if s not in STRATEGIES]
    if not chosen or bad or len(set(chosen)) != len(chosen):
        raise ValueError(f"strategies={chosen} should be distinct values from {STRATEGIES}")
    if compare and not set(chosen) & set(RANKED_STRATEGIES):
        raise ValueError(
            f"compare_metrics={compare} need one of {', '.join(RANKED_STRATEGIES)} in "
            f"strategies={chosen} "
            "(random pruning ignores the metric)"
        )
    return chosen


def _check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    values = tuple(int(s) for s in seeds)
    if not values or len(set(values)) != len(values) or min(values) < 0:
        raise ValueError(f"seeds={values} should be distinct non-negative integers (at least one)")
    return values


def _check_probe_max_iter(probe_max_iter: int) -> int:
    if (
        isinstance(probe_max_iter, bool)
        or int(probe_max_iter) != probe_max_iter
        or probe_max_iter < 1
    ):
        raise ValueError(f"probe_max_iter={probe_max_iter} should be an integer >= 1")
    return int(probe_max_iter)


def _check_curve_pins(
    always_keep: Sequence[int] | np.ndarray, always_drop: Sequence[int] | np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    keep_pins = check_pins("always_keep", always_keep, n)
    drop_pins = check_pins("always_drop", always_drop, n)
    both = np.intersect1d(keep_pins, drop_pins)
    if both.size:
        raise ValueError(f"rows {both[:5].tolist()} are in both always_keep and always_drop")
    return keep_pins, drop_pins


def _check_split_pins(splits: tuple[CurveSplit, ...], plan: _CurvePlan, n_train: int) -> None:
    """Every seed's train split keeps its keep-pins at the smallest fraction and has a row
    left after its drop pins."""
    for split in splits:
        n_keep_pins = int(np.isin(plan.keep_pins, split.train_indices).sum())
        n_left = n_train - int(np.isin(plan.drop_pins, split.train_indices).sum())
        smallest = min(kept_count(n_train, plan.fractions[0]), n_left)
        if n_keep_pins > smallest:
            raise ValueError(
                f"always_keep pins {n_keep_pins} train rows for seed {split.seed} but "
                f"keep_fraction={plan.fractions[0]:g} keeps only {smallest} of n_train={n_train}; "
                "raise the smallest fraction or remove keep pins"
            )
        if n_left < 1:
            raise ValueError(f"always_drop pins every train row of seed {split.seed}")


def _split(codes: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(codes.shape[0], dtype=np.int64)
    train, test = train_test_split(idx, test_size=test_size, stratify=codes, random_state=seed)
    return np.sort(train).astype(np.int64), np.sort(test).astype(np.int64)


def _seed_split(
    codes: np.ndarray, test_size: float, seed: int, keep_pins: np.ndarray, drop_pins: np.ndarray
) -> CurveSplit:
    train, test = _split(codes, test_size, seed)
    pinned = np.concatenate([keep_pins, drop_pins])
    ignored = np.sort(pinned[np.isin(pinned, test)]).astype(np.int64)
    return CurveSplit(seed, train, test, ignored)


def _target_fraction(fraction: float, n_train: int, n_left: int) -> float:
    """The fraction passed to select_kept: ``fraction``, or all ``n_left`` rows the drop pins
    leave when ``fraction`` would keep more (``kept_count(n_train, n_left / n_train)`` is
    exactly ``n_left``)."""
    if kept_count(n_train, fraction) <= n_left:
        return fraction
    return n_left / n_train


def _train_scores(
    x_train: np.ndarray,
    codes_train: np.ndarray,
    *,
    metric: str,
    k: int | None,
    distance: str,
    backend: str,
    seed: int,
    progress: ProgressFn | None,
) -> Scores:
    from core.scores.metrics import compute_scores

    # labels give k-means metrics their default k (= number of classes) and the label metrics
    # their labels; k is passed as given (None -> the metric's default).
    return compute_scores(
        np.ascontiguousarray(x_train, dtype=np.float32),
        metric,
        k=k,
        labels=codes_train,
        distance=distance,
        backend=backend,
        seed=seed,
        progress=progress,
    )


def _probe_accuracy(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    probe_l2: float,
    probe_max_iter: int,
    probe: str = "logistic",
) -> float:
    """Fit the fixed-recipe probe on (x_train, y_train); accuracy on the test split."""
    classes = np.unique(y_train)
    if classes.size == 1:  # a single kept class: the only sensible predictor is constant
        return float(np.mean(y_test == classes[0]))
    if probe == "knn":
        return _knn_accuracy(x_train, y_train, x_test, y_test)
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0
    model = LogisticRegression(
        C=1.0 / (probe_l2 * x_train.shape[0]), max_iter=probe_max_iter, tol=1e-4, solver="lbfgs"
    )
    from threadpoolctl import threadpool_limits

    # One BLAS thread: the probe's matrices are small, and with threads on a busy machine the
    # fit was measured 10-30x slower (oversubscription); one thread is also bit-reproducible.
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the budget is fixed on purpose
        model.fit((x_train - mean) / std, y_train)
        predicted = model.predict((x_test - mean) / std)
    return float(np.mean(predicted == y_test))


def _knn_accuracy(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> float:
    """k-NN (k = min(10, n_kept), cosine, uniform votes) on inputs standardised with the kept
    examples' mean and std; accuracy on the test split."""
    from sklearn.neighbors import KNeighborsClassifier
    from threadpoolctl import threadpool_limits

    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0
    model = KNeighborsClassifier(
        n_neighbors=min(KNN_PROBE_K, x_train.shape[0]), metric="cosine", algorithm="brute"
    )
    with threadpool_limits(limits=1):
        model.fit((x_train - mean) / std, y_train)
        predicted = model.predict((x_test - mean) / std)
    return float(np.mean(predicted == y_test))


class _ProbeCache:
    """One seed's probe accuracies, memoised by kept set.

    Equal kept sets give the same inputs to the same probe and so the same accuracy, by
    construction; memoising only saves the repeated fits (every strategy at ``f = 1``).
    """

    def __init__(
        self,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_test: np.ndarray,
        y_test: np.ndarray,
        probe_l2: float,
        probe_max_iter: int,
        probe: str = "logistic",
    ) -> None:
        self._data = (x_train, y_train, x_test, y_test)
        self._probe_l2 = probe_l2
        self._probe_max_iter = probe_max_iter
        self._probe = probe
        self._cache: dict[bytes, float] = {}

    def accuracy(self, positions: np.ndarray) -> float:
        """Probe accuracy on the test split when trained on train rows ``positions`` (sorted)."""
        key = positions.tobytes()
        if key not in self._cache:
            x_train, y_train, x_test, y_test = self._data
            self._cache[key] = _probe_accuracy(
                x_train[positions],
                y_train[positions],
                x_test,
                y_test,
                probe_l2=self._probe_l2,
                probe_max_iter=self._probe_max_iter,
                probe=self._probe,
            )
        return self._cache[key]


_Row = tuple[tuple[int, ...], dict[str, object], np.ndarray | None]


def _stopper(should_stop: Callable[[], bool] | None) -> Callable[[str], None]:
    """A function that raises CurveCancelled (naming how far the run got) once asked to stop."""

    def stop(done: str) -> None:
        if should_stop is not None and should_stop():
            raise CurveCancelled(f"pruning curve cancelled ({done})")

    return stop


def _pruning_curve(
    x: np.ndarray,
    codes: np.ndarray,
    splits: tuple[CurveSplit, ...],
    plan: _CurvePlan,
    progress: ProgressFn | None,
    should_stop: Callable[[], bool] | None,
) -> CurveResult:
    import pandas as pd

    x64 = np.asarray(x, dtype=np.float64)
    seeds = tuple(split.seed for split in splits)
    rows: list[_Row] = []
    unpruned = np.zeros(len(seeds), dtype=np.float64)
    stop = _stopper(should_stop)
    for s_i, split in enumerate(splits):
        seed_progress = sub_progress(progress, s_i / len(seeds), (s_i + 1) / len(seeds))
        unpruned[s_i] = _seed_rows(x, x64, codes, split, s_i, plan, rows, seed_progress, stop)

    rows.sort(key=lambda item: item[0])
    table = pd.DataFrame([r for _, r, _ in rows], columns=list(CURVE_COLUMNS))
    table = table.astype({"seed": np.int64, "n_kept": np.int64, "keep_fraction": np.float64})
    kept_indices = tuple(ix for _, _, ix in rows if ix is not None) if plan.return_kept else None
    report(progress, 1.0, "pruning curve done")
    return CurveResult(
        table=table,
        unpruned_accuracy=unpruned,
        seeds=seeds,
        power_law=_fit_power_law(table, plan.balances[0]),
        splits=splits,
        kept_indices=kept_indices,
        params=_curve_params(plan, seeds),
    )


def _curve_params(plan: _CurvePlan, seeds: tuple[int, ...]) -> CurveParams:
    """Every input that decides a curve, as :attr:`CurveResult.params` records it."""
    return CurveParams(
        metric=plan.metric,
        compare_metrics=plan.compare_metrics,
        fractions=plan.fractions,
        strategies=plan.strategies,
        seeds=seeds,
        test_size=plan.test_size,
        k=plan.k,
        distance=plan.distance,
        backend=plan.backend,
        balances=plan.balances,
        min_ratio=plan.min_ratio,
        always_keep=tuple(int(i) for i in plan.keep_pins),
        always_drop=tuple(int(i) for i in plan.drop_pins),
        probe=plan.probe,
        probe_l2=plan.probe_l2,
        probe_max_iter=plan.probe_max_iter,
    )


def _score_split(
    x_train: np.ndarray,
    codes_train: np.ndarray,
    train: np.ndarray,
    seed: int,
    plan: _CurvePlan,
    progress: ProgressFn | None,
    stop: Callable[[str], None],
) -> list[Scores]:
    """Scores of the primary and every compare metric on one seed's train split (rows
    ``train``): computed for a registered metric, the train rows' values for an imported one."""
    from core.scores.metrics import ScoreParams, Scores

    metrics = (plan.metric, *plan.compare_metrics)
    all_scores: list[Scores] = []
    for m_i, name in enumerate(metrics):
        if name in plan.imported:
            all_scores.append(Scores(name, plan.imported[name][train], None, None, ScoreParams()))
            continue
        if m_i:
            stop(f"seed {seed}, before scoring {name}")
        start, end = 0.3 * m_i / len(metrics), 0.3 * (m_i + 1) / len(metrics)
        report(progress, start, f"seed {seed}: scoring ({name})")
        all_scores.append(
            _train_scores(
                x_train,
                codes_train,
                metric=name,
                k=plan.k,
                distance=plan.distance,
                backend=plan.backend,
                seed=seed,
                progress=sub_progress(progress, start, end),
            )
        )
    return all_scores


def _seed_rows(
    x: np.ndarray,
    x64: np.ndarray,
    codes: np.ndarray,
    split: CurveSplit,
    s_i: int,
    plan: _CurvePlan,
    rows: list[_Row],
    progress: ProgressFn | None,
    stop: Callable[[str], None],
) -> float:
    """Append one seed's table rows to ``rows``; return its unpruned accuracy."""
    from core.prune.select import select_kept

    seed, train, test = split.seed, split.train_indices, split.test_indices
    stop(f"before seed {seed}")
    # Pins as positions in the train split (train is sorted); test-split pins are ignored.
    keep_pos = np.searchsorted(train, plan.keep_pins[np.isin(plan.keep_pins, train)])
    drop_pos = np.searchsorted(train, plan.drop_pins[np.isin(plan.drop_pins, train)])
    n_left = train.size - drop_pos.size
    y_train = codes[train]
    all_scores = _score_split(x[train], y_train, train, seed, plan, progress, stop)
    probe = _ProbeCache(
        x64[train], y_train, x64[test], codes[test], plan.probe_l2, plan.probe_max_iter, plan.probe
    )
    unpruned = probe.accuracy(np.arange(train.size, dtype=np.int64))
    metrics = (plan.metric, *plan.compare_metrics)
    n_fits = plan.n_fits()
    done = 0
    for b_i, balance in enumerate(plan.balances):
        balance_by = normalize_balance(balance)
        groups = balance_groups(y_train, all_scores[0].clusters, balance_by, metric=plan.metric)
        for (m_i, t_i, f_i), (name, strategy, fraction) in _grid(plan, metrics):
            stop(f"seed {seed}, {done} of {n_fits} probes")
            selection = select_kept(
                all_scores[m_i].values,
                _target_fraction(fraction, train.size, n_left),
                strategy=strategy,
                groups=groups,
                balance_by=balance_by,
                min_ratio=plan.min_ratio if groups is not None else 0.0,
                seed=seed,
                always_keep=keep_pos,
                always_drop=drop_pos,
                embeddings=x64[train] if strategy == "moderate" else None,
                labels=y_train if strategy == "moderate" else None,
            )
            positions = np.sort(np.asarray(selection.kept_indices, dtype=np.int64))
            row: dict[str, object] = {
                "metric": name,
                "strategy": strategy,
                "balance": balance,
                "keep_fraction": fraction,
                "seed": seed,
                "n_kept": int(positions.size),
                "accuracy": probe.accuracy(positions),
            }
            kept = train[positions] if plan.return_kept else None
            rows.append(((b_i, m_i, t_i, f_i, s_i), row, kept))
            done += 1
            report(
                progress,
                0.3 + 0.7 * done / n_fits,
                f"seed {seed}: {name} {strategy}, f={fraction:g} ({done}/{n_fits})",
            )
    return unpruned


def _grid(
    plan: _CurvePlan, metrics: tuple[str, ...]
) -> list[tuple[tuple[int, int, int], tuple[str, str, float]]]:
    """(metric, strategy, fraction) of every probe of one balance, in run order, with their
    indices."""
    return [
        ((m_i, t_i, f_i), (name, strategy, fraction))
        for m_i, (name, strategies) in enumerate(zip(metrics, plan.metric_strategies()))
        for t_i, strategy in enumerate(strategies)
        for f_i, fraction in enumerate(plan.fractions)
    ]


def _fit_power_law(table: pd.DataFrame, balance: str) -> PowerLawFit | None:
    rows = table[(table["strategy"] == "random") & (table["balance"] == balance)]
    if rows.empty:
        return None
    mean_acc = rows.groupby("keep_fraction", sort=True)["accuracy"].mean()
    f = mean_acc.index.to_numpy(dtype=np.float64)
    err = 1.0 - mean_acc.to_numpy(dtype=np.float64)
    ok = err > 0
    if ok.sum() < 2:
        return None
    log_f, log_e = np.log(f[ok]), np.log(err[ok])
    slope, intercept = np.polyfit(log_f, log_e, 1)
    predicted = intercept + slope * log_f
    ss_tot = float(np.sum((log_e - log_e.mean()) ** 2))
    r2 = (
        1.0 - float(np.sum((log_e - predicted) ** 2)) / ss_tot
        if ok.sum() > 2 and ss_tot > 0
        else math.nan
    )
    return PowerLawFit(
        a=float(np.exp(intercept)),
        b=float(-slope),
        balance=balance,
        fractions=tuple(float(v) for v in f[ok]),
        r2=r2,
    )
