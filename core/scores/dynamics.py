"""Training-dynamics difficulty scores (EL2N, forgetting, AUM) from per-example training records.

Users who trained a model bring what they recorded during training; prunescope turns it into
scores oriented **higher = harder** that plug into the same selection / export machinery as the
embedding metrics (``core.prune.select``, ``core.export``).

Records file (``.npz``, read with ``allow_pickle=False``); axis 0 of every per-epoch array is the
record index ``e`` -- an epoch of one training run, or (for EL2N as in the paper) one of several
independent runs recorded at the same early epoch:

=========== ================== ==========================================================
key         shape              meaning
=========== ================== ==========================================================
``logits``  (epochs, n, c)     float; the model's pre-softmax outputs for every example
``probs``   (epochs, n, c)     float in [0, 1], rows summing to 1; softmax outputs
``correct`` (epochs, n)        bool or 0/1 ints; was the example classified correctly when
                               it was presented (training accuracy per presentation)
``labels``  (n,)               int in [0, c); the (possibly noisy) training labels
``ids``     (n,)               str or int, unique; optional example ids
=========== ================== ==========================================================

At least one of ``logits``, ``probs``, ``correct`` must be present; which ones a metric needs is
in :data:`REQUIRED_KEYS`. Other keys are rejected (a misspelt key would otherwise be ignored).

Metrics (details and citations in the functions below):

- ``el2n`` (Paul, Ganguli, Dziugaite 2021): ``|softmax(f(x)) - onehot(y)|_2`` averaged over the
  records; keep high.
- ``forgetting`` (Toneva et al. 2019): number of 1 -> 0 transitions of ``correct`` between
  consecutive presentations; never-learned examples score ``n_epochs + 1``, above any count
  reachable in ``n_epochs`` presentations.
- ``aum`` (Pleiss et al. 2020): the exported score is **-AUM**, where AUM = mean over epochs of
  (assigned logit - largest other logit); low AUM suggests a mislabel, so high -AUM = harder.

``python -m core.scores.dynamics demo --out sample_data/demo_training_records.npz`` builds the shipped
demo file (a numpy softmax regression on the digits pixel embeddings with 5% flipped labels) and
prints how well each metric finds the flipped labels.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.io.data import (
    Dataset,
    FileInfo,
    _encode_labels,
    _name_some,
    _validated_ids,
    numpy_read_errors,
)

if TYPE_CHECKING:
    from core.prune.select import Selection
    from core.scores.metrics import Scores

DYNAMICS_METRICS = ("el2n", "forgetting", "aum")
#: The keys a records ``.npz`` may hold.
RECORD_KEYS = ("logits", "probs", "correct", "labels", "ids")
#: What each metric needs: every group must be satisfied by one of its keys.
REQUIRED_KEYS = {
    "el2n": (("logits", "probs"), ("labels",)),
    "forgetting": (("correct", "logits", "probs"),),
    "aum": (("logits",), ("labels",)),
}
_PROB_TOLERANCE = 1e-3  # |sum of a probability row - 1| allowed (float16/float32 storage)
_EL2N_KINDS = ("auto", "logits", "probs")
_N_SHOWN = 5  # how many offending values an error message shows


@dataclass(frozen=True, eq=False, slots=True)
class TrainingRecords:
    """Validated per-example training records (see the module docstring for the file format).

    Attributes
    ----------
    logits : ndarray of shape (n_epochs, n, c), float, finite, or None
    probs : ndarray of shape (n_epochs, n, c), float in [0, 1], rows summing to 1, or None
    correct : ndarray of shape (n_epochs, n), bool, or None
    labels : ndarray of shape (n,), int64 in [0, c), or None
    ids : ndarray of shape (n,), str, unique, or None
    sources : provenance of the file the records were loaded from (empty when built in memory).
    """

    logits: np.ndarray | None
    probs: np.ndarray | None
    correct: np.ndarray | None
    labels: np.ndarray | None
    ids: np.ndarray | None
    sources: tuple[FileInfo, ...] = ()

    @property
    def n_epochs(self) -> int:
        return int(self._first().shape[0])

    @property
    def n(self) -> int:
        return int(self._first().shape[1])

    @property
    def n_classes(self) -> int | None:
        """c from ``logits``/``probs``; None when only ``correct`` was recorded."""
        for array in (self.logits, self.probs):
            if array is not None:
                return int(array.shape[2])
        return None

    @property
    def keys(self) -> tuple[str, ...]:
        """The record keys present, in :data:`RECORD_KEYS` order."""
        return tuple(key for key in RECORD_KEYS if getattr(self, key) is not None)

    def _first(self) -> np.ndarray:
        for array in (self.logits, self.probs, self.correct):
            if array is not None:
                return array
        raise ValueError("training records hold none of logits, probs, correct")


# ----------------------------------------------------------------------------- building records


def make_training_records(
    *,
    logits: Any = None,
    probs: Any = None,
    correct: Any = None,
    labels: Any = None,
    ids: Any = None,
    sources: Sequence[FileInfo] = (),
) -> TrainingRecords:
    """Validate training records held in memory and bundle them into :class:`TrainingRecords`.

    Parameters
    ----------
    logits : array_like of shape (n_epochs, n, c), optional
        Real numbers, finite.
    probs : array_like of shape (n_epochs, n, c), optional
        Values in [0, 1], each (epoch, example) row summing to 1 within 1e-3.
    correct : array_like of shape (n_epochs, n), optional
        bool, or integers 0/1.
    labels : array_like of shape (n,), optional
        Integers in [0, c) (c from logits/probs; any non-negative integers without them).
    ids : array_like of shape (n,), optional
        Unique ids (stored as str).
    sources : sequence of FileInfo

    Returns
    -------
    TrainingRecords

    Raises
    ------
    ValueError
        None of logits / probs / correct given; object arrays; wrong dtype or number of
        dimensions; fewer than 1 epoch, 2 examples or (logits/probs) 2 classes; shapes that
        disagree between keys; NaN/inf (the count and first example rows are named); probs
        outside [0, 1] or not summing to 1; correct not 0/1; labels out of range (count, first
        rows and values named); missing or repeated ids.
    """
    if logits is None and probs is None and correct is None:
        raise ValueError(
            "training records need at least one of 'logits', 'probs' or 'correct'; got none"
        )
    logits_ = None if logits is None else _per_class_array(logits, "logits")
    probs_ = None if probs is None else _per_class_array(probs, "probs")
    if logits_ is not None and probs_ is not None and logits_.shape != probs_.shape:
        raise ValueError(
            f"logits has shape {logits_.shape} but probs has shape {probs_.shape}; "
            "they should match (n_epochs, n, c)"
        )
    if probs_ is not None:
        _check_probabilities(probs_)
    correct_ = None if correct is None else _correct_array(correct)
    reference = logits_ if logits_ is not None else probs_
    if correct_ is not None and reference is not None:
        name = "logits" if logits_ is not None else "probs"
        if correct_.shape != reference.shape[:2]:
            raise ValueError(
                f"correct has shape {correct_.shape} but {name} has shape {reference.shape}; "
                f"correct should be (n_epochs, n) = {reference.shape[:2]}"
            )
    if reference is not None:
        n = int(reference.shape[1])
    elif correct_ is not None:
        n = int(correct_.shape[1])
    n_classes = None if reference is None else int(reference.shape[2])
    labels_ = None if labels is None else _label_array(labels, n, n_classes)
    ids_ = None if ids is None else _id_array(ids, n)
    return TrainingRecords(logits_, probs_, correct_, labels_, ids_, tuple(sources))


def load_training_records(path: str | Path) -> TrainingRecords:
    """Read training records from an ``.npz`` file (``allow_pickle=False``) and validate them.

    Parameters
    ----------
    path : str or Path
        ``.npz`` with the keys described in the module docstring.

    Returns
    -------
    TrainingRecords
        ``sources`` holds the file's name, size and SHA-256.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        Not an ``.npz`` file, unreadable, pickled/object arrays, unknown keys (the valid ones are
        listed), or any problem reported by :func:`make_training_records`; the message starts
        with the file name.
    """
    from core.io.data import _checked_file, file_info

    path = _checked_file(path, "training records", (".npz",))
    arrays = _read_npz(path)
    unknown = sorted(set(arrays) - set(RECORD_KEYS))
    if unknown:
        raise ValueError(
            f"{path.name}: unknown keys {unknown}; training records hold {', '.join(RECORD_KEYS)}"
        )
    try:
        return make_training_records(**arrays, sources=(file_info(path),))
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from None


def save_training_records(path: str | Path, records: TrainingRecords) -> None:
    """Write ``records`` as a compressed ``.npz`` (only the keys present), atomically.

    The bytes depend only on the arrays (zip entries carry a fixed timestamp), so saving the same
    records twice gives identical files.
    """
    from core.export import write_atomic

    write_atomic(path, _npz_bytes({key: getattr(records, key) for key in records.keys}))


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
        1e-3, else logits (softmax applied). Recorded in ``params["from"]``.

    Returns
    -------
    Scores
        metric "el2n", values (n,) float64, no clusters or centroids, params ``from``,
        ``epochs`` (record indices used), ``n_epochs``.

    Raises
    ------
    ValueError
        Bad array (see :func:`make_training_records`), labels out of range, unknown ``kind``,
        ``kind="probs"`` for values that are not probabilities, or bad ``epochs``.
    """
    if not isinstance(kind, str) or kind not in _EL2N_KINDS:
        raise ValueError(f"kind={kind!r} is not one of {', '.join(_EL2N_KINDS)}")
    array = _per_class_array(probs_or_logits, "probs_or_logits")
    if kind == "auto":
        kind = "probs" if _looks_like_probabilities(array) else "logits"
    elif kind == "probs":
        _check_probabilities(array)
    codes = _label_array(labels, array.shape[1], array.shape[2])
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
    array = _correct_array(correct)
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
    array = _per_class_array(logits, "logits")
    codes = _label_array(labels, array.shape[1], array.shape[2])
    used = _epoch_indices(epochs, array.shape[0])
    return _aum(array, codes, used)


