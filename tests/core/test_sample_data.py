"""Tests for core.io.samples: the shipped files, their checksums, loaders and the build."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from core.embed.sample_build import build_all
from core.io.samples import (
    CHECKSUMS_FILE,
    DATASET_FILES,
    DEFAULT_SAMPLE,
    SAMPLE_DATA_DIR,
    SAMPLES,
    list_samples,
    load_sample,
    load_sample_images,
    make_synthetic,
    read_checksums,
)

NAMES = sorted(SAMPLES)


def test_registry() -> None:
    assert DEFAULT_SAMPLE == "animal_mnist"
    assert list_samples()[0].name == DEFAULT_SAMPLE
    assert {s.name for s in list_samples()} == {"animal_mnist", "digits"}
    for info in list_samples():
        assert info.description
        assert "\n" not in info.description
    with pytest.raises(ValueError, match="unknown sample 'mnist'; choose one of"):
        load_sample("mnist")
    with pytest.raises(ValueError, match="embedding='clip' should be one of ssl, pixels"):
        load_sample("digits", embedding="clip")


def test_shipped_files_match_checksums() -> None:
    checksums = read_checksums()
    assert set(checksums) == {f"{n}/{f}" for n in NAMES for f in DATASET_FILES}
    total = 0
    for relative, entry in checksums.items():
        data = (SAMPLE_DATA_DIR / relative).read_bytes()
        assert len(data) == entry["bytes"], relative
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], relative
        total += len(data)
    assert total < 30 * 1024**2
    readme = (SAMPLE_DATA_DIR / "README.md").read_text()
    for entry in checksums.values():
        assert entry["sha256"] in readme


@pytest.mark.parametrize("name", NAMES)
def test_shipped_arrays(name: str) -> None:
    info = SAMPLES[name]
    folder = SAMPLE_DATA_DIR / name
    images = load_sample_images(name)
    assert images.dtype == np.uint8
    assert images.shape == (info.n_examples, *info.image_shape)
    assert images.max() > 200  # scaled to 0..255, not 0..16
    meta = pd.read_csv(folder / "metadata.csv", dtype=str, keep_default_na=False)
    assert list(meta.columns) == ["id", "label"]
    assert len(meta) == info.n_examples
    assert meta["id"].is_unique
    assert meta["id"].str.startswith(f"{info.id_prefix}-").all()
    assert meta["label"].nunique() == info.n_classes
    for filename, dim in (("ssl_embeddings.npy", 128), ("pixel_embeddings.npy", 64)):
        embeddings = np.load(folder / filename, allow_pickle=False)
        assert embeddings.dtype == np.float32
        assert embeddings.shape == (info.n_examples, dim)
        assert np.isfinite(embeddings).all()


def test_animal_labels_are_names_and_digits_are_ints() -> None:
    animals = load_sample("animal_mnist", embedding="pixels")
    assert animals.class_names == (
        "bear",
        "bird",
        "cat",
        "cow",
        "dog",
        "elephant",
        "giraffe",
        "horse",
        "sheep",
        "zebra",
    )
    assert np.bincount(animals.labels).tolist() == [1000] * 10
    digits = load_sample("digits")
    assert digits.class_names == tuple(str(i) for i in range(10))
    from sklearn.datasets import load_digits

    np.testing.assert_array_equal(digits.labels, load_digits().target)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("embedding", ["ssl", "pixels"])
def test_load_sample(name: str, embedding: str) -> None:
    info = SAMPLES[name]
    dataset = load_sample(name, embedding=embedding)
    assert dataset.n == info.n_examples
    assert dataset.embeddings.dtype == np.float32
    assert dataset.d == (128 if embedding == "ssl" else 64)
    assert dataset.media_kind == "image"
    assert dataset.thumbnails.shape[0] == info.n_examples
    assert dataset.labels.min() >= 0
    assert dataset.labels.max() < dataset.n_classes == 10
    assert len(set(dataset.ids.tolist())) == dataset.n
    assert dataset.name == f"{info.title} ({embedding})"
    names = [source.name for source in dataset.sources]
    assert names == [f"{'ssl' if embedding == 'ssl' else 'pixel'}_embeddings.npy", "metadata.csv"]
    checksums = read_checksums()
    assert dataset.sources[0].sha256 == checksums[f"{name}/{names[0]}"]["sha256"]


def test_a_missing_sample_folder_is_a_value_error_naming_it(tmp_path) -> None:
    # An installed wheel has no sample_data/: the error says which folder is missing.
    missing = tmp_path / "digits"
    with pytest.raises(ValueError, match=rf"{missing}.*does not exist"):
        load_sample("digits", root=tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        load_sample_images("digits", root=tmp_path)


def test_shipped_encoder_reproduces_shipped_embeddings() -> None:
    from core.embed.ssl import embed_images, load_encoder

    encoder = load_encoder(SAMPLE_DATA_DIR / "digits" / "encoder.pt")
    images = load_sample_images("digits")[:50]
    shipped = np.load(SAMPLE_DATA_DIR / "digits" / "ssl_embeddings.npy")[:50]
    np.testing.assert_allclose(embed_images(encoder, images), shipped, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_build_is_deterministic(tmp_path) -> None:
    first = build_all(tmp_path / "a", seed=3, epochs=1, names=["digits"])
    second = build_all(tmp_path / "b", seed=3, epochs=1, names=["digits"])
    a = json.loads((tmp_path / "a" / CHECKSUMS_FILE).read_text())
    b = json.loads((tmp_path / "b" / CHECKSUMS_FILE).read_text())
    assert a == b
    assert set(a["files"]) == {f"digits/{f}" for f in DATASET_FILES}
    assert (tmp_path / "a" / "README.md").read_bytes() == (
        tmp_path / "b" / "README.md"
    ).read_bytes()
    assert first[0].knn_ssl == second[0].knn_ssl
    assert 0.1 < first[0].knn_pixels <= 1.0
    dataset = load_sample("digits", root=tmp_path / "a")
    assert dataset.n == 1797
    with pytest.raises(ValueError, match="epochs=0 should be >= 1"):
        build_all(tmp_path / "c", epochs=0)


def test_make_synthetic_is_seeded_labelled_blobs() -> None:
    dataset = make_synthetic(7, 3, 3, seed=5)
    assert dataset.embeddings.shape == (7, 3)
    assert dataset.embeddings.dtype == np.float32
    assert dataset.ids.tolist() == [f"x00000{i}" for i in range(7)]
    assert dataset.class_names == ("class0", "class1", "class2")
    assert dataset.labels.tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert dataset.name == "synthetic blobs (n=7, d=3)"
    again = make_synthetic(7, 3, 3, seed=5)
    assert again.embeddings.tobytes() == dataset.embeddings.tobytes()
    assert make_synthetic(7, 3, 3, seed=6).embeddings.tobytes() != dataset.embeddings.tobytes()


def test_make_synthetic_blobs_are_separated() -> None:
    # Centres spread 4x wider than the noise: each point's own class mean is nearest.
    dataset = make_synthetic(300, 8, 4, seed=0)
    means = np.stack([dataset.embeddings[dataset.labels == c].mean(axis=0) for c in range(4)])
    distances = np.linalg.norm(dataset.embeddings[:, None, :] - means[None], axis=2)
    assert (distances.argmin(axis=1) == dataset.labels).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1, 3, 2), "n=1 should be >= 2"),
        ((5, 0, 2), "d=0 should be >= 1"),
        ((5, 3, 0), "n_classes=0"),
    ],
)
def test_make_synthetic_rejects_bad_sizes(args: tuple[int, int, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_synthetic(*args)


def test_the_animal_mnist_reader_unpickles_arrays_only() -> None:
    import io
    import pickle

    from core.embed.sample_build import _ArrayUnpickler

    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert np.array_equal(_ArrayUnpickler(io.BytesIO(pickle.dumps(array))).load(), array)
    with pytest.raises(ValueError, match=r"builtins\.eval"):
        _ArrayUnpickler(io.BytesIO(pickle.dumps(eval))).load()
