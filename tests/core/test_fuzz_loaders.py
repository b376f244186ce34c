"""Fuzzing the loaders: random, truncated and mutated files give a valid array or a ValueError.

Bounded (100 examples per test, no deadline) so the whole file runs in well under a minute.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.io.data import load_embeddings, load_metadata
from core.io.images import load_image_zip

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_files() -> dict[str, bytes]:
    matrix = np.arange(24, dtype=np.float32).reshape(6, 4) / 7
    npy = io.BytesIO()
    np.save(npy, matrix)
    npz = io.BytesIO()
    np.savez_compressed(npz, embeddings=matrix)
    parquet = io.BytesIO()
    pd.DataFrame(matrix, columns=[f"d{i}" for i in range(4)]).to_parquet(parquet)
    csv = pd.DataFrame(matrix).to_csv(index=False).encode()
    images = io.BytesIO()
    from PIL import Image

    with zipfile.ZipFile(images, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i in range(3):
            png = io.BytesIO()
            Image.new("L", (5, 5), 40 * i).save(png, format="PNG")
            archive.writestr(f"img{i}.png", png.getvalue())
        archive.writestr("labels.csv", "file,label\nimg0.png,a\nimg1.png,b\nimg2.png,a\n")
    return {
        ".npy": npy.getvalue(),
        ".npz": npz.getvalue(),
        ".parquet": parquet.getvalue(),
        ".csv": csv,
        ".zip": images.getvalue(),
        "meta.csv": b"id,label\na,x\nb,y\nc,x\nd,y\ne,x\nf,y\n",
    }


VALID = _valid_files()


def _load(suffix: str, data: bytes) -> object:
    with tempfile.TemporaryDirectory() as folder:
        name = "data" + (suffix if suffix.startswith(".") else ".csv")
        path = Path(folder) / name
        path.write_bytes(data)
        if suffix == ".zip":
            return load_image_zip(path)
        if suffix == "meta.csv":
            return load_metadata(path, n_rows=6)
        return load_embeddings(path)


def _only_value_errors(suffix: str, data: bytes) -> None:
    try:
        result = _load(suffix, data)
    except ValueError as exc:
        message = str(exc)
        result = None
    else:
        message = ""
    assert "\n" not in message.strip(), message  # one line, as the CLI prints it
    if isinstance(result, np.ndarray):
        assert result.ndim == 2
        assert result.dtype == np.float32
        assert np.isfinite(result).all()


def _mutate(data: bytes, position: int, value: int) -> bytes:
    position %= max(1, len(data))
    return data[:position] + bytes([value]) + data[position + 1 :]


SUFFIXES = st.sampled_from(sorted(VALID))
Case = Callable[[str, bytes], None]


@FUZZ
@given(SUFFIXES, st.binary(min_size=1, max_size=512))
def test_random_bytes(suffix: str, data: bytes) -> None:
    _only_value_errors(suffix, data)


@FUZZ
@given(SUFFIXES, st.data())
def test_truncated_valid_files(suffix: str, data: st.DataObject) -> None:
    valid = VALID[suffix]
    cut = data.draw(st.integers(min_value=1, max_value=len(valid) - 1))
    _only_value_errors(suffix, valid[:cut])


@FUZZ
@given(
    SUFFIXES,
    st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_mutated_headers(suffix: str, mutations: list[tuple[int, int]]) -> None:
    data = VALID[suffix]
    for position, value in mutations:  # the first 256 bytes hold every format's header
        data = _mutate(data, position, value)
    _only_value_errors(suffix, data)


def test_the_valid_files_load() -> None:
    for suffix in VALID:
        assert _load(suffix, VALID[suffix]) is not None
    assert _load(".csv", VALID[".csv"]).shape == (6, 4)  # type: ignore[attr-defined]
