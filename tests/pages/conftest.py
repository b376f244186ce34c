"""Page tests: a small synthetic dataset, PCA instead of UMAP, and empty caches (in memory and
the local store) around each test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # pages import ui/ and core/ from the repository root
    sys.path.insert(0, str(ROOT))

#: Gaussian blobs: 600 examples, 16 dimensions, 4 classes, seed 0 (see ui.cache.get_dataset).
DATASET_KEY = "synthetic:600:16:4:0"


def page_path(name: str) -> str:
    """Absolute path of app.py or a file under pages/."""
    return str(ROOT / name) if name == "app.py" else str(ROOT / "pages" / name)


@pytest.fixture(autouse=True)
def small_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("PRUNESCOPE_SAMPLE", DATASET_KEY)
    # An empty local store per test: pins and uploads saved by one test never reach another.
    monkeypatch.setenv("PRUNESCOPE_CACHE_DIR", str(tmp_path / "prunescope-cache"))
    monkeypatch.setenv("PRUNESCOPE_PROJECTION", "pca")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
