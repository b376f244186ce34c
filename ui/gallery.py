"""Draw a handful of examples: thumbnails for images, snippets for text, else a small table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

if TYPE_CHECKING:
    from core.io.data import Dataset

#: The most examples one gallery draws (a selection can be thousands).
MAX_GALLERY = 48


def examples_table(
    dataset: Dataset, rows: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> pd.DataFrame:
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
    rows: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
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
        text_column = st.column_config.TextColumn(
            "text", width="large", help="First 200 characters; the expander below has them all."
        )
        st.dataframe(
            examples_table(dataset, rows, scores),
            hide_index=True,
            width="stretch",
            column_config={"text": text_column},
        )
        render_full_texts(dataset, rows)
        return
    from core.analysis.inspection import upscale_nearest

    labels = dataset.label_strings()
    captions = [
        (f"{labels[i]} · " if labels is not None else "") + f"{float(scores[i]):.4g}" for i in rows
    ]
    # Nearest-neighbour enlargement keeps 8x8 digits crisp; the browser would blur them.
    images = upscale_nearest(dataset.thumbnails[rows], min_size=width)
    st.image(list(images), caption=captions, width=width)


def render_full_texts(dataset: Dataset, rows: Sequence[int] | np.ndarray) -> None:
    """An expander with every shown text in full (tables cut texts at 200 characters)."""
    if dataset.media_kind != "text" or dataset.media is None or not len(rows):
        return
    with st.expander(f"Read the {len(rows)} texts in full"):
        for i in rows:
            st.markdown(f"**{dataset.ids[int(i)]}** (row {int(i)})")
            st.text(str(dataset.media[int(i)]))


# --- Deduplicate ---


def render_pairs(
    dataset: Dataset,
    removed: Sequence[int] | np.ndarray,
    duplicate_of: Sequence[int] | np.ndarray,
    similarity: Sequence[float] | np.ndarray,
    max_similarity: Sequence[float] | np.ndarray,
    *,
    width: int = 84,
    empty: str = "No duplicates at this ε.",
) -> None:
    """Each removed example beside the earlier one it duplicates, captioned with their cosine.

    Images: one picture per pair (removed left, the one it duplicates right). Otherwise a table
    with both ids, labels and text snippets. ``max_similarity`` (to any earlier member) is shown
    too where it is higher than the similarity to ``duplicate_of`` (the first one over 1 - ε).
    """
    pairs = [(int(a), int(b), float(s)) for a, b, s in zip(removed, duplicate_of, similarity)]
    best = [float(m) for m in max_similarity]
    if not pairs:
        st.caption(empty)
        return
    labels = dataset.label_strings()
    if dataset.thumbnails is None:
        table = pd.DataFrame(
            {
                "cosine": [s for _, _, s in pairs],
                "max cosine": best[: len(pairs)],
                "removed row": [a for a, _, _ in pairs],
                "removed id": [str(dataset.ids[a]) for a, _, _ in pairs],
                "duplicate of row": [b for _, b, _ in pairs],
                "duplicate of id": [str(dataset.ids[b]) for _, b, _ in pairs],
            }
        )
        if labels is not None:
            table.insert(3, "removed label", [str(labels[a]) for a, _, _ in pairs])
            table["duplicate of label"] = [str(labels[b]) for _, b, _ in pairs]
        if dataset.media_kind == "text" and dataset.media is not None:
            table["removed text"] = [str(dataset.media[a])[:200] for a, _, _ in pairs]
            table["duplicate of text"] = [str(dataset.media[b])[:200] for _, b, _ in pairs]
        st.dataframe(table, hide_index=True, width="stretch")
        render_full_texts(dataset, [i for a, b, _ in pairs for i in (a, b)])
        return
    import numpy as np

    from core.analysis.inspection import upscale_nearest

    images = []
    for a, b, _ in pairs:
        left, right = upscale_nearest(dataset.thumbnails[[a, b]], min_size=width)
        # A thin grey rule inside the pair; the gallery's own spacing separates pairs.
        rule = np.full((left.shape[0], 2, *left.shape[2:]), 128, left.dtype)
        images.append(np.concatenate([left, rule, right], axis=1))
    captions = [
        f"cos {s:.5f}"
        + (f" (max {m:.5f})" if m > s + 5e-6 else "")
        + (f" · {labels[a]} | {labels[b]}" if labels is not None else "")
        for (a, b, s), m in zip(pairs, best)
    ]
    st.image(images, caption=captions, width=2 * width + 2)
