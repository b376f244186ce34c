"""Shipped sample datasets: the registry and the loaders.

Two real image datasets ship with prunescope, each in ``sample_data/<name>/``:

``images.npz``            uint8 images, key ``images`` (thumbnails in the app)
``metadata.csv``          ``id,label`` (ids ``am-00000`` / ``dg-0000``)
``ssl_embeddings.npy``    float32 (n, 128): prunescope's own SimCLR encoder (:mod:`core.embed.ssl`)
``pixel_embeddings.npy``  float32 (n, 64): raw-pixel baseline (see :data:`SAMPLES`)
``encoder.pt``            the SSL encoder's state dict (``core.embed.ssl.load_encoder``)

plus ``sample_data/checksums.json`` (sha256 and size of every file) and ``sample_data/README.md``.
``python -m core build-samples [--out sample_data] [--seed 0]`` regenerates everything
(:mod:`core.embed.sample_build`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    from core.io.data import Dataset

#: Folder of the shipped sample data (``<repo>/sample_data``).
SAMPLE_DATA_DIR = Path(__file__).resolve().parents[2] / "sample_data"
DEFAULT_SAMPLE = "animal_mnist"
EMBEDDINGS = ("ssl", "pixels")
CHECKSUMS_FILE = "checksums.json"
EMBEDDING_FILES = MappingProxyType({"ssl": "ssl_embeddings.npy", "pixels": "pixel_embeddings.npy"})
DATASET_FILES = (
    "images.npz",
    "metadata.csv",
    "ssl_embeddings.npy",
    "pixel_embeddings.npy",
    "encoder.pt",
)


@dataclass(frozen=True, slots=True)
class SampleInfo:
    """One shipped sample dataset."""

    name: str  # registry key and folder name
    title: str
    description: str  # one line
    id_prefix: str
    n_examples: int
    image_shape: tuple[int, int]
    n_classes: int
    source: str
    licence: str
    pixel_embedding: str  # how pixel_embeddings.npy is made
    hflip: bool  # horizontal flips in SSL training (only where mirror images keep their meaning)
    ssl_epochs: int  # default training epochs of the shipped encoder


SAMPLES = MappingProxyType(
    {
        "animal_mnist": SampleInfo(
            name="animal_mnist",
            title="Animal-MNIST",
            description="10,000 28x28 animal silhouettes in 10 balanced classes (bear ... zebra).",
            id_prefix="am",
            n_examples=10_000,
            image_shape=(28, 28),
            n_classes=10,
            source="PyPI package animal-mnist 0.4 (Sina Mohammadi), animal_data_version_3.gz",
            licence="MIT",
            pixel_embedding="pixels / 255 flattened (784), PCA to 64 dims (sklearn, full SVD)",
            hflip=True,
            ssl_epochs=10,
        ),
        "digits": SampleInfo(
            name="digits",
            title="Digits",
            description="1,797 8x8 handwritten digits 0-9 (scikit-learn's load_digits, UCI).",
            id_prefix="dg",
            n_examples=1_797,
            image_shape=(8, 8),
            n_classes=10,
            source="scikit-learn load_digits (UCI Optical Recognition of Handwritten Digits)",
            licence="CC BY 4.0 (UCI ML repository), shipped inside scikit-learn (BSD-3-Clause)",
            pixel_embedding="pixels / 255 flattened (64 dims, no PCA)",
            hflip=False,
            ssl_epochs=50,
        ),
    }
)


def list_samples() -> tuple[SampleInfo, ...]:
    """Every shipped sample, default first."""
    return tuple(sorted(SAMPLES.values(), key=lambda s: (s.name != DEFAULT_SAMPLE, s.name)))


def sample_dir(name: str, *, root: str | Path | None = None) -> Path:
    """Folder of one sample (``ValueError`` for an unknown name)."""
    check_sample_name(name)
    return (SAMPLE_DATA_DIR if root is None else Path(root)) / name


def _existing_sample_dir(name: str, root: str | Path | None) -> Path:
    """:func:`sample_dir`, or a ``ValueError`` naming the folder when it is not there.

    The samples live in the source repository; an installed wheel has no ``sample_data/``.
    """
    folder = sample_dir(name, root=root)
    if not folder.is_dir():
        raise ValueError(
            f"sample {name!r} needs the folder {folder}, which does not exist: the sample data "
            "ships with the prunescope repository, not with the installed package (run from a "
            "checkout, pass root=, or build it with 'python -m core build-samples --out DIR')"
        )
    return folder


def load_sample_images(name: str, *, root: str | Path | None = None) -> np.ndarray:
    """The sample's images, uint8 (n, h, w) (``ValueError`` when the sample folder is missing)."""
    folder = _existing_sample_dir(name, root)
    with np.load(folder / "images.npz", allow_pickle=False) as archive:
        return np.asarray(archive["images"])


