"""Datasets: loading embeddings and metadata from files, and validating them once at the boundary."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.io.guards import MAX_DIMENSIONS
from core.validate import finite_float32_rows, name_some

EMBEDDING_SUFFIXES = (".npy", ".npz", ".parquet", ".csv")
METADATA_SUFFIXES = (".csv", ".parquet")
#: Metadata columns tried, in order, when ``media_column`` is not given.
MEDIA_COLUMNS = ("path", "image", "text")
MEDIA_KINDS = ("image", "text")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
_INTEGER_TEXT = re.compile(r"[+-]?\d+")


class QuotingError(ValueError):
    """A ``ValueError`` whose message quotes a file's contents (column names, ids, cells).

    ``redacted`` says the same without them: the app shows it for files opened by path, so a
    rejected file never echoes what it holds.
    """

    def __init__(self, message: str, *, redacted: str) -> None:
        super().__init__(message)
        self.redacted = redacted


def redacted_message(exc: BaseException) -> str:
    """``exc``'s message without quoted file contents (see :class:`QuotingError`)."""
    return str(getattr(exc, "redacted", "") or exc)


@dataclass(frozen=True, eq=False, slots=True)
class FileInfo:
    """Provenance of one input file, recorded in export manifests."""

    name: str  # base name only, never the full path
    size: int  # bytes
    sha256: str  # hex digest


