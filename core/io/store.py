"""A local, size-capped store of uploads, computed embeddings, map coordinates, imported scores
and pins, keyed by content hash.

Layout under ``<core.cache_dir.cache_dir()>/store`` (``$PRUNESCOPE_CACHE_DIR``, default
``~/.cache/prunescope``)::

    entries/<sha256>/entry.json      kind, file names, small metadata; written last
    entries/<sha256>/<file>          raw uploaded bytes, embeddings or 2-D coordinates as .npy
    pins/<sha256 of dataset key>.json
    coords/<sha256 of dataset key>.json   names the entry holding the dataset's 2-D coordinates
    imported/<sha256 of dataset key>.json names the entries holding its imported score columns

Only plain files: arrays go through ``np.save(..., allow_pickle=False)`` and are read back with
``allow_pickle=False``; metadata is JSON. Nothing is ever unpickled.

The store is capped at ``$PRUNESCOPE_CACHE_MAX_MB`` megabytes (default 2048, i.e. 2 GB): after
each new entry the least recently used entries (oldest ``entry.json`` modification time; every
read touches it) are removed until the entries fit. An entry larger than the cap is not stored.
Pins are small and never evicted. Storing is an optimisation: callers treat ``OSError`` as
"not stored".
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.cache_dir import cache_dir

#: Environment variable with the store's size cap in megabytes.
ENV_CACHE_MAX_MB = "PRUNESCOPE_CACHE_MAX_MB"
#: Default size cap: 2 GB.
DEFAULT_MAX_MB = 2048
_DIGEST = re.compile(r"[0-9a-f]{64}")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_ENTRY_FILE = "entry.json"
#: The largest entry.json or pins file read back (they are small; anything larger is ignored).
_MAX_JSON_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One stored entry: its digest, kind, metadata and the paths of its files."""

    digest: str
    kind: str
    meta: dict[str, Any]
    files: dict[str, Path]


def store_dir() -> Path:
    """``<cache_dir()>/store``: everything this module writes lives here."""
    return cache_dir() / "store"


def max_store_bytes() -> int:
    """The size cap in bytes from ``$PRUNESCOPE_CACHE_MAX_MB`` (default 2048 MB).

    Raises
    ------
    ValueError
        When the variable is set but not a non-negative integer.
    """
    value = os.environ.get(ENV_CACHE_MAX_MB, "").strip()
    if not value:
        return DEFAULT_MAX_MB * 1024**2
    if not value.isdigit():
        raise ValueError(f"{ENV_CACHE_MAX_MB}={value!r} should be a whole number of megabytes")
    return int(value) * 1024**2


def _check_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise ValueError(f"digest={digest!r} should be 64 lowercase hex digits (a SHA-256)")
    return digest


def _entries_dir() -> Path:
    return store_dir() / "entries"


def _as_bytes(value: bytes | np.ndarray) -> bytes:
    if isinstance(value, bytes):
        return value
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(value), allow_pickle=False)
    return buffer.getvalue()


