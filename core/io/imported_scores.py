"""Per-example scores made elsewhere (a CSV/parquet/npy file), aligned to a dataset's rows.

A score file holds one number per example and, optionally, an ``id`` column (matched against
the dataset's ids) or an ``index`` column (row numbers 0..n-1). Without either, row i of the
file is example i. ``FILE:COLUMN`` picks the column; with a single value column it may be left
out. Imported scores are oriented higher = harder like every other score: a file whose values
are higher = easier (a confidence, a margin) is flipped on import (``higher_is_easier=True``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.scores.metrics import ScoreParams, Scores

SCORE_SUFFIXES = (".csv", ".parquet", ".npy")
#: Columns that align a score file to a dataset, in the order they are tried.
KEY_COLUMNS = ("id", "index")
_N_NAMED = 5


@dataclass(frozen=True, eq=False, slots=True)
class ScoreTable:
    """One score column read from a file, not yet aligned.

    Attributes
    ----------
    path : Path
    column : str
        The value column (the file's stem for a ``.npy``).
    values : ndarray of shape (m,), object
        Raw cells, checked when aligned.
    keys : ndarray of shape (m,), str, or None
        The ``id`` or ``index`` column as text, or None (row order).
    key_column : str or None
        ``"id"``, ``"index"`` or None.
    """

    path: Path
    column: str
    values: np.ndarray
    keys: np.ndarray | None
    key_column: str | None

    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])


def parse_score_spec(spec: str) -> tuple[Path, str | None]:
    """Split ``FILE:COLUMN`` into the path and the column (None when no column is given).

    An existing file whose name contains ``:`` is taken whole.

    Raises
    ------
    ValueError
        When the spec is empty or ends in ``:``.
    """
    text = str(spec).strip()
    if not text:
        raise ValueError("the score file spec is empty; give FILE or FILE:COLUMN")
    if Path(text).is_file() or ":" not in text:
        return Path(text), None
    path, column = text.rsplit(":", 1)
    if not column or not path:
        raise ValueError(f"score spec {spec!r} should be FILE or FILE:COLUMN")
    return Path(path), column


def read_score_table(path: str | Path, column: str | None = None) -> ScoreTable:
    """Read one score column, and the ``id``/``index`` column when present, from a file.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (cells read as text), ``.parquet`` or a 1-D ``.npy``.
    column : str or None
        The value column; None picks the only column besides ``id``/``index``, else ``score``.

    Returns
    -------
    ScoreTable

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        Unsupported extension, unreadable or empty file, unknown column (columns listed), or an
        ambiguous choice of column.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    suffix = path.suffix.lower()
    if suffix not in SCORE_SUFFIXES:
        raise ValueError(f"score file {path.name} should be one of {', '.join(SCORE_SUFFIXES)}")
    if suffix == ".npy":
        return _read_npy(path, column)
    frame = _read_frame(path)
    columns = [str(c) for c in frame.columns]
    key_column = next((c for c in KEY_COLUMNS if c in columns), None)
    chosen = _choose_column(path, columns, column)
    keys = None if key_column is None else frame[key_column].astype(str).to_numpy()
    if keys is not None:
        keys = np.array([key.strip() for key in keys], dtype=str)
    values = frame[chosen].to_numpy(dtype=object)
    return ScoreTable(path, chosen, values, keys, key_column)


def import_scores(
    table: ScoreTable,
    *,
    ids: np.ndarray | None = None,
    n: int | None = None,
    higher_is_easier: bool = False,
) -> Scores:
    """Align a score column to a dataset's rows and orient it higher = harder.

    Alignment: by ``id`` when the file has an id column and ``ids`` are given; by ``index``
    when it has an index column; else by row order (the file must have ``n`` rows). A file
    with an id column and no ``ids`` given is taken in its own row order.

    Parameters
    ----------
    table : ScoreTable
    ids : ndarray of shape (n,), str, or None
        The dataset's ids.
    n : int or None
        Number of examples; defaults to ``len(ids)``, else the file's row count.
    higher_is_easier : bool
        The file's orientation; True negates the values so that higher = harder.

    Returns
    -------
    Scores
        metric ``"imported:<column>"``, values (n,) float64, no clusters or centroids; params
        ``source``, ``column``, ``higher_is_easier``, ``aligned_by``.

    Raises
    ------
    ValueError
        Non-numeric, missing, NaN or infinite values; duplicate, unknown or missing ids or
        indices; a row count that differs from ``n``. Messages name the rows (file rows are
        numbered from 0, header excluded).
    """
    if ids is not None:
        ids = np.asarray(ids).astype(str)
        n = ids.shape[0] if n is None else n
    numbers = _numbers(table)
    if table.key_column == "id" and ids is not None:
        order, aligned_by = _align_by_id(table, ids), "id"
    elif table.key_column == "index":
        order, aligned_by = _align_by_index(table, table.n_rows if n is None else n), "index"
    else:
        if n is not None and table.n_rows != n:
            raise ValueError(
                f"score file {table.path.name} has {table.n_rows} rows but the dataset has "
                f"n={n}; add an id or index column to align them"
            )
        order, aligned_by = np.arange(table.n_rows), "row"
    values = numbers[order]
    if higher_is_easier:
        values = -values + 0.0  # + 0.0: no -0.0
    params = ScoreParams(
        score_file=table.path.name,
        column=table.column,
        higher_is_easier=bool(higher_is_easier),
        aligned_by=aligned_by,
    )
    return Scores(f"imported:{table.column}", values, None, None, params)


def table_ids(table: ScoreTable) -> np.ndarray:
    """Ids for a dataset built from the score file alone: its ``id`` column, else row numbers.

    Raises
    ------
    ValueError
        When ids repeat (some named).
    """
    if table.key_column != "id" or table.keys is None:
        return np.arange(table.n_rows).astype(str)
    _check_unique(table)
    return table.keys


# ----------------------------------------------------------------------------- private helpers


def _read_frame(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            frame = pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise ValueError(f"could not read score file {path.name}: {exc}") from None
    if len(frame) == 0:
        raise ValueError(f"score file {path.name} has no rows")
    return frame


def _read_npy(path: Path, column: str | None) -> ScoreTable:
    if column is not None:
        raise ValueError(f"score file {path.name} is a .npy array: it has no column {column!r}")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"could not read score file {path.name}: {exc}") from None
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"score file {path.name} should hold a non-empty 1-D array")
    return ScoreTable(path, path.stem, array.astype(object), None, None)