@dataclass(frozen=True, eq=False, slots=True)
class Dataset:
    """N examples with their embeddings and optional metadata.

    Attributes
    ----------
    embeddings : ndarray of shape (n, d), float32, C-contiguous, finite.
    ids : ndarray of shape (n,), str dtype; unique. Defaults to row numbers as strings.
    labels : ndarray of shape (n,), int64 codes in [0, len(class_names)), or None.
    class_names : tuple of str; the original label value of each code ('' tuple when no labels).
    media : ndarray of shape (n,), str (image path or text) or None.
    media_kind : "image", "text" or None.
    thumbnails : ndarray of shape (n, h, w) or (n, h, w, 3), uint8, or None.
    name : short human name ("animal-mnist (ssl)").
    sources : provenance of the files it was loaded from (empty when built in memory).
    """

    embeddings: np.ndarray
    ids: np.ndarray
    labels: np.ndarray | None = None
    class_names: tuple[str, ...] = ()
    media: np.ndarray | None = None
    media_kind: str | None = None
    thumbnails: np.ndarray | None = None
    name: str = ""
    sources: tuple[FileInfo, ...] = ()

    @property
    def n(self) -> int:
        return int(self.embeddings.shape[0])

    @property
    def d(self) -> int:
        return int(self.embeddings.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def label_strings(self) -> np.ndarray | None:
        """Original label values per example (str array), or None without labels."""
        if self.labels is None:
            return None
        return np.asarray(self.class_names, dtype=str)[self.labels]


# --------------------------------------------------------------------------------------------
# Building and validating a dataset in memory
# --------------------------------------------------------------------------------------------


def make_dataset(
    embeddings: Any,
    *,
    ids: Any = None,
    labels: Any = None,
    media: Any = None,
    media_kind: str | None = None,
    thumbnails: Any = None,
    name: str = "",
    sources: Sequence[FileInfo] = (),
) -> Dataset:
    """Validate embeddings and per-example metadata and bundle them into a :class:`Dataset`.

    Parameters
    ----------
    embeddings : array-like of shape (n, d)
        Real numbers (float16/32/64 or integers); held as C-contiguous float32.
    ids : array-like of shape (n,), optional
        Unique identifiers, stored as str. Defaults to the row numbers ``"0" .. "n-1"``.
    labels : array-like of shape (n,), optional
        Label values (str or numbers), encoded to int64 codes into ``class_names``, which are
        sorted numerically when every label is an integer, else lexicographically.
    media : array-like of shape (n,), optional
        Image path or text per example; missing entries become ``""``.
    media_kind : {"image", "text"}, optional
        Required when ``media`` is given; ``"image"`` may also describe ``thumbnails`` alone
        (images held in memory, as the shipped samples are).
    thumbnails : ndarray of shape (n, h, w) or (n, h, w, 3), uint8, optional
    name : str
        Short human name.
    sources : sequence of FileInfo
        Provenance of the files the data came from.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        When embeddings are not 2-D, have fewer than 2 rows, are not numeric or contain NaN/inf
        (the message gives the count and first row numbers); when a per-example array does not
        have n entries; when ids repeat (some are named) or ids/labels are missing (rows named).
    """
    matrix = _validated_embeddings(embeddings, what="embeddings")
    n = matrix.shape[0]
    ids_array = check_ids(ids, n)
    codes, class_names = (None, ()) if labels is None else encode_labels(labels, n)
    media_array = None
    if media is not None:
        if media_kind not in MEDIA_KINDS:
            raise ValueError(f"media_kind={media_kind!r} should be one of {MEDIA_KINDS}")
        media_array = _as_strings(_one_dimensional(media, n, "media"), missing="")
    elif media_kind == "image" and thumbnails is not None:
        pass  # images held as thumbnails only
    elif media_kind is not None:
        raise ValueError(f"media_kind={media_kind!r} given without media or thumbnails")
    if thumbnails is not None:
        thumbnails = _validated_thumbnails(thumbnails, n)
    return Dataset(
        embeddings=matrix,
        ids=ids_array,
        labels=codes,
        class_names=class_names,
        media=media_array,
        media_kind=media_kind,
        thumbnails=thumbnails,
        name=str(name),
        sources=tuple(sources),
    )


def _validated_embeddings(embeddings: Any, *, what: str) -> np.ndarray:
    """Return ``embeddings`` as a finite C-contiguous float32 (n, d) array, or raise ValueError."""
    array = np.asarray(embeddings)
    if array.dtype.kind not in "fiub":
        raise ValueError(
            f"{what} should be real numbers (float16/32/64), got dtype {array.dtype}"
            + ("; pickled/object arrays are not accepted" if array.dtype.kind == "O" else "")
        )
    if array.ndim != 2:
        raise ValueError(f"{what} should be 2-D (n_examples, n_features), got shape {array.shape}")
    n, d = array.shape
    if n < 2:
        raise ValueError(f"{what} should have at least 2 rows, got n_examples={n}")
    if d < 1:
        raise ValueError(f"{what} should have at least 1 column, got shape {array.shape}")
    return finite_float32_rows(
        array,
        lambda rows: (
            f"{what}: {rows.size} of {n} rows contain NaN or inf values "
            f"(rows {name_some(rows.tolist())}; values beyond the float32 range count as inf)"
        ),
    )


def _one_dimensional(values: Any, n: int, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{what} should be 1-D with n_examples={n} entries, got {array.shape}")
    if array.shape[0] != n:
        raise ValueError(f"{what} has {array.shape[0]} entries but embeddings have {n} rows")
    return array


def _missing_rows(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind in "OUSTf":
        return np.flatnonzero(pd.isna(array))
    return np.zeros(0, dtype=np.int64)


def _as_strings(array: np.ndarray, *, missing: str | None = None) -> np.ndarray:
    """Values as a str array; integral floats print as integers ("3" not "3.0")."""
    if missing is not None:
        array = np.where(pd.isna(array), missing, array) if array.dtype.kind in "Of" else array
    if array.dtype.kind == "f" and np.all(np.mod(array, 1) == 0):
        array = array.astype(np.int64)
    if array.dtype.kind == "O":
        return np.asarray([str(value) for value in array], dtype=str)
    return array.astype(str)


def check_ids(ids: Any, n: int) -> np.ndarray:
    """Example ids: (n,) values, none missing, unique once written as text; returned as a str
    array (integral floats as integers). ``None`` gives row numbers ``"0".."n-1"``.

    Raises ValueError (a :class:`QuotingError`: the message quotes ids) naming the missing rows
    or the repeated ids.
    """
    if ids is None:
        return np.arange(n).astype(str)
    array = _one_dimensional(ids, n, "ids")
    missing = _missing_rows(array)
    if missing.size:
        raise ValueError(f"{missing.size} ids are missing (rows {name_some(missing.tolist())})")
    strings = _as_strings(array)
    duplicated = pd.Series(strings).duplicated(keep=False).to_numpy()
    if duplicated.any():
        repeated = pd.unique(strings[duplicated])
        raise QuotingError(
            f"ids should be unique; {repeated.size} ids repeat: "
            f"{name_some([repr(str(value)) for value in repeated])}",
            redacted=f"ids should be unique; {repeated.size} ids repeat",
        )
    return strings


def encode_labels(labels: Any, n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes (n,) int64 and class names sorted numerically if all are integers, else as text.

    ``labels``: (n,) values of any kind, none missing (ValueError naming the missing rows).
    """
    array = _one_dimensional(labels, n, "labels")
    missing = _missing_rows(array)
    if missing.size:
        raise ValueError(
            f"{missing.size} of {n} labels are missing (rows {name_some(missing.tolist())})"
        )
    strings = _as_strings(array)
    unique, inverse = np.unique(strings, return_inverse=True)
    if all(_INTEGER_TEXT.fullmatch(value) for value in unique):
        order = sorted(range(unique.size), key=lambda i: (int(unique[i]), unique[i]))
    else:
        order = list(range(unique.size))  # np.unique already sorts lexicographically
    rank = np.empty(unique.size, dtype=np.int64)
    rank[order] = np.arange(unique.size)
    codes = rank[inverse.reshape(-1)]
    return codes, tuple(str(unique[i]) for i in order)


def _validated_thumbnails(thumbnails: Any, n: int) -> np.ndarray:
    array = np.asarray(thumbnails)
    if array.dtype != np.uint8 or not (
        array.ndim == 3 or (array.ndim == 4 and array.shape[3] == 3)
    ):
        raise ValueError(
            "thumbnails should be uint8 of shape (n, h, w) or (n, h, w, 3), "
            f"got {array.dtype} {array.shape}"
        )
    if array.shape[0] != n:
        raise ValueError(f"thumbnails has {array.shape[0]} entries but embeddings have {n} rows")
    return array


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def file_info(path: str | Path) -> FileInfo:
    """Name, size and SHA-256 of a file, read in 1 MiB blocks.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    FileInfo
        ``name`` is the base name only.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    """
    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return FileInfo(name=path.name, size=path.stat().st_size, sha256=digest.hexdigest())


def check_file(path: str | Path, what: str, suffixes: tuple[str, ...]) -> Path:
    """The path of an existing, non-empty regular file whose extension is one of ``suffixes``;
    ``what`` ("embeddings", "metadata", ...) names it in the messages."""
    from core.io.guards import checked_regular_file

    path = checked_regular_file(path, what)  # stat first: a FIFO or device never blocks a read
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise ValueError(
            f"unsupported {what} file extension {suffix or '(none)'!r} for {path.name}; "
            f"supported: {', '.join(suffixes)}"
        )
    if path.stat().st_size == 0:
        raise ValueError(f"{what} file {path} is empty")
    return path


def load_embeddings(path: str | Path) -> np.ndarray:
    """Read an embedding matrix from ``.npy``, ``.npz``, ``.parquet`` or ``.csv``.

    ``.npz`` holds a single array or one named ``embeddings``. Parquet and CSV tables hold either
    numeric columns (one per dimension) or one list/array column (as dataset hubs store vectors;
    in CSV a cell like ``"[0.1, 0.2]"``). Columns named ``id``, ``label``, ``index`` or
    ``Unnamed: <n>`` are metadata and ignored; a CSV whose first row is all numbers is read as
    headerless, except the header ``0,1,...,d-1`` that ``DataFrame.to_csv(index=False)`` writes.
    Pickled/object arrays are never loaded.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    ndarray of shape (n, d), float32, finite

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        For an unsupported extension (supported ones listed), an empty, unreadable or corrupt
        file, pickled/object arrays, or an array that fails :func:`make_dataset`'s checks.
    """
    path = check_file(path, "embeddings", EMBEDDING_SUFFIXES)
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        array = _read_numpy(path)
    else:
        _check_table_size(path)
        array = _table_to_matrix(_read_table(path, "embeddings"), path)
    if np.ndim(array) == 2 and np.shape(array)[1] > MAX_DIMENSIONS:
        raise ValueError(
            f"embeddings in {path.name} have d={np.shape(array)[1]:,} columns, more than the "
            f"limit of {MAX_DIMENSIONS:,}"
        )
    return _validated_embeddings(array, what=f"embeddings in {path.name}")


def _read_numpy(path: Path) -> np.ndarray:

    with path.open("rb") as handle:
        magic = handle.read(6)
    if magic[:1] == b"\x80":  # the pickle protocol opcode; np.load would call it pickled too
        raise ValueError(f"{path.name}: pickled/object arrays are not accepted")
    if magic != b"\x93NUMPY" and not magic.startswith(b"PK"):
        raise ValueError(f"could not read {path.name}: not a NumPy {path.suffix} file")
    from core.io.guards import check_npy_header, check_npz_members

    # Declared shapes and sizes are checked before np.load allocates anything.
    check_npy_header(path) if magic == b"\x93NUMPY" else check_npz_members(path)
    with numpy_read_errors(path):
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded
        with loaded:
            keys = list(loaded.files)
            arrays = {key: loaded[key] for key in keys if key in ("embeddings", keys[0])}
    if "embeddings" not in keys and len(keys) != 1:
        raise ValueError(
            f"{path.name} holds arrays {keys}; expected one array or one named 'embeddings'"
        )
    return arrays["embeddings" if "embeddings" in keys else keys[0]]


@contextmanager
def numpy_read_errors(path: Path) -> Iterator[None]:
    """Turn ``np.load``'s errors into one ``ValueError`` naming the file (and pickles as such).

    Used by every reader of user ``.npy``/``.npz`` files; they always pass ``allow_pickle=False``.
    """
    import zipfile
    import zlib

    try:
        yield
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ValueError(
                f"{path.name}: pickled/object arrays are not accepted (dtype object); "
                "save numeric arrays"
            ) from None
        raise ValueError(f"could not read {path.name} as {path.suffix}: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise ValueError(f"could not read {path.name} as {path.suffix}: {detail}") from None


def _read_table(path: Path, what: str) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        if what == "metadata":  # keep ids like "007" and labels like "NA" as written
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        frame = pd.read_csv(path)
        if _is_headerless(frame):
            frame = pd.read_csv(path, header=None)
        return frame
    except (ValueError, OSError, UnicodeDecodeError) as exc:  # pandas/pyarrow parse errors
        message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise QuotingError(
            f"could not read {what} file {path.name}: {message}",
            redacted=f"could not read {what} file {path.name} ({exc.__class__.__name__})",
        ) from None


def _check_table_size(path: Path) -> None:
    """Refuse a table whose declared (parquet) or on-disk (CSV) size is beyond the limits.

    Parquet footers give rows and columns without reading data; a CSV's parser needs at least
    a few times the file's size, so twice its size is the estimate.
    """
    from core.io.guards import MAX_DIMENSIONS, check_declared_array, check_memory

    if path.suffix.lower() != ".parquet":
        check_memory(2 * path.stat().st_size, f"reading {path.name}")
        with path.open("rb") as handle:  # the first line says how many columns there are
            n_columns = handle.readline(64 * 1024**2).count(b",") + 1
        if n_columns > MAX_DIMENSIONS + len(NON_EMBEDDING_COLUMNS):
            raise ValueError(
                f"{path.name} has {n_columns:,} columns, more than the limit of "
                f"d={MAX_DIMENSIONS:,} embedding dimensions"
            )
        return
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise ValueError(f"could not read embeddings file {path.name} as parquet") from exc
    check_memory(2 * path.stat().st_size, f"reading {path.name}")
    if meta.num_columns <= MAX_DIMENSIONS:  # one list column or d numeric columns
        return
    check_declared_array((meta.num_rows, meta.num_columns), np.dtype(np.float64), path.name)


#: Columns of an embeddings table that are never embedding dimensions: metadata written beside
#: the vectors, and the index column that ``DataFrame.to_csv`` writes by default.
NON_EMBEDDING_COLUMNS = ("id", "label", "index")


def _is_headerless(frame: pd.DataFrame) -> bool:
    """Whether pandas took the first data row of a CSV for its header.

    It did when every column name is a number, except for the header ``0,1,...,d-1`` that
    ``pandas.DataFrame(x).to_csv(index=False)`` writes: names that count up from 0 are a header
    (for a single column ``0``, only when the values below are not all integers).
    """
    names = [str(column) for column in frame.columns]
    if not names or not all(_is_number(name) for name in names):
        return False
    if names != [str(i) for i in range(len(names))]:
        return True
    if len(names) > 1:
        return False
    return not pd.api.types.is_float_dtype(frame.iloc[:, 0])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _table_to_matrix(frame: pd.DataFrame, path: Path) -> np.ndarray:
    """Numeric columns, or the one list column, of an embeddings table as a 2-D array.

    Columns named ``id``, ``label``, ``index`` or ``Unnamed: <n>`` (pandas' index column) are
    metadata, not dimensions, and are left out.
    """
    frame = frame.drop(
        columns=[
            column
            for column in frame.columns
            if str(column) in NON_EMBEDDING_COLUMNS or str(column).startswith("Unnamed: ")
        ]
    )
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"embeddings table {path.name} has no rows or no embedding columns")
    list_columns = [column for column in frame.columns if _is_list_column(frame[column])]
    if len(list_columns) == 1:
        return _stack_list_column(frame[list_columns[0]], path)
    if len(list_columns) > 1:
        raise QuotingError(
            f"embeddings table {path.name} has several list columns {list_columns}; expected one",
            redacted=f"embeddings table {path.name} has {len(list_columns)} list columns; "
            "expected one",
        )
    not_numeric = [
        str(column)
        for column in frame.columns
        if not pd.api.types.is_numeric_dtype(frame[column])
        or pd.api.types.is_bool_dtype(frame[column])
    ]
    if not_numeric:
        expected = "expected numeric columns (one per dimension) or one list column"
        raise QuotingError(
            f"embeddings table {path.name} has non-numeric columns {name_some(not_numeric)}; "
            + expected,
            redacted=f"embeddings table {path.name} has {len(not_numeric)} non-numeric "
            f"columns; {expected}",
        )
    return frame.to_numpy()


def _is_list_column(column: pd.Series) -> bool:
    if isinstance(column.dtype, pd.ArrowDtype):
        import pyarrow as pa

        arrow_type = column.dtype.pyarrow_dtype
        return pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)
    if pd.api.types.is_numeric_dtype(column) or column.empty:
        return False
    first = column.dropna()
    if first.empty:
        return False
    value = first.iloc[0]
    if isinstance(value, str):
        return value.strip().startswith("[")
    return isinstance(value, (list, tuple, np.ndarray))


def _stack_list_column(column: pd.Series, path: Path) -> np.ndarray:
    rows: list[np.ndarray] = []
    for row, value in enumerate(column.tolist()):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            raise ValueError(f"embeddings table {path.name}: row {row} has no vector")
        if isinstance(value, str):
            try:
                vector = np.array(value.strip().strip("[]").replace(",", " ").split(), float)
            except ValueError:
                raise QuotingError(
                    f"embeddings table {path.name}: row {row} is not a list of numbers: "
                    f"{value[:40]!r}",
                    redacted=f"embeddings table {path.name}: row {row} is not a list of numbers",
                ) from None
        else:
            vector = np.asarray(value)
            if vector.dtype.kind not in "fiu":
                raise ValueError(
                    f"embeddings table {path.name}: row {row} holds {vector.dtype} values, "
                    "expected numbers"
                )
        if rows and vector.shape != rows[0].shape:
            raise ValueError(
                f"embeddings table {path.name}: vectors differ in length "
                f"(row 0 has {rows[0].size} values, row {row} has {vector.size})"
            )
        rows.append(vector)
    return np.stack(rows)


def load_metadata(path: str | Path, *, n_rows: int) -> pd.DataFrame:
    """Read a per-example metadata table (``.csv`` or ``.parquet``), one row per embedding.

    CSV cells are read as text (so ids like ``007`` survive); empty cells are missing values.

    Parameters
    ----------
    path : str or Path
    n_rows : int
        Number of embedding rows the table must match.

    Returns
    -------
    pandas.DataFrame with ``n_rows`` rows, in embedding order.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        For an unsupported extension, an empty/unreadable file, or a row count other than
        ``n_rows``.
    """
    path = check_file(path, "metadata", METADATA_SUFFIXES)
    frame = _read_table(path, "metadata")
    if len(frame) != n_rows:
        raise ValueError(
            f"metadata {path.name} has {len(frame)} rows but the embeddings have {n_rows} rows"
        )
    return frame.reset_index(drop=True)


def load_dataset(
    embeddings_path: str | Path,
    meta_path: str | Path | None = None,
    *,
    id_column: str = "id",
    label_column: str = "label",
    media_column: str | None = None,
    name: str | None = None,
) -> Dataset:
    """Load embeddings and optional metadata files into a validated :class:`Dataset`.

    Parameters
    ----------
    embeddings_path : str or Path
        See :func:`load_embeddings`.
    meta_path : str or Path, optional
        See :func:`load_metadata`; one row per embedding row, in the same order.
    id_column, label_column : str
        Metadata columns for ids and labels. With the defaults ("id", "label") a missing column
        means row-number ids / no labels; a non-default name must exist.
    media_column : str, optional
        Image path or text column; by default the first of "path", "image", "text" present.
        Its kind is "text" for a column named "text", "image" for "path"/"image", and for other
        names "image" when most values end in an image extension, else "text".
    name : str, optional
        Defaults to the embeddings file's stem.

    Returns
    -------
    Dataset
        ``sources`` records name, size and SHA-256 of each file read.

    Raises
    ------
    FileNotFoundError
        When a file does not exist.
    ValueError
        For any problem reported by :func:`load_embeddings`, :func:`load_metadata` or
        :func:`make_dataset`, or when a requested column is absent (columns listed).
    """
    embeddings_path = Path(embeddings_path)
    embeddings = load_embeddings(embeddings_path)
    sources = [file_info(embeddings_path)]
    ids = labels = media = media_kind = None
    if meta_path is not None:
        meta = load_metadata(meta_path, n_rows=embeddings.shape[0])
        sources.append(file_info(meta_path))
        columns = [str(column) for column in meta.columns]
        where = f"metadata {Path(meta_path).name}"
        ids = _optional_column(meta, id_column, "id", where, columns)
        labels = _optional_column(meta, label_column, "label", where, columns)
        if media_column is None:
            media_column = next((c for c in MEDIA_COLUMNS if c in meta.columns), None)
        elif media_column not in meta.columns:
            raise QuotingError(
                f"{where} has no media column {media_column!r}; columns: {columns}",
                redacted=f"{where} has no media column {media_column!r}",
            )
        if media_column is not None:
            media = meta[media_column].to_numpy()
            media_kind = _media_kind(media_column, media)
    elif media_column is not None:
        raise ValueError(f"media_column={media_column!r} needs a metadata file")
    try:
        return make_dataset(
            embeddings,
            ids=ids,
            labels=labels,
            media=media,
            media_kind=media_kind,
            name=embeddings_path.stem if name is None else name,
            sources=sources,
        )
    except ValueError as exc:
        if meta_path is None:
            raise
        where = f"metadata {Path(meta_path).name}: "
        raise QuotingError(where + str(exc), redacted=where + redacted_message(exc)) from None


def _optional_column(
    meta: pd.DataFrame, column: str, default: str, where: str, columns: list[str]
) -> np.ndarray | None:
    if column in meta.columns:
        return meta[column].to_numpy()
    if column == default:
        return None
    raise QuotingError(
        f"{where} has no column {column!r}; columns: {columns}",
        redacted=f"{where} has no column {column!r}",
    )


def _media_kind(column: str, values: np.ndarray) -> str:
    if column == "text":
        return "text"
    if column in ("path", "image"):
        return "image"
    texts = [str(value).lower() for value in values if isinstance(value, str)]
    n_images = sum(text.endswith(_IMAGE_SUFFIXES) for text in texts)
    return "image" if texts and n_images * 2 > len(texts) else "text"