def put_entry(
    digest: str,
    *,
    kind: str,
    files: Mapping[str, bytes | np.ndarray],
    meta: Mapping[str, Any] | None = None,
    max_bytes: int | None = None,
) -> bool:
    """Store ``files`` (bytes, or arrays saved as ``.npy``) under ``digest``; evict to the cap.

    Parameters
    ----------
    digest : str
        64 hex digits naming the entry (the SHA-256 of the content it was made from).
    kind : str
        What the entry holds (the caller's word, e.g. ``"embeddings"``).
    files : mapping of file name -> bytes or numpy array
        Plain names (letters, digits, ``._-``); arrays are written with ``allow_pickle=False``.
    meta : mapping, optional
        JSON-serialisable metadata kept in ``entry.json``.
    max_bytes : int, optional
        The cap (default :func:`max_store_bytes`).

    Returns
    -------
    bool
        True when the entry is in the store afterwards (already there, or written).

    Raises
    ------
    ValueError
        For a bad digest or file name. ``OSError`` when the store cannot be written.
    """
    _check_digest(digest)
    for name in files:
        if not _FILE_NAME.fullmatch(name) or name == _ENTRY_FILE:
            raise ValueError(f"file name {name!r} should be plain letters, digits and ._-")
    cap = max_store_bytes() if max_bytes is None else int(max_bytes)
    target = _entries_dir() / digest
    if (target / _ENTRY_FILE).is_file():
        os.utime(target / _ENTRY_FILE)
        return True
    contents = {name: _as_bytes(value) for name, value in files.items()}
    record = {"kind": kind, "files": sorted(contents), "meta": dict(meta or {})}
    encoded = json.dumps(record, sort_keys=True).encode("utf-8")
    if sum(map(len, contents.values())) + len(encoded) > cap:
        return False
    _entries_dir().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}.", dir=_entries_dir()))
    try:
        for name, data in contents.items():
            (staging / name).write_bytes(data)
        (staging / _ENTRY_FILE).write_bytes(encoded)  # last: marks the entry complete
        try:
            staging.rename(target)
        except OSError:
            if not (target / _ENTRY_FILE).is_file():  # not a concurrent writer: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    evict(cap, keep=(digest,))
    return True


def _read_json(path: Path) -> Any:
    try:
        if path.stat().st_size > _MAX_JSON_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def get_entry(digest: str) -> StoredEntry | None:
    """The stored entry for ``digest`` (None when absent or unreadable); marks it recently used."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        return None
    folder = _entries_dir() / digest
    record = _read_json(folder / _ENTRY_FILE)
    if not isinstance(record, dict) or not isinstance(record.get("files"), list):
        return None
    names = [n for n in record["files"] if isinstance(n, str) and _FILE_NAME.fullmatch(n)]
    if not all((folder / name).is_file() for name in names):
        return None
    with contextlib.suppress(OSError):  # a read-only store still serves its entries
        os.utime(folder / _ENTRY_FILE)
    meta = record.get("meta")
    return StoredEntry(
        digest=digest,
        kind=str(record.get("kind", "")),
        meta=meta if isinstance(meta, dict) else {},
        files={name: folder / name for name in names},
    )


def has_entry(digest: str) -> bool:
    """Whether ``digest`` is stored (without marking it used)."""
    return bool(_DIGEST.fullmatch(digest)) and (_entries_dir() / digest / _ENTRY_FILE).is_file()


def drop_entry(digest: str) -> None:
    """Remove one entry (e.g. one found damaged, so that it can be stored again)."""
    if isinstance(digest, str) and _DIGEST.fullmatch(digest):
        shutil.rmtree(_entries_dir() / digest, ignore_errors=True)


def load_array(path: Path) -> np.ndarray:
    """A stored ``.npy`` array (``allow_pickle=False``: object arrays are refused)."""
    return np.load(path, allow_pickle=False)


def _folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:
            continue
    return total


def evict(max_bytes: int, *, keep: Sequence[str] = ()) -> list[str]:
    """Remove the least recently used entries until the entries fit in ``max_bytes``.

    Entries named in ``keep`` stay. Returns the removed digests, oldest first.
    """
    folder = _entries_dir()
    if not folder.is_dir():
        return []
    entries: list[tuple[float, str, int]] = []
    for path in folder.iterdir():
        marker = path / _ENTRY_FILE
        if path.is_dir() and _DIGEST.fullmatch(path.name) and marker.is_file():
            entries.append((marker.stat().st_mtime, path.name, _folder_bytes(path)))
    total = sum(size for _, _, size in entries)
    removed = []
    for _, digest, size in sorted(entries):
        if total <= max_bytes:
            break
        if digest in keep:
            continue
        shutil.rmtree(folder / digest, ignore_errors=True)
        total -= size
        removed.append(digest)
    return removed


def store_usage() -> tuple[int, int]:
    """``(n_entries, n_bytes)`` of the whole store (entries and pins)."""
    folder = _entries_dir()
    n_entries = sum(1 for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else 0
    return n_entries, _folder_bytes(store_dir()) if store_dir().is_dir() else 0


def clear_store() -> int:
    """Remove every stored entry and pin; returns the bytes freed."""
    folder = store_dir()
    if not folder.is_dir():
        return 0
    freed = _folder_bytes(folder)
    shutil.rmtree(folder)
    return freed


def _record_path(folder: str, dataset_key: str) -> Path:
    """``<store>/<folder>/<sha256 of the dataset key>.json``: one small record per dataset."""
    name = hashlib.sha256(dataset_key.encode("utf-8")).hexdigest()
    return store_dir() / folder / f"{name}.json"


def _read_record(folder: str, dataset_key: str) -> dict[str, Any] | None:
    """The record of ``dataset_key`` in ``folder``; None when absent, unreadable or another's."""
    record = _read_json(_record_path(folder, dataset_key))
    if not isinstance(record, dict) or record.get("dataset_key") != dataset_key:
        return None
    return record


