"""The two files every embedding run writes: the float32 ``.npy`` and its ids CSV.

``python -m core embed`` / ``embed-text`` and the app's "Download embeddings" buttons call these,
so both give the same bytes for the same embeddings.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np


def embeddings_npy_bytes(embeddings: np.ndarray) -> bytes:
    """``embeddings`` (n, d) as float32 ``.npy`` bytes (``allow_pickle=False``)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(embeddings, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


def ids_csv_bytes(
    ids: Sequence[object] | np.ndarray,
    labels: Sequence[object] | np.ndarray | None = None,
    *,
    texts: Sequence[object] | np.ndarray | None = None,
) -> bytes:
    """The ids CSV: columns ``id`` (+ ``label`` when given, + ``text`` when given), one row per
    embedding row in order, ``\\n`` line endings; usable as ``--meta`` for ``score``/``prune``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["id"] + (["label"] if labels is not None else []) + (["text"] if texts is not None else [])
    )
    for i, item_id in enumerate(ids):
        row = [str(item_id)]
        if labels is not None:
            row.append(str(labels[i]))
        if texts is not None:
            row.append(str(texts[i]))
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8")
