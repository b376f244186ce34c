"""Text datasets: read texts, ids and labels from a CSV (embedding them is ``core.embed.text``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True, eq=False, slots=True)
class TextTable:
    """Texts read from a CSV.

    Attributes
    ----------
    texts : ndarray of shape (n,), str
    ids : ndarray of shape (n,), str
        The ``id`` column when present, else row numbers.
    labels : ndarray of shape (n,), str, or None
    """

    texts: np.ndarray
    ids: np.ndarray
    labels: np.ndarray | None


def load_text_csv(
    path: str | Path,
    *,
    column: str = "text",
    label_column: str | None = None,
    id_column: str = "id",
) -> TextTable:
    """Read texts (and optional labels and ids) from a CSV.

    Parameters
    ----------
    path : path to a ``.csv``
    column : str
        Column with the texts; empty cells become empty strings.
    label_column : str, optional
        Column with labels (read as strings); empty labels are an error.
    id_column : str
        Used as ids when present (must be unique); else ids are row numbers.

    Raises
    ------
    ValueError
        Missing columns, no rows, duplicate ids or empty labels.
    """
    import pandas as pd

    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (FileNotFoundError, PermissionError):
        raise
    except Exception as exc:  # parser errors of several types
        raise ValueError(f"{path.name}: could not be read as CSV ({exc})") from exc
    columns = [str(c) for c in table.columns]
    if column not in columns:
        raise ValueError(f"{path.name}: no column {column!r}; columns are {', '.join(columns)}")
    if label_column is not None and label_column not in columns:
        raise ValueError(
            f"{path.name}: no label column {label_column!r}; columns are {', '.join(columns)}"
        )
    if len(table) == 0:
        raise ValueError(f"{path.name}: no rows")
    texts = table[column].to_numpy(dtype=str)
    if id_column in columns and id_column != column:
        ids = table[id_column].to_numpy(dtype=str)
        if len(set(ids.tolist())) != len(ids):
            raise ValueError(f"{path.name}: column {id_column!r} has duplicate ids")
    else:
        ids = np.arange(len(table)).astype(str)
    labels = None
    if label_column is not None:
        labels = table[label_column].to_numpy(dtype=str)
        empty = np.flatnonzero(labels == "")
        if empty.size:
            raise ValueError(
                f"{path.name}: {empty.size} empty labels in {label_column!r}, first at row "
                f"{int(empty[0])}"
            )
    return TextTable(texts=texts, ids=ids, labels=labels)