def _write_record(folder: str, dataset_key: str, fields: Mapping[str, Any] | None) -> None:
    """Write (atomically) the record of ``dataset_key`` in ``folder``; None removes it."""
    from core.export import write_atomic

    path = _record_path(folder, dataset_key)
    if fields is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"dataset_key": dataset_key, **fields}
    write_atomic(path, json.dumps(record, sort_keys=True).encode("utf-8"))


def save_pins(dataset_key: str, always_keep: Sequence[int], always_drop: Sequence[int]) -> None:
    """Store the pins of ``dataset_key`` (sorted row indices); no pins removes the file.

    Raises ``OSError`` when the store cannot be written.
    """
    keep = sorted({int(i) for i in always_keep})
    drop = sorted({int(i) for i in always_drop})
    fields = {"always_keep": keep, "always_drop": drop} if keep or drop else None
    _write_record("pins", dataset_key, fields)


def load_pins(dataset_key: str, *, n_examples: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The stored ``(always_keep, always_drop)`` of ``dataset_key``; ``((), ())`` when none.

    Indices outside ``[0, n_examples)``, non-integers and rows pinned both ways are dropped, so a
    damaged file never breaks a selection.
    """
    record = _read_record("pins", dataset_key)
    if record is None:
        return (), ()

    def rows(name: str) -> set[int]:
        values = record.get(name)
        if not isinstance(values, list):
            return set()
        return {v for v in values if type(v) is int and 0 <= v < n_examples}

    keep, drop = rows("always_keep"), rows("always_drop")
    both = keep & drop
    return tuple(sorted(keep - both)), tuple(sorted(drop - both))


# ----------------------------------------------------------------------------- coordinates


@dataclass(frozen=True, eq=False, slots=True)
class StoredCoords:
    """2-D map coordinates kept for a dataset: (n, 2) float32, the file's name, their digest."""

    coords: np.ndarray
    name: str
    digest: str


def save_coords(dataset_key: str, coords: np.ndarray, *, name: str, digest: str) -> bool:
    """Keep checked (n, 2) coordinates as the ones of ``dataset_key`` (replacing any earlier).

    The array is an entry like an upload's (counted in the cap, least recently used first out);
    a small pointer per dataset key names it. ``digest`` is ``core.io.coords.coords_digest``.
    Returns False when the entry does not fit in the cap. Raises ``OSError`` when the store
    cannot be written.
    """
    _check_digest(digest)
    entry = hashlib.sha256(f"coords\0{dataset_key}\0{digest}".encode()).hexdigest()
    meta = {"dataset_key": dataset_key, "name": str(name)[:200], "digest": digest}
    if not put_entry(entry, kind="coords", files={"coords.npy": coords}, meta=meta):
        return False
    _write_record("coords", dataset_key, {"entry": entry})
    return True


def load_coords(dataset_key: str, *, n_examples: int) -> StoredCoords | None:
    """The coordinates stored for ``dataset_key`` (checked again: shape (n_examples, 2), finite);
    None when there are none, they were evicted, or they no longer pass the checks."""
    from core.validate import check_coords

    record = _read_record("coords", dataset_key)
    if record is None:
        return None
    entry = get_entry(str(record.get("entry", "")))
    if entry is None or entry.kind != "coords" or "coords.npy" not in entry.files:
        return None
    meta = entry.meta
    if meta.get("dataset_key") != dataset_key or not isinstance(meta.get("digest"), str):
        return None
    try:
        coords = check_coords(load_array(entry.files["coords.npy"]), n_examples)
    except (OSError, ValueError):
        return None
    return StoredCoords(coords=coords, name=str(meta.get("name", "")), digest=meta["digest"])


def forget_coords(dataset_key: str) -> None:
    """Stop restoring coordinates for ``dataset_key`` (their entry is evicted in time)."""
    _write_record("coords", dataset_key, None)


@dataclass(frozen=True, slots=True)
class StoredScores:
    """A score column imported for a dataset: values (higher = harder) and how they came."""

    metric: str
    values: np.ndarray
    meta: dict[str, Any]


def _imported_record(dataset_key: str) -> dict[str, str]:
    """metric -> entry digest of the scores imported for ``dataset_key`` ({} when none)."""
    entries = (_read_record("imported", dataset_key) or {}).get("entries")
    if not isinstance(entries, dict):
        return {}
    return {str(m): str(e) for m, e in entries.items() if isinstance(e, str)}


def _write_imported_record(dataset_key: str, entries: Mapping[str, str]) -> None:
    fields = {"entries": dict(sorted(entries.items()))} if entries else None
    _write_record("imported", dataset_key, fields)


def save_imported_scores(
    dataset_key: str, metric: str, values: np.ndarray, *, meta: Mapping[str, Any]
) -> bool:
    """Keep imported scores (float64, higher = harder) as ``metric`` of ``dataset_key``.

    The values are an entry like an upload's (counted in the cap, least recently used first
    out); a small pointer per dataset key names one entry per metric, so importing the same
    column again replaces it. ``meta``: JSON-serialisable provenance (file name, column,
    orientation). Returns False when the entry does not fit in the cap. Raises ``OSError``
    when the store cannot be written.
    """
    array = np.ascontiguousarray(values, dtype=np.float64)
    hasher = hashlib.sha256(f"imported\0{dataset_key}\0{metric}\0".encode())
    hasher.update(array.tobytes())
    entry = hasher.hexdigest()
    record = {"dataset_key": dataset_key, "metric": metric, "provenance": dict(meta)}
    if not put_entry(entry, kind="imported_scores", files={"values.npy": array}, meta=record):
        return False
    _write_imported_record(dataset_key, {**_imported_record(dataset_key), metric: entry})
    return True


def load_imported_scores(dataset_key: str, *, n_examples: int) -> list[StoredScores]:
    """The scores imported for ``dataset_key``, by metric name; scores that were evicted, do
    not have ``n_examples`` finite float values, or are not this dataset's are left out."""
    found = []
    for metric, digest in sorted(_imported_record(dataset_key).items()):
        entry = get_entry(digest)
        if entry is None or entry.kind != "imported_scores" or "values.npy" not in entry.files:
            continue
        if entry.meta.get("dataset_key") != dataset_key or entry.meta.get("metric") != metric:
            continue
        try:
            values = load_array(entry.files["values.npy"])
        except (OSError, ValueError):
            continue
        if values.dtype != np.float64 or values.shape != (n_examples,):
            continue
        if not np.isfinite(values).all():
            continue
        provenance = entry.meta.get("provenance")
        found.append(
            StoredScores(metric, values, provenance if isinstance(provenance, dict) else {})
        )
    return found


def forget_imported_scores(dataset_key: str, metric: str) -> None:
    """Stop restoring ``metric`` for ``dataset_key`` (its entry is evicted in time)."""
    entries = _imported_record(dataset_key)
    if entries.pop(metric, None) is not None:
        _write_imported_record(dataset_key, entries)
