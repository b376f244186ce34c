"""Tests for core.embed.ssl: deterministic SimCLR training, save/load, embeddings, k-NN accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.analysis.knn import knn_accuracy
from core.embed.ssl import (
    CONFIG_KEY,
    embed_images,
    load_encoder,
    save_encoder,
    train_ssl_encoder,
)


def _images(n: int = 64, size: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = np.zeros((n, size, size), dtype=np.uint8)
    for i in range(n):  # squares and bars at random places: structure to learn
        r, c = rng.integers(0, size - 4, size=2)
        if i % 2:
            images[i, r : r + 4, c : c + 4] = 255
        else:
            images[i, r : r + 4, :] = 200
    return images


def _weights(encoder) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in encoder.model.state_dict().items()}


@pytest.fixture(scope="module")
def tiny_encoder():
    torch.set_num_threads(1)
    return train_ssl_encoder(
        _images(), epochs=1, seed=0, batch_size=32, embed_dim=16, width=4, proj_dim=8
    )


def test_training_is_deterministic_for_a_seed(tiny_encoder) -> None:
    again = train_ssl_encoder(
        _images(), epochs=1, seed=0, batch_size=32, embed_dim=16, width=4, proj_dim=8
    )
    first, second = _weights(tiny_encoder), _weights(again)
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    assert tiny_encoder.loss_history == again.loss_history


def test_training_changes_the_weights_and_reports_progress(tiny_encoder) -> None:
    from core.embed.ssl import _build_model

    torch.manual_seed(0)
    initial = _build_model(tiny_encoder.config).state_dict()
    trained = tiny_encoder.model.state_dict()
    changed = [
        k for k in initial if k.endswith("weight") and not torch.equal(initial[k], trained[k])
    ]
    assert changed
    fractions: list[float] = []
    train_ssl_encoder(
        _images(16),
        epochs=2,
        seed=1,
        batch_size=8,
        embed_dim=8,
        width=2,
        proj_dim=4,
        progress=lambda f, m: fractions.append(f),
    )
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert len(tiny_encoder.loss_history) == 1
    assert np.isfinite(tiny_encoder.loss_history[0])


def test_other_seed_gives_other_weights(tiny_encoder) -> None:
    other = train_ssl_encoder(
        _images(), epochs=1, seed=1, batch_size=32, embed_dim=16, width=4, proj_dim=8
    )
    key = "backbone.0.weight"
    assert not np.array_equal(_weights(other)[key], _weights(tiny_encoder)[key])


def test_embeddings_shape_dtype_and_reload(tiny_encoder, tmp_path) -> None:
    images = _images(10, seed=3)
    embeddings = embed_images(tiny_encoder, images, batch_size=4)
    assert embeddings.shape == (10, 16)
    assert embeddings.dtype == np.float32
    assert np.isfinite(embeddings).all()
    path = tmp_path / "enc.pt"
    save_encoder(tiny_encoder, path)
    state = torch.load(path, weights_only=True)  # plain tensors only
    assert CONFIG_KEY in state
    loaded = load_encoder(path)
    assert loaded.config == tiny_encoder.config
    assert loaded.loss_history == tiny_encoder.loss_history
    np.testing.assert_array_equal(embed_images(loaded, images), embeddings)
    # the same weights save to the same bytes
    save_encoder(loaded, tmp_path / "again.pt")
    assert (tmp_path / "again.pt").read_bytes() == path.read_bytes()


def test_embed_converts_rgb_and_sizes(tiny_encoder) -> None:
    rgb = np.repeat(_images(4)[..., None], 3, axis=3)
    big = np.zeros((3, 40, 30), dtype=np.uint8)
    assert embed_images(tiny_encoder, rgb).shape == (4, 16)
    assert embed_images(tiny_encoder, big).shape == (3, 16)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="uint8"):
        train_ssl_encoder(np.zeros((4, 8, 8), dtype=np.float32), epochs=1)
    with pytest.raises(ValueError, match=r"shape \(n, h, w\)"):
        train_ssl_encoder(np.zeros((4, 8), dtype=np.uint8), epochs=1)
    with pytest.raises(ValueError, match="at least 2 images"):
        train_ssl_encoder(np.zeros((1, 8, 8), dtype=np.uint8), epochs=1)
    with pytest.raises(ValueError, match="epochs=0 should be >= 1"):
        train_ssl_encoder(_images(4), epochs=0)
    with pytest.raises(ValueError, match="temperature=0"):
        train_ssl_encoder(_images(4), epochs=1, temperature=0)


def test_load_encoder_rejects_foreign_files(tmp_path) -> None:
    path = tmp_path / "plain.pt"
    torch.save({"w": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="not a prunescope SSL encoder"):
        load_encoder(path)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable torch state dict"):
        load_encoder(junk)


def test_knn_accuracy_on_separable_and_random_data() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 30)
    centres = np.eye(3) * 10
    blobs = centres[labels] + rng.normal(size=(90, 3))
    assert knn_accuracy(blobs, labels, k=5, seed=0) == 1.0
    noise = rng.normal(size=(90, 3))
    assert knn_accuracy(noise, labels, k=5, seed=0) < 0.8
    # same seed, same answer; string labels work
    assert knn_accuracy(noise, labels.astype(str), k=5, seed=0) == knn_accuracy(
        noise, labels, k=5, seed=0
    )


def test_knn_accuracy_bad_inputs() -> None:
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="k=0 should be >= 1"):
        knn_accuracy(x, np.zeros(10), k=0)
    with pytest.raises(ValueError, match=r"labels should have shape \(10,\)"):
        knn_accuracy(x, np.zeros(9))
    with pytest.raises(ValueError, match=r"test_size=1\.5"):
        knn_accuracy(x, np.zeros(10), test_size=1.5)


def test_knn_accuracy_on_a_sample_equals_knn_accuracy_of_that_sample() -> None:
    from core.analysis.knn import knn_accuracy

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 400)
    embeddings = rng.normal(size=(400, 5)) + 2.0 * np.eye(5)[labels]
    sample = np.sort(np.random.default_rng(7).choice(400, 120, replace=False))
    assert knn_accuracy(embeddings, labels, seed=7, max_examples=120) == knn_accuracy(
        embeddings[sample], labels[sample], seed=7
    )
    assert knn_accuracy(embeddings, labels, seed=7, max_examples=400) == knn_accuracy(
        embeddings, labels, seed=7
    )
    with pytest.raises(ValueError, match="max_examples=1 should be >= 2"):
        knn_accuracy(embeddings, labels, max_examples=1)