def _choose_column(path: Path, columns: list[str], column: str | None) -> str:
    if column is not None:
        if column not in columns:
            raise ValueError(f"score file {path.name} has no column {column!r}; columns: {columns}")
        if column in KEY_COLUMNS:
            raise ValueError(f"column {column!r} of {path.name} aligns rows; pick a score column")
        return column
    candidates = [c for c in columns if c not in KEY_COLUMNS]
    if len(candidates) == 1:
        return candidates[0]
    if "score" in candidates:
        return "score"
    raise ValueError(
        f"score file {path.name} has columns {columns}; pick one with {path.name}:COLUMN"
    )


def _numbers(table: ScoreTable) -> np.ndarray:
    raw = pd.Series(table.values)
    text = raw.astype(str).str.strip()
    numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    missing = raw.isna().to_numpy() | (text == "").to_numpy() | (text.str.lower() == "nan")
    bad = ~np.isfinite(numbers) & ~missing
    non_numeric = bad & np.isnan(numbers)
    where = f"score file {table.path.name} column {table.column!r}"
    if non_numeric.any():
        rows = np.flatnonzero(non_numeric)
        shown = ", ".join(f"{r} ({table.values[r]!r})" for r in rows[:_N_NAMED])
        raise ValueError(f"{where}: {rows.size} non-numeric values in rows {shown}")
    if missing.any():
        raise ValueError(f"{where}: {missing.sum()} missing/NaN values in rows {_some(missing)}")
    if bad.any():
        raise ValueError(f"{where}: {bad.sum()} infinite values in rows {_some(bad)}")
    return numbers


def _align_by_id(table: ScoreTable, ids: np.ndarray) -> np.ndarray:
    _check_unique(table)
    keys = table.keys if table.keys is not None else np.zeros(0, dtype=str)
    position = {key: row for row, key in enumerate(keys.tolist())}
    missing = [identifier for identifier in ids.tolist() if identifier not in position]
    if missing:
        raise ValueError(
            f"score file {table.path.name} has no score for {len(missing)} of {ids.size} ids: "
            f"{', '.join(repr(m) for m in missing[:_N_NAMED])}"
        )
    known = set(ids.tolist())
    extra = np.flatnonzero([key not in known for key in keys.tolist()])
    if extra.size:
        shown = ", ".join(repr(str(keys[r])) for r in extra[:_N_NAMED])
        raise ValueError(
            f"score file {table.path.name} has {extra.size} ids not in the dataset "
            f"(rows {_some_rows(extra)}: {shown})"
        )
    return np.array([position[identifier] for identifier in ids.tolist()], dtype=np.int64)


def _align_by_index(table: ScoreTable, n: int) -> np.ndarray:
    keys = table.keys if table.keys is not None else np.zeros(0, dtype=str)
    index = pd.to_numeric(pd.Series(keys), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(index) | (index != np.round(index)) | (index < 0) | (index >= n)
    if bad.any():
        raise ValueError(
            f"score file {table.path.name}: index should be an integer in [0, {n}), "
            f"not in rows {_some(bad)}"
        )
    rows = index.astype(np.int64)
    _check_unique(table)
    if rows.size != n:
        absent = np.setdiff1d(np.arange(n), rows)
        raise ValueError(
            f"score file {table.path.name} has no score for {absent.size} of {n} indices: "
            f"{_some_rows(absent)}"
        )
    order = np.empty(n, dtype=np.int64)
    order[rows] = np.arange(n)
    return order


def _check_unique(table: ScoreTable) -> None:
    keys = table.keys if table.keys is not None else np.zeros(0, dtype=str)
    duplicated = pd.Series(keys).duplicated(keep=False).to_numpy()
    if duplicated.any():
        rows = np.flatnonzero(duplicated)
        shown = ", ".join(f"{r} ({str(keys[r])!r})" for r in rows[:_N_NAMED])
        raise ValueError(
            f"score file {table.path.name}: {table.key_column} repeats in rows {shown}"
        )


def _some(mask: np.ndarray) -> str:
    return _some_rows(np.flatnonzero(mask))


def _some_rows(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:_N_NAMED])
    return shown + (", ..." if rows.size > _N_NAMED else "")
