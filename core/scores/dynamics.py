"""Training-dynamics difficulty scores (EL2N, forgetting, AUM) from per-example training records.

Users who trained a model bring what they recorded during training; prunescope turns it into
scores oriented **higher = harder** that plug into the same selection / export machinery as the
embedding metrics (``core.prune.select``, ``core.export``).

The records (``core.io.records.TrainingRecords``) hold per-epoch ``logits``, ``probs`` and/or
``correct`` arrays, ``labels`` and optional ``ids``; which ones a metric needs is in
:data:`REQUIRED_KEYS`.

Metrics (details and citations in the functions below):

- ``el2n`` (Paul, Ganguli, Dziugaite 2021): ``|softmax(f(x)) - onehot(y)|_2`` averaged over the
  records; keep high.
- ``forgetting`` (Toneva et al. 2019): number of 1 -> 0 transitions of ``correct`` between
  consecutive presentations; never-learned examples score ``n_epochs + 1``, above any count
  reachable in ``n_epochs`` presentations.
- ``aum`` (Pleiss et al. 2020): the exported score is **-AUM**, where AUM = mean over epochs of
  (assigned logit - largest other logit); low AUM suggests a mislabel, so high -AUM = harder.

``python -m core demo-records`` builds the shipped demo file (``core.io.demo_records``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from numbers import Integral
from typing import TYPE_CHECKING, Any

import numpy as np

from core.io.records import TrainingRecords
from core.validate import (
    check_correct,
    check_labels_in_range,
    check_per_class_array,
    check_probabilities,
    looks_like_probabilities,
    name_some,
)

if TYPE_CHECKING:
    from core.scores.metrics import Scores

#: What each metric needs: every group must be satisfied by one of its keys.
REQUIRED_KEYS = {
    "el2n": (("logits", "probs"), ("labels",)),
    "forgetting": (("correct", "logits", "probs"),),
    "aum": (("logits",), ("labels",)),
}
_EL2N_KINDS = ("auto", "logits", "probs")
#: EL2N's default checkpoint: this far through the records (Paul et al. 2021 score at epoch 20
#: of 200 on CIFAR-10, "early in training").
EL2N_EARLY_FRACTION = 0.1


def early_checkpoint(n_epochs: int) -> int:
    """The record index EL2N uses by default: ``floor(EL2N_EARLY_FRACTION * n_epochs)``, the
    checkpoint 10% of the way through training (200 records -> 20, 10 -> 1, fewer than 10 -> 0).

    Parameters
    ----------
    n_epochs : int
        Number of records, >= 1.

    Returns
    -------
    int
        In [0, n_epochs).

    Raises
    ------
    ValueError
        If ``n_epochs`` is not an int >= 1.
    """
    if not isinstance(n_epochs, Integral) or isinstance(n_epochs, bool) or n_epochs < 1:
        raise ValueError(f"n_epochs={n_epochs!r} should be an int >= 1")
    return min(int(n_epochs) - 1, int(EL2N_EARLY_FRACTION * int(n_epochs) + 1e-9))


# ----------------------------------------------------------------------------- building records


# ----------------------------------------------------------------------------- metrics


def score_el2n(
    probs_or_logits: Any,
    labels: Any,
    *,
    epochs: int | Sequence[int] | None = None,
    kind: str = "auto",
) -> Scores:
    """EL2N: ``|softmax(f(x)) - onehot(y)|_2``, averaged over the selected records.

    Paul, Ganguli, Dziugaite, *Deep learning on a data diet* (NeurIPS 2021) compute it early in
    training (e.g. epoch 20) and average over several independently trained models; axis 0 of
    the input may therefore be epochs of one run or independent runs -- pass the records you
    want averaged through ``epochs``. Higher = harder (keep high). Values lie in [0, sqrt(2)].

    Parameters
    ----------
    probs_or_logits : array_like of shape (n_epochs, n, c)
        Softmax outputs or logits (see ``kind``).
    labels : array_like of shape (n,)
        Integers in [0, c).
    epochs : int, sequence of int, or None
        None = every record; an int N = the first N records (early training); a sequence =
        those record indices.
    kind : {"auto", "logits", "probs"}
        ``"auto"``: probabilities when every value is in [0, 1] and every row sums to 1 within
        1e-3, else logits (softmax applied). Recorded in ``params.source``.

    Returns
    -------
    Scores
        metric "el2n", values (n,) float64, no clusters or centroids, params ``source``,
        ``epochs`` (record indices used), ``n_epochs``.

    Raises
    ------
    ValueError
        Bad array (see :func:`make_training_records`), labels out of range, unknown ``kind``,
        ``kind="probs"`` for values that are not probabilities, or bad ``epochs``.
    """
    if not isinstance(kind, str) or kind not in _EL2N_KINDS:
        raise ValueError(f"kind={kind!r} is not one of {', '.join(_EL2N_KINDS)}")
    array = check_per_class_array(probs_or_logits, "probs_or_logits")
    if kind == "auto":
        kind = "probs" if looks_like_probabilities(array) else "logits"
    elif kind == "probs":
        check_probabilities(array)
    codes = check_labels_in_range(labels, array.shape[1], array.shape[2])
    used = _epoch_indices(epochs, array.shape[0])
    return _el2n(array, codes, used, kind)


def score_forgetting(correct: Any, *, epochs: int | Sequence[int] | None = None) -> Scores:
    """Forgetting events: how often an example goes from correct to wrong between presentations.

    Toneva et al., *An Empirical Study of Example Forgetting during Deep Neural Network
    Learning* (ICLR 2019): a forgetting event is a 1 -> 0 transition of the example's training
    accuracy between consecutive presentations. Higher = harder. Examples never classified
    correctly in any selected presentation rank hardest: they score ``n_epochs + 1``, a finite
    value (CSV-safe) above every count reachable in ``n_epochs`` presentations (at most
    ``floor(n_epochs / 2)``).

    Parameters
    ----------
    correct : array_like of shape (n_epochs, n)
        bool, or integers 0/1; presentation order along axis 0.
    epochs : int, sequence of int, or None
        None = every presentation; an int N = the first N; a sequence = those indices
        (ascending order is used).

    Returns
    -------
    Scores
        metric "forgetting", values (n,) float64 in {0, 1, ..., floor(n_epochs/2), n_epochs + 1},
        params ``n_epochs``, ``epochs``, ``never_learned_score``, ``n_never_learned``.

    Raises
    ------
    ValueError
        Not 2-D, fewer than 1 epoch or 2 examples, values other than 0/1, or bad ``epochs``.
    """
    array = check_correct(correct)
    used = _epoch_indices(epochs, array.shape[0])
    return _forgetting(array, used, "correct")


def score_aum(logits: Any, labels: Any, *, epochs: int | Sequence[int] | None = None) -> Scores:
    """Negative area under the margin: ``-mean_e(z_y - max_{j != y} z_j)``.

    Pleiss et al., *Identifying Mislabeled Data using the Area Under the Margin Ranking*
    (NeurIPS 2020): AUM is the mean over training epochs of the assigned-class logit minus the
    largest other logit; a low or negative AUM suggests a mislabel. **The exported score is
    -AUM**, so that higher = harder, as for every prunescope score. Log-probabilities give the
    same margins as logits (softmax only shifts each row), so they may be passed as ``logits``.

    Parameters
    ----------
    logits : array_like of shape (n_epochs, n, c)
        Pre-softmax outputs, c >= 2.
    labels : array_like of shape (n,)
        Integers in [0, c).
    epochs : int, sequence of int, or None
        None = every epoch; an int N = the first N; a sequence = those indices.

    Returns
    -------
    Scores
        metric "aum", values (n,) float64 = -AUM, params ``score`` ("-AUM"), ``n_epochs``,
        ``epochs``.

    Raises
    ------
    ValueError
        Bad logits (see :func:`make_training_records`), labels out of range, or bad ``epochs``.
    """
    array = check_per_class_array(logits, "logits")
    codes = check_labels_in_range(labels, array.shape[1], array.shape[2])
    used = _epoch_indices(epochs, array.shape[0])
    return _aum(array, codes, used)


def score_records(
    records: TrainingRecords, metric: str, *, epochs: int | Sequence[int] | None = None
) -> Scores:
    """Compute one of :data:`core.scores.registry.RECORD_METRICS` from validated records (the CLI's dispatcher).

    ``el2n`` uses ``probs`` when recorded, else the softmax of ``logits``; without ``epochs`` it
    is computed at one early checkpoint, record :func:`early_checkpoint` (10% into training, as
    Paul et al. 2021), not averaged over all records. ``forgetting`` uses
    ``correct`` when recorded, else derives it as ``argmax(logits or probs) == label`` per record
    (``params.correct_from`` says which). ``aum`` needs ``logits``.

    Parameters
    ----------
    records : TrainingRecords
    metric : {"el2n", "forgetting", "aum"}
    epochs : int, sequence of int, or None
        See :func:`score_el2n`; None = every record, except ``el2n``: the early checkpoint.

    Returns
    -------
    Scores
        Higher = harder.

    Raises
    ------
    ValueError
        Unknown metric, or the records lack the keys the metric needs (the message names the
        keys present and the ones needed), or bad ``epochs``.
    """
    from core.scores.registry import get_metric

    scores: Scores = get_metric(metric, input="records").score(records, epochs=epochs)
    return scores


def _checked_epochs(
    records: TrainingRecords, metric: str, epochs: int | Sequence[int] | None
) -> np.ndarray:
    """The record indices to use, after checking the records hold what ``metric`` needs."""
    present = set(records.keys)
    for group in REQUIRED_KEYS[metric]:
        if not present & set(group):
            needed = " or ".join(repr(key) for key in group)
            if metric == "forgetting":
                needed = "'correct' (or 'logits'/'probs' with 'labels')"
            raise ValueError(
                f"metric {metric!r} needs {needed} in the training records; they hold "
                f"{', '.join(records.keys)}"
            )
    return _epoch_indices(epochs, records.n_epochs)


def _needed_labels(records: TrainingRecords, metric: str) -> np.ndarray:
    if records.labels is None:
        raise ValueError(
            f"metric {metric!r} needs 'labels'"
            + (" (to derive 'correct' from logits/probs)" if metric == "forgetting" else "")
            + f" in the training records; they hold {', '.join(records.keys)}"
        )
    return records.labels


def _records_el2n(records: TrainingRecords, *, epochs: int | Sequence[int] | None = None) -> Scores:
    if epochs is None:  # the paper's early checkpoint, not every record
        epochs = [early_checkpoint(records.n_epochs)]
    used = _checked_epochs(records, "el2n", epochs)
    labels = _needed_labels(records, "el2n")
    if records.probs is not None:
        return _el2n(records.probs, labels, used, "probs")
    if records.logits is not None:
        return _el2n(records.logits, labels, used, "logits")
    raise ValueError(f"metric 'el2n': the training records hold {', '.join(records.keys)}")


def score_runs(
    runs: Sequence[TrainingRecords], metric: str, *, epochs: int | Sequence[int] | None = None
) -> Scores:
    """:func:`score_records` of each independent training run, averaged example by example.

    Paul et al. average EL2N over several runs; Toneva et al.'s forgetting counts are noisy
    from one run, so averaging the per-run counts (never-learned examples counting
    ``n_epochs + 1`` in the runs where they were never learned) ranks more stably.

    Parameters
    ----------
    runs : sequence of TrainingRecords
        At least one; every run with the same examples (n) and, when recorded, the same labels
        and ids.
    metric : {"el2n", "forgetting", "aum"}
    epochs : int, sequence of int, or None
        Applied to every run, as in :func:`score_records`.

    Returns
    -------
    Scores
        Mean of the per-run values; params are the first run's plus ``n_runs``.

    Raises
    ------
    ValueError
        No runs, runs of different sizes, labels or ids, or any :func:`score_records` error
        (prefixed with the run number when there are several).
    """
    from core.scores.metrics import Scores

    if len(runs) < 1:
        raise ValueError("runs should hold at least one set of training records")
    first = runs[0]
    for i, run in enumerate(runs[1:], start=1):
        _check_same_examples(first, run, i)
    per_run = []
    for i, run in enumerate(runs):
        try:
            per_run.append(score_records(run, metric, epochs=epochs))
        except ValueError as exc:
            if len(runs) == 1:
                raise
            raise ValueError(f"run {i}: {exc}") from None
    if len(per_run) == 1:
        return per_run[0]
    params = dataclasses.replace(per_run[0].params, n_runs=len(per_run))
    values = np.mean([scores.values for scores in per_run], axis=0)
    return Scores(metric, values, None, None, params)


def _check_same_examples(first: TrainingRecords, run: TrainingRecords, i: int) -> None:
    if run.n != first.n:
        raise ValueError(f"run {i} has n={run.n} examples but run 0 has n={first.n}")
    for name in ("labels", "ids"):
        a, b = getattr(first, name), getattr(run, name)
        if (a is None) != (b is None) or (a is not None and not np.array_equal(a, b)):
            raise ValueError(f"run {i} has other {name} than run 0")


def _records_forgetting(
    records: TrainingRecords, *, epochs: int | Sequence[int] | None = None
) -> Scores:
    used = _checked_epochs(records, "forgetting", epochs)
    if records.correct is not None:
        return _forgetting(records.correct, used, "correct")
    labels = _needed_labels(records, "forgetting")
    if records.logits is not None:
        return _forgetting(_derived_correct(records.logits, labels), used, "argmax(logits)")
    if records.probs is not None:
        return _forgetting(_derived_correct(records.probs, labels), used, "argmax(probs)")
    raise ValueError(f"metric 'forgetting': the training records hold {', '.join(records.keys)}")


def _records_aum(records: TrainingRecords, *, epochs: int | Sequence[int] | None = None) -> Scores:
    used = _checked_epochs(records, "aum", epochs)
    labels = _needed_labels(records, "aum")
    if records.logits is not None:
        return _aum(records.logits, labels, used)
    raise ValueError(f"metric 'aum': the training records hold {', '.join(records.keys)}")


#: The scorer of each records metric, registered in :data:`core.scores.registry.REGISTRY`.
RECORD_SCORERS = {"el2n": _records_el2n, "forgetting": _records_forgetting, "aum": _records_aum}


def _epoch_indices(epochs: object, n_epochs: int) -> np.ndarray:
    """Sorted unique record indices selected by ``epochs`` (None, int N, or a sequence)."""
    if epochs is None:
        return np.arange(n_epochs)
    if isinstance(epochs, Integral) and not isinstance(epochs, bool):
        count = int(epochs)
        if not 1 <= count <= n_epochs:
            raise ValueError(f"epochs={count} should be in [1, n_epochs={n_epochs}]")
        return np.arange(count)
    if isinstance(epochs, (str, bytes)) or not isinstance(epochs, (Sequence, np.ndarray)):
        raise ValueError(f"epochs={epochs!r} should be None, an int or a sequence of ints")
    chosen = np.asarray(epochs)
    if chosen.ndim != 1 or chosen.size == 0 or chosen.dtype.kind not in "iu":
        raise ValueError(f"epochs={list(epochs)!r} should be a non-empty sequence of ints")
    outside = chosen[(chosen < 0) | (chosen >= n_epochs)]
    if outside.size:
        raise ValueError(
            f"epochs {name_some(outside.tolist())} are outside [0, n_epochs={n_epochs})"
        )
    return np.unique(chosen.astype(np.int64))


# ----------------------------------------------------------------------------- computations


def softmax(block: np.ndarray) -> np.ndarray:
    shifted = block.astype(np.float64) - block.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def _el2n(array: np.ndarray, codes: np.ndarray, used: np.ndarray, kind: str) -> Scores:
    from core.scores.metrics import ScoreParams, Scores

    n = array.shape[1]
    rows = np.arange(n)
    total = np.zeros(n, dtype=np.float64)
    for epoch in used.tolist():
        probs = softmax(array[epoch]) if kind == "logits" else array[epoch].astype(np.float64)
        # |p - e_y|^2 = sum_j p_j^2 - 2 p_y + 1
        squared = np.einsum("ij,ij->i", probs, probs) - 2.0 * probs[rows, codes] + 1.0
        total += np.sqrt(np.maximum(squared, 0.0))
    params = ScoreParams(source=kind, epochs=tuple(used.tolist()), n_epochs=int(used.size))
    return Scores("el2n", total / used.size, None, None, params)


def _aum(array: np.ndarray, codes: np.ndarray, used: np.ndarray) -> Scores:
    from core.scores.metrics import ScoreParams, Scores

    n = array.shape[1]
    rows = np.arange(n)
    total = np.zeros(n, dtype=np.float64)
    for epoch in used.tolist():
        block = array[epoch].astype(np.float64)  # a copy: the assigned column is masked below
        assigned = block[rows, codes].copy()
        block[rows, codes] = -np.inf
        total += assigned - block.max(axis=1)
    params = ScoreParams(score="-AUM", epochs=tuple(used.tolist()), n_epochs=int(used.size))
    return Scores("aum", -(total / used.size), None, None, params)


def _forgetting(correct: np.ndarray, used: np.ndarray, source: str) -> Scores:
    from core.scores.metrics import ScoreParams, Scores

    history = correct[used]
    forgotten = (history[:-1] & ~history[1:]).sum(axis=0, dtype=np.int64).astype(np.float64)
    never = ~history.any(axis=0)
    never_score = float(used.size + 1)
    forgotten[never] = never_score
    params = ScoreParams(
        correct_from=source,
        epochs=tuple(used.tolist()),
        n_epochs=int(used.size),
        never_learned_score=never_score,
        n_never_learned=int(never.sum()),
    )
    return Scores("forgetting", forgotten, None, None, params)


def _derived_correct(outputs: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """(n_epochs, n) bool: argmax of each record's outputs equals the label (first max wins)."""
    return np.stack([outputs[epoch].argmax(axis=1) == codes for epoch in range(len(outputs))])