def score_records(
    records: TrainingRecords, metric: str, *, epochs: int | Sequence[int] | None = None
) -> Scores:
    """Compute one of :data:`DYNAMICS_METRICS` from validated records (the CLI's dispatcher).

    ``el2n`` uses ``probs`` when recorded, else the softmax of ``logits``. ``forgetting`` uses
    ``correct`` when recorded, else derives it as ``argmax(logits or probs) == label`` per record
    (``params["correct_from"]`` says which). ``aum`` needs ``logits``.

    Parameters
    ----------
    records : TrainingRecords
    metric : {"el2n", "forgetting", "aum"}
    epochs : int, sequence of int, or None
        See :func:`score_el2n`.

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
    if not isinstance(metric, str) or metric not in DYNAMICS_METRICS:
        raise ValueError(f"metric={metric!r} is not one of {', '.join(DYNAMICS_METRICS)}")
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
    used = _epoch_indices(epochs, records.n_epochs)
    labels, logits, probs = records.labels, records.logits, records.probs
    if metric == "forgetting" and records.correct is not None:
        return _forgetting(records.correct, used, "correct")
    if labels is None:  # every other path needs labels
        raise ValueError(
            f"metric {metric!r} needs 'labels'"
            + (" (to derive 'correct' from logits/probs)" if metric == "forgetting" else "")
            + f" in the training records; they hold {', '.join(records.keys)}"
        )
    if metric == "aum" and logits is not None:
        return _aum(logits, labels, used)
    if metric == "el2n" and probs is not None:
        return _el2n(probs, labels, used, "probs")
    if metric == "el2n" and logits is not None:
        return _el2n(logits, labels, used, "logits")
    if metric == "forgetting" and logits is not None:
        return _forgetting(_derived_correct(logits, labels), used, "argmax(logits)")
    if metric == "forgetting" and probs is not None:
        return _forgetting(_derived_correct(probs, labels), used, "argmax(probs)")
    raise ValueError(f"metric {metric!r}: the training records hold {', '.join(records.keys)}")


# ----------------------------------------------------------------------------- export


def records_dataset(
    records: TrainingRecords,
    *,
    ids: Any = None,
    labels: Any = None,
    sources: Sequence[FileInfo] | None = None,
) -> Dataset:
    """A :class:`~core.io.data.Dataset` describing the scored examples, for ``core.export``.

    Training records carry no embeddings, so ``embeddings`` is an empty ``(n, 0)`` float32 array
    (no placeholder values; anything that needs real embeddings fails loudly on it) and the
    manifests written by :func:`write_dynamics_outputs` record ``d`` as null.

    Ids: ``ids`` if given, else the records' ``ids``, else row numbers ``"0".."n-1"``. Labels:
    the records' ``labels`` (class names ``"0".."c-1"``: the scores were computed against them),
    else ``labels`` (any values, encoded like ``core.io.data.make_dataset``), else none.

    Raises
    ------
    ValueError
        When ``ids``/``labels`` do not have n entries, ids repeat or differ from the records'
        ids (when both exist), or labels are missing.
    """
    n = records.n
    chosen_ids = records.ids
    if ids is not None:
        given = _validated_ids(ids, n)
        if records.ids is not None and not np.array_equal(given, records.ids):
            rows = np.flatnonzero(given != records.ids)
            raise ValueError(
                f"the metadata ids differ from the training records' ids in {rows.size} of {n} "
                f"rows (rows {_name_some(rows.tolist())}); are the rows in the same order?"
            )
        chosen_ids = given
    if chosen_ids is None:
        chosen_ids = np.arange(n).astype(str)
    if records.labels is not None:
        n_classes = records.n_classes or int(records.labels.max()) + 1
        codes: np.ndarray | None = records.labels
        class_names = tuple(str(i) for i in range(n_classes))
    elif labels is not None:
        codes, class_names = _encode_labels(labels, n)
    else:
        codes, class_names = None, ()
    return Dataset(
        embeddings=np.zeros((n, 0), dtype=np.float32),
        ids=chosen_ids,
        labels=codes,
        class_names=class_names,
        name="training records",
        sources=tuple(records.sources if sources is None else sources),
    )


def write_dynamics_outputs(
    out_csv: str | Path, dataset: Dataset, scores: Scores, selection: Selection | None
) -> tuple[Path, Path]:
    """Write the scores CSV (``selection=None``) or kept CSV and ``<stem>.manifest.json``.

    :func:`core.export.write_prune_outputs` with ``extra={"scored_from": "training records"}``;
    the manifest's ``d`` is null because records carry no embeddings.

    Raises
    ------
    ValueError
        When scores or selection do not match the dataset, or the output folder is missing.
    OSError
        When a file cannot be written.
    """
    from core.export import write_prune_outputs

    return write_prune_outputs(
        out_csv, dataset, scores, selection, extra={"scored_from": "training records"}
    )


# ----------------------------------------------------------------------------- validation


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with path.open("rb") as handle:
        magic = handle.read(4)
    if not magic.startswith(b"PK"):
        raise ValueError(f"could not read {path.name}: not a NumPy .npz file")
    with numpy_read_errors(path), np.load(path, allow_pickle=False) as archive:
        return {key: np.asarray(archive[key]) for key in archive.files}


def _no_objects(array: np.ndarray, name: str) -> None:
    if array.dtype.kind == "O":
        raise ValueError(f"{name}: object arrays are not accepted; save numeric arrays")


def _per_class_array(values: Any, name: str) -> np.ndarray:
    """(n_epochs, n, c) finite real array, c >= 2, n >= 2, n_epochs >= 1 (dtype kept if float)."""
    array = np.asarray(values)
    _no_objects(array, name)
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
            f"(rows {_name_some(rows.tolist())})"
        )
    return array


def _looks_like_probabilities(array: np.ndarray) -> bool:
    for epoch in range(array.shape[0]):
        block = array[epoch]
        if block.min() < 0 or block.max() > 1:
            return False
        if np.abs(block.sum(axis=1, dtype=np.float64) - 1.0).max() > _PROB_TOLERANCE:
            return False
    return True


def _check_probabilities(array: np.ndarray) -> None:
    n = array.shape[1]
    out_of_range = np.zeros(n, dtype=bool)
    bad_sum = np.zeros(n, dtype=bool)
    for epoch in range(array.shape[0]):
        block = array[epoch]
        out_of_range |= ((block < 0) | (block > 1)).any(axis=1)
        bad_sum |= np.abs(block.sum(axis=1, dtype=np.float64) - 1.0) > _PROB_TOLERANCE
    rows = np.flatnonzero(out_of_range)
    if rows.size:
        raise ValueError(
            f"probs: {rows.size} of {n} examples have values outside [0, 1] "
            f"(rows {_name_some(rows.tolist())}); save softmax outputs as 'probs' or raw "
            "outputs as 'logits'"
        )
    rows = np.flatnonzero(bad_sum)
    if rows.size:
        raise ValueError(
            f"probs: {rows.size} of {n} examples have rows that do not sum to 1 "
            f"(within {_PROB_TOLERANCE}; rows {_name_some(rows.tolist())})"
        )


def _correct_array(values: Any) -> np.ndarray:
    """(n_epochs, n) bool from bool or 0/1 integers (or floats exactly 0/1)."""
    array = np.asarray(values)
    _no_objects(array, "correct")
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
        values_seen = np.unique(array[:, bad[:_N_SHOWN]])
        raise ValueError(
            f"correct should hold only 0/1 (or bool); {bad.size} of {n} examples have other "
            f"values (rows {_name_some(bad.tolist())}; values {_name_some(values_seen.tolist())})"
        )
    return array.astype(bool)


def _label_array(values: Any, n: int, n_classes: int | None) -> np.ndarray:
    """(n,) int64 codes in [0, n_classes)."""
    array = np.asarray(values)
    _no_objects(array, "labels")
    if array.ndim != 1:
        raise ValueError(f"labels should be 1-D with n={n} entries, got shape {array.shape}")
    if array.shape[0] != n:
        raise ValueError(f"labels has {array.shape[0]} entries but the records have n={n}")
    if array.dtype.kind not in "iu":
        raise ValueError(
            f"labels should be integer class indices in [0, c), got dtype {array.dtype}"
        )
    codes = array.astype(np.int64)
    high = n_classes if n_classes is not None else None
    bad = codes < 0 if high is None else (codes < 0) | (codes >= high)
    rows = np.flatnonzero(bad)
    if rows.size:
        where = "[0, c)" if high is None else f"[0, c={high})"
        raise ValueError(
            f"labels should lie in {where}; {rows.size} of {n} are outside "
            f"(rows {_name_some(rows.tolist())}; values "
            f"{_name_some(codes[rows[:_N_SHOWN]].tolist())})"
        )
    return codes


def _id_array(values: Any, n: int) -> np.ndarray:
    array = np.asarray(values)
    _no_objects(array, "ids")
    if array.dtype.kind not in "USiu":
        raise ValueError(f"ids should be str or integers, got dtype {array.dtype}")
    if array.dtype.kind == "S":
        array = array.astype(str)
    if array.ndim != 1:
        raise ValueError(f"ids should be 1-D with n={n} entries, got shape {array.shape}")
    if array.shape[0] != n:
        raise ValueError(f"ids has {array.shape[0]} entries but the records have n={n}")
    return _validated_ids(array, n)


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
            f"epochs {_name_some(outside.tolist())} are outside [0, n_epochs={n_epochs})"
        )
    return np.unique(chosen.astype(np.int64))


# ----------------------------------------------------------------------------- computations


def _softmax(block: np.ndarray) -> np.ndarray:
    shifted = block.astype(np.float64) - block.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def _el2n(array: np.ndarray, codes: np.ndarray, used: np.ndarray, kind: str) -> Scores:
    from core.scores.metrics import Scores

    n = array.shape[1]
    rows = np.arange(n)
    total = np.zeros(n, dtype=np.float64)
    for epoch in used.tolist():
        probs = _softmax(array[epoch]) if kind == "logits" else array[epoch].astype(np.float64)
        # |p - e_y|^2 = sum_j p_j^2 - 2 p_y + 1
        squared = np.einsum("ij,ij->i", probs, probs) - 2.0 * probs[rows, codes] + 1.0
        total += np.sqrt(np.maximum(squared, 0.0))
    params: dict[str, object] = {
        "from": kind,
        "epochs": used.tolist(),
        "n_epochs": int(used.size),
    }
    return Scores("el2n", total / used.size, None, None, params)


def _aum(array: np.ndarray, codes: np.ndarray, used: np.ndarray) -> Scores:
    from core.scores.metrics import Scores

    n = array.shape[1]
    rows = np.arange(n)
    total = np.zeros(n, dtype=np.float64)
    for epoch in used.tolist():
        block = array[epoch].astype(np.float64)  # a copy: the assigned column is masked below
        assigned = block[rows, codes].copy()
        block[rows, codes] = -np.inf
        total += assigned - block.max(axis=1)
    params: dict[str, object] = {
        "score": "-AUM",
        "epochs": used.tolist(),
        "n_epochs": int(used.size),
    }
    return Scores("aum", -(total / used.size), None, None, params)


def _forgetting(correct: np.ndarray, used: np.ndarray, source: str) -> Scores:
    from core.scores.metrics import Scores

    history = correct[used]
    forgotten = (history[:-1] & ~history[1:]).sum(axis=0, dtype=np.int64).astype(np.float64)
    never = ~history.any(axis=0)
    never_score = float(used.size + 1)
    forgotten[never] = never_score
    params: dict[str, object] = {
        "correct_from": source,
        "epochs": used.tolist(),
        "n_epochs": int(used.size),
        "never_learned_score": never_score,
        "n_never_learned": int(never.sum()),
    }
    return Scores("forgetting", forgotten, None, None, params)


def _derived_correct(outputs: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """(n_epochs, n) bool: argmax of each record's outputs equals the label (first max wins)."""
    return np.stack([outputs[epoch].argmax(axis=1) == codes for epoch in range(len(outputs))])


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A deflate-compressed .npz with fixed zip timestamps (reproducible bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


# ----------------------------------------------------------------------------- demo


def make_demo_records(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    ids: np.ndarray | None = None,
    epochs: int = 10,
    flip_fraction: float = 0.05,
    learning_rate: float = 0.5,
    batch_size: int = 32,
    seed: int = 0,
) -> tuple[TrainingRecords, np.ndarray]:
    """Train a numpy softmax regression with some labels flipped and record its training dynamics.

    ``round(flip_fraction * n)`` examples (chosen with ``seed``) get a different, uniformly drawn
    label; then minibatch SGD (cross-entropy, weights from zero, features standardised) runs for
    ``epochs`` epochs over a fresh seeded permutation each epoch. For each example the logits
    are recorded **when it is presented**, before the update (as in Toneva et al. and Pleiss et
    al.), and ``correct`` is their argmax against the (noisy) training label.

    Parameters
    ----------
    embeddings : ndarray of shape (n, d)
    labels : ndarray of shape (n,), int in [0, c)
    ids : ndarray of shape (n,), optional
    epochs, flip_fraction, learning_rate, batch_size, seed
        Training settings.

    Returns
    -------
    (TrainingRecords, flipped)
        Records with float32 ``logits`` (epochs, n, c), ``correct``, the noisy ``labels`` and
        ``ids``; ``flipped`` (n,) bool marks the examples whose label was changed.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    clean = np.asarray(labels, dtype=np.int64)
    n, d = x.shape
    c = int(clean.max()) + 1
    rng = np.random.default_rng(seed)
    n_flip = round(flip_fraction * n)
    flipped_rows = np.sort(rng.choice(n, size=n_flip, replace=False))
    noisy = clean.copy()
    noisy[flipped_rows] = (clean[flipped_rows] + rng.integers(1, c, size=n_flip)) % c
    flipped = np.zeros(n, dtype=bool)
    flipped[flipped_rows] = True

    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    weights = np.zeros((d, c))
    bias = np.zeros(c)
    logits = np.zeros((epochs, n, c), dtype=np.float32)
    onehot = np.eye(c)[noisy]
    for epoch in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            z = x[batch] @ weights + bias
            logits[epoch, batch] = z
            grad = (_softmax(z) - onehot[batch]) / batch.size
            weights -= learning_rate * (x[batch].T @ grad)
            bias -= learning_rate * grad.sum(axis=0)
    correct = logits.argmax(axis=2) == noisy[None, :]
    records = make_training_records(logits=logits, correct=correct, labels=noisy, ids=ids)
    return records, flipped


def precision_at_k(values: np.ndarray, flipped: np.ndarray) -> float:
    """Fraction of the k highest-scored examples that are flipped, k = number flipped.

    Ties are broken by index (lower first), as in ``core.prune.select``.
    """
    k = int(np.sum(flipped))
    order = np.lexsort((np.arange(values.size), -np.asarray(values)))
    return float(np.mean(flipped[order[:k]])) if k else float("nan")


def _demo_main(out: str, seed: int) -> int:
    from core.io.samples import load_sample

    digits = load_sample("digits", embedding="pixels")
    clean = np.asarray(digits.class_names, dtype=np.int64)[digits.labels]
    records, _flipped = make_demo_records(
        digits.embeddings, clean, ids=digits.ids, epochs=10, seed=seed
    )
    save_training_records(out, records)
    size = Path(out).stat().st_size
    print(f"wrote {out} ({size:,} bytes; {records.n} examples, {records.n_epochs} epochs)")
    print_demo_precision(out)
    return 0


def print_demo_precision(path: str | Path) -> None:
    """Print precision@k of each metric at finding the demo file's flipped labels.

    Flipped examples are those whose recorded label differs from ``sample_data/digits``'s
    ``metadata.csv`` label (matched by id).
    """
    from core.io.samples import load_sample

    records = load_training_records(path)
    if records.ids is None or records.labels is None:
        raise ValueError(f"{Path(path).name} has no ids or labels to compare with digits")
    digits = load_sample("digits", embedding="pixels")
    position = {identifier: row for row, identifier in enumerate(digits.ids.tolist())}
    rows = np.array([position[identifier] for identifier in records.ids.tolist()])
    clean = np.asarray(digits.class_names, dtype=np.int64)[digits.labels][rows]
    flipped = records.labels != clean
    print(f"{int(flipped.sum())} of {records.n} labels flipped; precision@{int(flipped.sum())}:")
    for metric in DYNAMICS_METRICS:
        scores = score_records(records, metric)
        print(f"  {metric:<10} {precision_at_k(scores.values, flipped):.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m core.scores.dynamics demo --out PATH`` / ``precision PATH``."""
    parser = argparse.ArgumentParser(prog="python -m core.scores.dynamics", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train on digits with 5%% flipped labels; write records")
    demo.add_argument("--out", required=True)
    demo.add_argument("--seed", type=int, default=0)
    check = sub.add_parser("precision", help="precision@k of each metric on a demo records file")
    check.add_argument("records")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return _demo_main(args.out, args.seed)
        print_demo_precision(args.records)
        return 0
    except (ValueError, OSError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
