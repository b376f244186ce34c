"""Datasets: loading embeddings and metadata from files, and validating them once at the boundary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


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


# Functions (owner: core engine). Signatures are the contract:
# def make_dataset(embeddings, *, ids=None, labels=None, media=None, media_kind=None,
#                  thumbnails=None, name="", sources=()) -> Dataset   # validates, casts to float32
# def load_embeddings(path: str | Path) -> np.ndarray                   # float32 (n, d)
# def load_dataset(embeddings_path, meta_path=None, *, id_column="id", label_column="label",
#                  media_column=None, name=None) -> Dataset
# def file_info(path) -> FileInfo
_ = Path
