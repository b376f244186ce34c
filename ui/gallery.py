"""Draw a handful of examples: thumbnails for images, snippets for text, else a small table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

if TYPE_CHECKING:
    from core.data import Dataset

#: The most examples one gallery draws (a selection can be thousands).
MAX_GALLERY = 48


def examples_table(dataset: Dataset, rows: Sequence[int], scores: Sequence[float]) -> pd.DataFrame:
    """One row per example: row, id, label, score (higher = harder), and text when present."""
    rows = list(rows)
    table = pd.DataFrame(
        {
            "row": rows,
            "id": [str(dataset.ids[i]) for i in rows],
            "score (higher = harder)": [float(scores[i]) for i in rows],
        }
    )
    labels = dataset.label_strings()
    if labels is not None:
        table.insert(2, "label", [str(labels[i]) for i in rows])
    if dataset.media_kind == "text" and dataset.media is not None:
        table["text"] = [str(dataset.media[i])[:200] for i in rows]
    return table


def render_gallery(
    dataset: Dataset,
    rows: Sequence[int],
    scores: Sequence[float],
    *,
    width: int = 84,
    empty: str = "No examples to show.",
) -> None:
    """Thumbnails captioned with label and score, or a table when there are no images."""
    rows = [int(i) for i in rows]
    if not rows:
        st.caption(empty)
        return
    if len(rows) > MAX_GALLERY:
        st.caption(f"Showing {MAX_GALLERY} of {len(rows):,}.")
        rows = rows[:MAX_GALLERY]
    if dataset.thumbnails is None:
        st.dataframe(examples_table(dataset, rows, scores), hide_index=True, width="stretch")
        return
    from core.inspection import upscale_nearest

    labels = dataset.label_strings()
    captions = [
        (f"{labels[i]} · " if labels is not None else "") + f"{float(scores[i]):.4g}" for i in rows
    ]
    # Nearest-neighbour enlargement keeps 8x8 digits crisp; the browser would blur them.
    images = upscale_nearest(dataset.thumbnails[rows], min_size=width)
    st.image(list(images), caption=captions, width=width)
