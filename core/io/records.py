"""Per-example training records (the input of the training-dynamics metrics): read, check, write.

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

At least one of ``logits``, ``probs``, ``correct`` must be present. Other keys are rejected (a
misspelt key would otherwise be ignored). The metrics themselves are in ``core.scores.dynamics``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.io.data import (
    Dataset,
    FileInfo,
    check_ids,
    encode_labels,
    numpy_read_errors,
)
from core.validate import (
    check_correct,
    check_labels_in_range,
    check_no_objects,
    check_per_class_array,
    check_probabilities,
    name_some,
)

#: The keys a records ``.npz`` may hold.
RECORD_KEYS = ("logits", "probs", "correct", "labels", "ids")


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
    logits_ = None if logits is None else check_per_class_array(logits, "logits")
    probs_ = None if probs is None else check_per_class_array(probs, "probs")
    if logits_ is not None and probs_ is not None and logits_.shape != probs_.shape:
        raise ValueError(
            f"logits has shape {logits_.shape} but probs has shape {probs_.shape}; "
            "they should match (n_epochs, n, c)"
        )
    if probs_ is not None:
        check_probabilities(probs_)
    correct_ = None if correct is None else check_correct(correct)
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
    labels_ = None if labels is None else check_labels_in_range(labels, n, n_classes)
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
    from core.io.data import check_file, file_info

    path = check_file(path, "training records", (".npz",))
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
        given = check_ids(ids, n)
        if records.ids is not None and not np.array_equal(given, records.ids):
            rows = np.flatnonzero(given != records.ids)
            raise ValueError(
                f"the metadata ids differ from the training records' ids in {rows.size} of {n} "
                f"rows (rows {name_some(rows.tolist())}); are the rows in the same order?"
            )
        chosen_ids = given
    if chosen_ids is None:
        chosen_ids = np.arange(n).astype(str)
    if records.labels is not None:
        n_classes = records.n_classes or int(records.labels.max()) + 1
        codes: np.ndarray | None = records.labels
        class_names = tuple(str(i) for i in range(n_classes))
    elif labels is not None:
        codes, class_names = encode_labels(labels, n)
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


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with path.open("rb") as handle:
        magic = handle.read(4)
    if not magic.startswith(b"PK"):
        raise ValueError(f"could not read {path.name}: not a NumPy .npz file")
    with numpy_read_errors(path), np.load(path, allow_pickle=False) as archive:
        return {key: np.asarray(archive[key]) for key in archive.files}


def _id_array(values: Any, n: int) -> np.ndarray:
    array = np.asarray(values)
    check_no_objects(array, "ids")
    if array.dtype.kind not in "USiu":
        raise ValueError(f"ids should be str or integers, got dtype {array.dtype}")
    if array.dtype.kind == "S":
        array = array.astype(str)
    if array.ndim != 1:
        raise ValueError(f"ids should be 1-D with n={n} entries, got shape {array.shape}")
    if array.shape[0] != n:
        raise ValueError(f"ids has {array.shape[0]} entries but the records have n={n}")
    return check_ids(array, n)


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
