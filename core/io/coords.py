"""Read 2-D map coordinates computed elsewhere (``python -m core project``): an (n, 2) ``.npy``.

The header is checked before any data is read: a file that declares objects, another dtype than
real numbers, another shape than ``(n, 2)`` for the dataset's n, or more data than it holds is
refused with one ``ValueError`` naming the file, and nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from core.validate import check_coords

#: The one file format read here: what ``python -m core project`` writes.
COORDS_SUFFIXES = (".npy",)
#: The Map's name for coordinates read from such a file (beside ``umap`` and ``pca``).
PRECOMPUTED = "precomputed"


def read_coords(path: str | Path, *, n_rows: int) -> np.ndarray:
    """The (n_rows, 2) map coordinates stored in a ``.npy`` file.

    Parameters
    ----------
    path : str or Path
        An ``.npy`` of shape (n_rows, 2) and a real dtype, as ``python -m core project`` writes.
    n_rows : int
        The number of examples of the dataset the coordinates belong to (row i is example i).

    Returns
    -------
    ndarray of shape (n_rows, 2), float32, C-contiguous, finite

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        Not a regular, non-empty ``.npy`` file; a pickle, objects or another dtype than real
        numbers; a shape other than (n_rows, 2) (expected and found shapes named); data shorter
        than the header declares; NaN/inf values (the first bad rows named).
    """
    from core.io.data import check_file, numpy_read_errors
    from core.io.guards import check_declared_array, read_npy_header

    if isinstance(n_rows, bool) or not isinstance(n_rows, int | np.integer) or n_rows < 1:
        raise ValueError(f"n_rows={n_rows!r} should be an integer >= 1")
    path = check_file(path, "coordinates", COORDS_SUFFIXES)
    name = f"coordinates {path.name}"
    with path.open("rb") as handle:
        if handle.read(1) == b"\x80":  # the pickle protocol opcode
            raise ValueError(f"{name}: pickled data is not accepted; save an array with np.save")
        handle.seek(0)
        shape, dtype = read_npy_header(handle, path.name)
        data_start = handle.tell()
    _check_declared(shape, dtype, name, int(n_rows))
    check_declared_array(shape, dtype, path.name)  # the memory limit
    declared = int(np.prod(shape)) * dtype.itemsize
    held = path.stat().st_size - data_start
    if held < declared:
        raise ValueError(
            f"{name} is truncated: its header declares shape {shape} {dtype} ({declared:,} bytes "
            f"of data) but the file holds {held:,}"
        )
    with numpy_read_errors(path):
        array = np.load(path, allow_pickle=False)
    return check_coords(array, int(n_rows), name=name)


def _check_declared(shape: tuple[int, ...], dtype: np.dtype, name: str, n_rows: int) -> None:
    """Refuse from the header alone: objects, non-real dtypes, a shape other than (n_rows, 2)."""
    if dtype.hasobject:
        raise ValueError(
            f"{name} holds objects (dtype object); save a numeric (n, 2) array with np.save"
        )
    if dtype == np.bool_ or dtype.kind not in "fiu":
        raise ValueError(f"{name} should hold real numbers, got dtype {dtype}")
    if len(shape) != 2:
        raise ValueError(
            f"{name} should be 2-D with shape ({n_rows}, 2), got {len(shape)}-D shape {shape}"
        )
    if shape[1] != 2:
        raise ValueError(
            f"{name} should have 2 columns (x, y), shape ({n_rows}, 2); got shape {shape}"
        )
    if shape[0] != n_rows:
        raise ValueError(
            f"{name} has shape {shape} but the dataset has n={n_rows} rows: expected shape "
            f"({n_rows}, 2)"
        )


def coords_digest(coords: np.ndarray) -> str:
    """A SHA-256 (hex) of checked coordinates' float32 values: the same values, the same digest
    (a cache key for them, whatever file they came from)."""
    array = np.ascontiguousarray(coords, dtype=np.float32)
    hasher = hashlib.sha256(f"{array.shape}".encode())
    hasher.update(array.tobytes())
    return hasher.hexdigest()
