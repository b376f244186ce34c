"""Tests for core.embed.encoders: TorchScript and class + state-dict models, embedded offline."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
import torch

from core.embed.encoders import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    embed_with_model,
    images_to_tensor,
    load_module,
    load_torchscript,
)

# torch.jit.script/save are deprecated in favour of torch.export but still write TorchScript
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

MODEL_SOURCE = textwrap.dedent(
    """
    import torch
    from torch import nn


    class TinyNet(nn.Module):
        def __init__(self, in_channels: int = 3, dim: int = 5):
            super().__init__()
            self.conv = nn.Conv2d(in_channels, 4, 3, padding=1)
            self.fc = nn.Linear(4, dim)

        def forward(self, x):
            return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


    class MapNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 6, 3, padding=1)

        def forward(self, x):
            return self.conv(x)


    class FlatNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 2)

        def forward(self, x):
            return self.fc(x.flatten(1))
    """
)


@pytest.fixture
def model_package(tmp_path, monkeypatch):
    (tmp_path / "tiny_models.py").write_text(MODEL_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    return importlib.import_module("tiny_models")


def _gray(n: int = 7, size: int = 9) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(n, size, size), dtype=np.uint8)


def test_torchscript_round_trip(tmp_path, model_package) -> None:
    torch.manual_seed(0)
    net = model_package.TinyNet().eval()
    path = tmp_path / "net.ts"
    torch.jit.save(torch.jit.script(net), str(path))
    encoder = load_torchscript(path)
    assert encoder.in_channels == 3
    assert encoder.source == "net.ts"
    images = _gray()
    fractions: list[float] = []
    embeddings = embed_with_model(
        encoder, images, batch_size=3, image_size=16, progress=lambda f, m: fractions.append(f)
    )
    assert embeddings.shape == (7, 5)
    assert embeddings.dtype == np.float32
    assert fractions[-1] == 1.0
    expected = net(images_to_tensor(images, channels=3, size=16)).detach().numpy()
    np.testing.assert_allclose(embeddings, expected, rtol=1e-5, atol=1e-6)


def test_state_dict_round_trip_with_normalisation(tmp_path, model_package) -> None:
    torch.manual_seed(1)
    net = model_package.TinyNet(dim=3).eval()
    weights = tmp_path / "weights.pt"
    torch.save(net.state_dict(), weights)
    encoder = load_module("tiny_models:TinyNet", weights, kwargs={"dim": 3})
    rgb = np.random.default_rng(1).integers(0, 256, size=(4, 8, 8, 3), dtype=np.uint8)
    embeddings = embed_with_model(encoder, rgb, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    x = images_to_tensor(rgb)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    np.testing.assert_allclose(
        embeddings, net((x - mean) / std).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_feature_maps_are_pooled_and_rgb_goes_to_one_channel(tmp_path, model_package) -> None:
    weights = tmp_path / "map.pt"
    torch.save(model_package.MapNet().state_dict(), weights)
    encoder = load_module("tiny_models:MapNet", weights)
    assert encoder.in_channels == 1
    rgb = np.zeros((2, 6, 6, 3), dtype=np.uint8)
    assert embed_with_model(encoder, rgb).shape == (2, 6)


def test_loading_errors(tmp_path, model_package) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"nope")
    with pytest.raises(ValueError, match="not a TorchScript model"):
        load_torchscript(junk)
    with pytest.raises(FileNotFoundError):
        load_torchscript(tmp_path / "missing.ts")
    with pytest.raises(ValueError, match=r"should look like 'package\.module:ClassName'"):
        load_module("tiny_models.TinyNet", junk)
    with pytest.raises(ValueError, match="cannot import 'no_such_pkg:Net'"):
        load_module("no_such_pkg:Net", junk)
    with pytest.raises(ValueError, match="not a weights-only torch state dict"):
        load_module("tiny_models:TinyNet", junk)
    wrong = tmp_path / "wrong.pt"
    torch.save(model_package.MapNet().state_dict(), wrong)
    with pytest.raises(ValueError, match="does not fit tiny_models:TinyNet"):
        load_module("tiny_models:TinyNet", wrong)


def test_embedding_errors(tmp_path, model_package) -> None:
    path = tmp_path / "net.ts"
    torch.jit.save(torch.jit.script(model_package.TinyNet().eval()), str(path))
    encoder = load_torchscript(path)
    with pytest.raises(ValueError, match="uint8"):
        embed_with_model(encoder, np.zeros((2, 4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="both mean and std"):
        embed_with_model(encoder, _gray(), mean=IMAGENET_MEAN)
    with pytest.raises(ValueError, match="mean and std should have 1 or 3 values"):
        embed_with_model(encoder, _gray(), mean=(0.5, 0.5), std=(0.2, 0.2))
    weights = tmp_path / "flat.pt"
    torch.save(model_package.FlatNet().state_dict(), weights)
    flat = load_module("tiny_models:FlatNet", weights)
    assert flat.in_channels is None
    assert embed_with_model(flat, _gray(3, 4)).shape == (3, 2)
    with pytest.raises(ValueError, match=r"failed on input of shape \(3, 1, 5, 5\)"):
        embed_with_model(flat, _gray(3, 5))
