"""Verdicts with uncertainty on a pruning curve, and a one-sentence advisor.

A strategy *wins* at a kept fraction only when its mean accuracy beats the runner-up's by more
than two standard errors of the difference (paper notes: seeds vary a lot at small kept
fractions; call a strategy better only beyond about two standard errors over seeds).

The difference is **paired over seeds**: every strategy of one seed is probed on the same
train/test split, so the per-seed differences ``d_s = acc_best(s) - acc_runner_up(s)`` cancel the
split-to-split variation the two strategies share. ``margin = mean(d)`` (equal to the difference
of the means) and ``stderr = std(d, ddof=1) / sqrt(n_seeds)``; the verdict is ``"win"`` when
``margin > 2 · stderr`` and ``"tie"`` otherwise (always ``"tie"`` with a single seed, where the
standard error is unknown).

Only the first balance mode of the curve is compared (the unbalanced overlay, when present, is
drawn for reference); ``keep_fraction = 1`` is left out (every strategy keeps the whole train
split there). Candidates are the (metric, strategy) curves: the primary metric's strategies are
named by the strategy alone, a compare metric's as ``"keep_hard (class_prototype)"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from core.analysis.curve import CurveResult

#: Columns of :func:`fraction_verdicts` (and of the CLI's ``curve --summary`` file), in order.
VERDICT_COLUMNS = ("keep_fraction", "best", "runner_up", "margin", "stderr", "verdict")
#: A win needs ``margin > N_STDERR · stderr``.
N_STDERR = 2.0
#: Examples per input dimension below which the data count as scarce, and above which as
#: abundant, in the paper's perceptron picture (a hedged reading, not a fitted threshold).
SCARCE_PER_DIM = 2.0
ABUNDANT_PER_DIM = 10.0


def curve_label(metric: str, strategy: str, primary: str) -> str:
    """The name of one curve: the strategy, with a compare metric in brackets."""
    return strategy if metric == primary or strategy == "random" else f"{strategy} ({metric})"


def fraction_verdicts(result: CurveResult) -> pd.DataFrame:
    """Best and runner-up curve per kept fraction < 1, with the paired margin and its stderr.

    Parameters
    ----------
    result : CurveResult

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VERDICT_COLUMNS` then ``best_mean, runner_up_mean, n_seeds``: one row per
        kept fraction < 1 with at least two curves, sorted by fraction. ``margin`` and
        ``stderr`` are accuracy differences (fractions, not points); ``verdict`` is ``"win"`` or
        ``"tie"`` (module docstring). Ties in the mean go to the curve listed first.
    """
    import pandas as pd

    table = result.table
    columns = [*VERDICT_COLUMNS, "best_mean", "runner_up_mean", "n_seeds"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    main = table[(table["balance"] == table["balance"].iloc[0]) & (table["keep_fraction"] < 1)]
    rows = []
    for fraction, at_f in main.groupby("keep_fraction", sort=True):
        per_seed = at_f.pivot_table(
            index="seed", columns=["metric", "strategy"], values="accuracy", sort=False
        )
        if per_seed.shape[1] >= 2:
            rows.append(_verdict_row(float(fraction), per_seed, result.params.metric))
    return pd.DataFrame(rows, columns=columns)


def _verdict_row(fraction: float, per_seed: pd.DataFrame, primary: str) -> dict[str, object]:
    """The verdict of one fraction from its (seed x curve) accuracy table."""
    means = per_seed.mean(axis=0).to_numpy()
    order = np.argsort(-means, kind="stable")
    best, runner = per_seed.columns[order[0]], per_seed.columns[order[1]]
    diff = (per_seed[best] - per_seed[runner]).to_numpy(dtype=np.float64)
    margin = float(diff.mean())
    stderr = float(diff.std(ddof=1) / math.sqrt(diff.size)) if diff.size >= 2 else math.nan
    win = diff.size >= 2 and margin > N_STDERR * stderr
    return {
        "keep_fraction": fraction,
        "best": curve_label(str(best[0]), str(best[1]), primary),
        "runner_up": curve_label(str(runner[0]), str(runner[1]), primary),
        "margin": margin,
        "stderr": stderr,
        "verdict": "win" if win else "tie",
        "best_mean": float(means[order[0]]),
        "runner_up_mean": float(means[order[1]]),
        "n_seeds": int(diff.size),
    }


def verdicts_csv_bytes(verdicts: pd.DataFrame) -> bytes:
    """The :data:`VERDICT_COLUMNS` of :func:`fraction_verdicts` as CSV (``%.9g``, ``\\n``)."""
    text = verdicts[list(VERDICT_COLUMNS)].to_csv(
        index=False, float_format="%.9g", lineterminator="\n"
    )
    return text.encode("utf-8")


@dataclass(frozen=True, slots=True)
class SafeFraction:
    """The smallest kept fraction whose best curve is within noise of the unpruned probe.

    ``loss`` is ``mean(unpruned - best)`` over seeds (paired), ``stderr`` its standard error.
    """

    keep_fraction: float
    strategy: str
    loss: float
    stderr: float


@dataclass(frozen=True, slots=True)
class Advice:
    """What a pruning curve supports (see :func:`advise`).

    Attributes
    ----------
    sentence : str
        One hedged sentence: wins and ties with their uncertainty, the smallest safe fraction
        and where the data sit in the paper's picture.
    regime : {"scarce", "intermediate", "abundant"}
        From the train examples per input dimension (:data:`SCARCE_PER_DIM`,
        :data:`ABUNDANT_PER_DIM`).
    examples_per_class, examples_per_dim : float
        Of the train split (mean over seeds).
    safe : SafeFraction or None
    """

    sentence: str
    regime: str
    examples_per_class: float
    examples_per_dim: float
    safe: SafeFraction | None


def advise(result: CurveResult, *, n_dims: int, n_classes: int) -> Advice:
    """One hedged sentence on which strategy and kept fraction the curve supports.

    Parameters
    ----------
    result : CurveResult
    n_dims : int
        Embedding dimension (the paper's examples-per-dimension uses it).
    n_classes : int

    Returns
    -------
    Advice

    Raises
    ------
    ValueError
        When ``n_dims`` or ``n_classes`` is < 1.
    """
    if n_dims < 1 or n_classes < 1:
        raise ValueError(f"n_dims={n_dims} and n_classes={n_classes} should be >= 1")
    n_train = float(np.mean([s.train_indices.size for s in result.splits]))
    per_class, per_dim = n_train / n_classes, n_train / n_dims
    verdicts = fraction_verdicts(result)
    safe = safe_fraction(result, verdicts)
    sentence = advice_sentence(
        verdicts, examples_per_class=per_class, examples_per_dim=per_dim, safe=safe
    )
    return Advice(sentence, regime_of(per_dim), per_class, per_dim, safe)


def safe_fraction(result: CurveResult, verdicts: pd.DataFrame) -> SafeFraction | None:
    """The smallest kept fraction whose best curve's accuracy is not below the unpruned
    accuracy by more than two standard errors (paired over seeds); None when none is."""
    table = result.table
    main = table[table["balance"] == table["balance"].iloc[0]] if len(table) else table
    unpruned = dict(zip(result.seeds, result.unpruned_accuracy.tolist()))
    for row in verdicts.itertuples(index=False):
        rows = main[main["keep_fraction"] == row.keep_fraction]
        labels = [
            curve_label(m, t, result.params.metric) for m, t in zip(rows.metric, rows.strategy)
        ]
        best = rows[[label == row.best for label in labels]]
        loss = np.array([unpruned[s] - a for s, a in zip(best["seed"], best["accuracy"])])
        se = float(loss.std(ddof=1) / math.sqrt(loss.size)) if loss.size >= 2 else math.nan
        if loss.size >= 2 and float(loss.mean()) <= N_STDERR * se:
            return SafeFraction(float(row.keep_fraction), str(row.best), float(loss.mean()), se)
    return None


def regime_of(examples_per_dim: float) -> str:
    """``"scarce"``, ``"intermediate"`` or ``"abundant"`` from examples per dimension."""
    if examples_per_dim < SCARCE_PER_DIM:
        return "scarce"
    return "abundant" if examples_per_dim > ABUNDANT_PER_DIM else "intermediate"


_EXPECTATION = {
    "scarce": "keeping easy examples should beat keeping hard ones when pruning",
    "intermediate": "neither keeping easy nor keeping hard examples is clearly favoured",
    "abundant": "keeping hard examples should pay off at mild pruning, with random strong when "
    "30% or less is kept",
}


def _points(value: float) -> str:
    return f"{100 * value:.1f}"


def _fractions_text(fractions: list[float]) -> str:
    return "f = " + ", ".join(f"{f:g}" for f in fractions)


def advice_sentence(
    verdicts: pd.DataFrame,
    *,
    examples_per_class: float,
    examples_per_dim: float,
    safe: SafeFraction | None = None,
) -> str:
    """Build the advisor's sentence from :func:`fraction_verdicts` rows (see :func:`advise`).

    Margins and standard errors are written in accuracy points (percent).
    """
    wins = verdicts[verdicts["verdict"] == "win"]
    ties = verdicts[verdicts["verdict"] != "win"]
    parts = []
    if len(verdicts) == 0:
        parts.append("no kept fraction below 1 compares two strategies here")
    elif len(wins) == 0:
        parts.append(
            f"no strategy beats the runner-up by more than two standard errors at any of "
            f"{_fractions_text(ties['keep_fraction'].tolist())}, so random pruning is as good "
            "as any metric here (within noise)"
        )
    else:
        clauses = [
            f"{r.best} wins at f = {r.keep_fraction:g} by {_points(r.margin)} ± "
            f"{_points(r.stderr)} points over {r.runner_up}"
            for r in wins.itertuples(index=False)
        ]
        parts.append("; ".join(clauses))
        if len(ties):
            parts.append(f"ties within noise at {_fractions_text(ties['keep_fraction'].tolist())}")
    if safe is not None:
        parts.append(
            f"the smallest kept fraction within noise of the unpruned probe is f = "
            f"{safe.keep_fraction:g} ({safe.strategy}, {_points(safe.loss)} ± "
            f"{_points(safe.stderr)} points below it)"
        )
    regime = regime_of(examples_per_dim)
    parts.append(
        f"with {examples_per_class:.0f} train examples per class and {examples_per_dim:.1f} per "
        f"dimension the data look {regime} in the paper's terms, where {_EXPECTATION[regime]} "
        "(a hint from a perceptron model, not a guarantee)"
    )
    return "Here " + "; ".join(parts) + "."