def load_sample(
    name: str = DEFAULT_SAMPLE, embedding: str = "ssl", *, root: str | Path | None = None
) -> Dataset:
    """Load a shipped sample as a ``Dataset``.

    Parameters
    ----------
    name : str
        A key of :data:`SAMPLES` (``"animal_mnist"`` or ``"digits"``).
    embedding : {"ssl", "pixels"}
        Which shipped embedding to use.
    root : path, optional
        Folder holding the samples; default :data:`SAMPLE_DATA_DIR`.

    Returns
    -------
    Dataset
        embeddings (n, d) float32, ids, labels + class_names, thumbnails = the images,
        ``media_kind="image"``, name like ``"Animal-MNIST (ssl)"``, sources = the embedding
        file and ``metadata.csv``.

    Raises
    ------
    ValueError
        For an unknown name or embedding, or when the sample's folder does not exist (an
        installed package has no ``sample_data/``; the message names the folder).
    """
    import pandas as pd

    from core.io.data import file_info, make_dataset

    info = SAMPLES[check_sample_name(name)]
    if embedding not in EMBEDDINGS:
        raise ValueError(f"embedding={embedding!r} should be one of {', '.join(EMBEDDINGS)}")
    folder = _existing_sample_dir(name, root)
    emb_path = folder / EMBEDDING_FILES[embedding]
    meta_path = folder / "metadata.csv"
    embeddings = np.load(emb_path, allow_pickle=False)
    meta = pd.read_csv(meta_path, dtype=str, keep_default_na=False)
    dataset = make_dataset(
        embeddings,
        media_kind="image",
        ids=meta["id"].to_numpy(dtype=str),
        labels=meta["label"].to_numpy(dtype=str),
        thumbnails=load_sample_images(name, root=root),
        name=f"{info.title} ({embedding})",
        sources=(file_info(emb_path), file_info(meta_path)),
    )
    return dataset


def make_synthetic(n: int, d: int, n_classes: int, seed: int = 0) -> Dataset:
    """Gaussian blobs with labels: a small, seeded stand-in dataset for tests and benchmarks.

    Class centres are drawn from ``N(0, 4^2 I)``, example ``i`` belongs to class ``i % n_classes``
    and sits at its centre plus ``N(0, I)`` noise. Same arguments, same arrays.

    Parameters
    ----------
    n : int
        Number of examples, >= 2.
    d : int
        Embedding dimension, >= 1.
    n_classes : int
        Number of classes, >= 1.
    seed : int
        Seed of the centres and the noise.

    Returns
    -------
    Dataset
        embeddings (n, d) float32, ids ``"x000000"``, ``"x000001"``, ..., labels ``"class0"``,
        ``"class1"``, ... (balanced), name ``"synthetic blobs (n=..., d=...)"``.

    Raises
    ------
    ValueError
        If ``n`` < 2, ``d`` < 1 or ``n_classes`` < 1, or the seed is not an int in
        [0, 2**31 - 1].
    """
    from core.io.data import make_dataset
    from core.validate import check_int, check_seed

    n = check_int("n", n, low=2)
    d = check_int("d", d, low=1)
    n_classes = check_int("n_classes", n_classes, low=1)
    rng = np.random.default_rng(check_seed(seed))
    centers = rng.normal(size=(n_classes, d)) * 4.0
    labels = np.arange(n) % n_classes
    embeddings = centers[labels] + rng.normal(size=(n, d))
    return make_dataset(
        embeddings,
        ids=np.array([f"x{i:06d}" for i in range(n)]),
        labels=np.array([f"class{c}" for c in labels]),
        name=f"synthetic blobs (n={n}, d={d})",
    )


def read_checksums(root: str | Path | None = None) -> dict[str, dict[str, object]]:
    """``checksums.json``: relative path -> ``{"sha256": hex, "bytes": size}``."""
    path = (SAMPLE_DATA_DIR if root is None else Path(root)) / CHECKSUMS_FILE
    return dict(json.loads(path.read_text(encoding="utf-8"))["files"])


# --------------------------------------------------------------------------------------------
# build


def check_sample_name(name: str) -> str:
    """``name`` if it is a shipped sample (a key of :data:`SAMPLES`), else ValueError listing them."""
    if name not in SAMPLES:
        raise ValueError(f"unknown sample {name!r}; choose one of {', '.join(SAMPLES)}")
    return name
