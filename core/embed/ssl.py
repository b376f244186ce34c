"""Self-supervised image encoder: a small CNN trained with SimCLR-style contrastive learning on CPU.

The recipe (Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations",
ICML 2020) is scaled down to small grayscale or RGB images:

* two random views of every image per step, made in torch (no torchvision): a random resized crop
  (area 35-100 %, aspect 3/4-4/3) with a small rotation (+-12 degrees), a horizontal flip with
  probability 1/2 only when ``hflip=True`` (animal silhouettes face either way; digits and text do
  not, so flips are off by default), random contrast/brightness, and additive Gaussian noise;
* a convolutional backbone (five 3x3 conv + batch-norm + ReLU layers, two of stride 2, global
  average pooling) whose pooled features are the embedding, and a two-layer projection head used
  only by the loss;
* the NT-Xent (normalised temperature-scaled cross entropy) loss over the 2B views of a batch;
* Adam with a cosine learning-rate schedule.

Training is seeded (``torch.manual_seed`` and a private ``torch.Generator`` for every random draw)
and runs with ``torch.use_deterministic_algorithms(True)``, so on one machine with one thread count
the same images, parameters and seed give identical weights. Other CPUs or thread counts may differ
in the last bits of floating point sums.

Pixels enter the network as ``uint8 / 255 - 0.5`` after a bilinear resize to ``image_size``.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core._progress import ProgressFn, report

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

#: Key in a saved state dict holding the JSON config (a uint8 tensor, so ``weights_only`` loads it).
CONFIG_KEY = "__prunescope_ssl_config__"
#: Smallest side the network is fed; smaller images (e.g. 8x8 digits) are upsampled to it.
MIN_IMAGE_SIZE = 16


@dataclass(frozen=True, slots=True)
class SSLConfig:
    """Everything needed to rebuild an :class:`SSLEncoder` module and to describe its training."""

    in_channels: int  # 1 (grayscale) or 3 (RGB)
    image_size: int  # images are resized to image_size x image_size before the network
    width: int  # channels of the first conv layer; later layers use 2x and 4x
    embed_dim: int  # size of the embedding (pooled backbone features)
    proj_dim: int  # output size of the projection head (used only by the loss)
    hflip: bool  # whether horizontal flips were used as an augmentation
    temperature: float
    epochs: int
    batch_size: int
    lr: float
    seed: int


@dataclass(frozen=True, eq=False, slots=True)
class SSLEncoder:
    """A trained (or loaded) self-supervised encoder.

    Attributes
    ----------
    model : torch.nn.Module
        ``backbone`` (images -> (n, embed_dim) features) and ``head`` (projection head), eval mode.
    config : SSLConfig
    loss_history : tuple of float
        Mean NT-Xent loss of each training epoch.
    """

    model: Any
    config: SSLConfig
    loss_history: tuple[float, ...]

    @property
    def embed_dim(self) -> int:
        return self.config.embed_dim


# --------------------------------------------------------------------------------------------
# network


def _build_model(config: SSLConfig) -> torch.nn.Module:
    import torch
    from torch import nn

    def block(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
        return [
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        ]

    w = config.width
    backbone = nn.Sequential(
        *block(config.in_channels, w, 1),
        *block(w, 2 * w, 2),
        *block(2 * w, 2 * w, 1),
        *block(2 * w, 4 * w, 2),
        *block(4 * w, config.embed_dim, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )
    head = nn.Sequential(
        nn.Linear(config.embed_dim, config.embed_dim),
        nn.BatchNorm1d(config.embed_dim),
        nn.ReLU(inplace=True),
        nn.Linear(config.embed_dim, config.proj_dim),
    )
    model = nn.Module()
    model.backbone = backbone
    model.head = head
    return model.to(torch.float32)


# --------------------------------------------------------------------------------------------
# data preparation and augmentation


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"images should be uint8, got dtype={images.dtype}")
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if not (images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3)):
        raise ValueError(
            f"images should have shape (n, h, w) or (n, h, w, 3), got shape={images.shape}"
        )
    if images.shape[0] < 1 or images.shape[1] < 2 or images.shape[2] < 2:
        raise ValueError(f"images should be non-empty and at least 2x2, got shape={images.shape}")
    return images


def _to_tensor(images: np.ndarray, in_channels: int, image_size: int) -> torch.Tensor:
    """uint8 (n, h, w[, 3]) -> float32 (n, in_channels, image_size, image_size) in [0, 1]."""
    from core.embed.encoders import images_to_tensor

    return images_to_tensor(images, channels=in_channels, size=image_size)


def _augment(x: torch.Tensor, gen: torch.Generator, *, hflip: bool) -> torch.Tensor:
    """One random view of each image in the batch ``x`` (b, c, s, s) in [0, 1]."""
    import torch
    import torch.nn.functional as F

    b = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(b, generator=gen)

    # random resized crop + small rotation (+ flip) as one affine warp; sizes are fractions of
    # the image, the crop centre stays inside the image
    area = uniform(0.35, 1.0)
    ratio = torch.exp(uniform(math.log(3 / 4), math.log(4 / 3)))
    width = torch.sqrt(area * ratio).clamp(max=1.0)
    height = torch.sqrt(area / ratio).clamp(max=1.0)
    cx = (1.0 - width) * uniform(-1.0, 1.0)
    cy = (1.0 - height) * uniform(-1.0, 1.0)
    angle = uniform(-12.0, 12.0) * (math.pi / 180.0)
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0) if hflip else torch.ones(b)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [
            torch.stack([cos * width * flip, -sin * height, cx], dim=1),
            torch.stack([sin * width * flip, cos * height, cy], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    view = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    # contrast / brightness, then Gaussian noise with a random strength per image
    contrast = uniform(0.6, 1.4).view(b, 1, 1, 1)
    brightness = uniform(-0.15, 0.15).view(b, 1, 1, 1)
    view = view * contrast + brightness
    noise_std = uniform(0.0, 0.12).view(b, 1, 1, 1)
    view = view + noise_std * torch.randn(view.shape, generator=gen)
    return view.clamp(0.0, 1.0)


def _nt_xent(z: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent loss for ``z`` (2b, p): rows i and i + b are the two views of one image."""
    import torch
    import torch.nn.functional as F

    n = z.shape[0]
    half = n // 2
    z = F.normalize(z, dim=1)
    logits = (z @ z.T) / temperature
    logits = logits.masked_fill(torch.eye(n, dtype=torch.bool), float("-inf"))
    targets = torch.cat([torch.arange(half, n), torch.arange(0, half)])
    return F.cross_entropy(logits, targets)


# --------------------------------------------------------------------------------------------
# public API


def train_ssl_encoder(
    images: np.ndarray,
    *,
    epochs: int = 10,
    seed: int = 0,
    embed_dim: int = 128,
    width: int = 32,
    proj_dim: int = 64,
    batch_size: int = 256,
    temperature: float = 0.3,
    lr: float = 2e-3,
    hflip: bool = False,
    image_size: int | None = None,
    progress: ProgressFn | None = None,
) -> SSLEncoder:
    """Train a small CNN with SimCLR-style contrastive learning on CPU.

    Parameters
    ----------
    images : ndarray of shape (n, h, w) or (n, h, w, 3), uint8
        Training images; grayscale trains a 1-channel network, RGB a 3-channel one.
    epochs : int
        Passes over the data; each step uses two augmented views of ``batch_size`` images.
    seed : int
        Seeds weights initialisation, shuffling and augmentations.
    embed_dim : int
        Size of the embedding (backbone output).
    width : int
        Channels of the first conv layer (the network has ``width``, ``2 width``, ``4 width``).
    proj_dim : int
        Output size of the projection head.
    batch_size : int
        Images per step (clipped to n); the last incomplete batch of an epoch is dropped unless
        it is the only one.
    temperature : float
        NT-Xent temperature, > 0.
    lr : float
        Peak Adam learning rate (cosine decay to 0 over training).
    hflip : bool
        Use random horizontal flips (only where mirror images keep their meaning).
    image_size : int, optional
        Side the images are resized to; defaults to ``max(h, w)``, at least ``MIN_IMAGE_SIZE``.
    progress : callable (fraction, message), optional

    Returns
    -------
    SSLEncoder
        The model in eval mode, its config and the per-epoch mean loss.

    Raises
    ------
    ValueError
        For images that are not uint8 (n, h, w[, 3]) with n >= 2, or out-of-range parameters.
    """
    images = _check_images(images)
    n = images.shape[0]
    if n < 2:
        raise ValueError(f"SSL training needs at least 2 images, got n_images={n}")
    for name, value in (
        ("epochs", epochs),
        ("embed_dim", embed_dim),
        ("width", width),
        ("proj_dim", proj_dim),
        ("batch_size", batch_size),
    ):
        if int(value) < 1:
            raise ValueError(f"{name}={value} should be >= 1")
    if batch_size < 2:
        raise ValueError(f"batch_size={batch_size} should be >= 2")
    if not temperature > 0:
        raise ValueError(f"temperature={temperature} should be > 0")
    if not lr > 0:
        raise ValueError(f"lr={lr} should be > 0")
    if image_size is None:
        image_size = max(MIN_IMAGE_SIZE, int(max(images.shape[1], images.shape[2])))
    if image_size < 4:
        raise ValueError(f"image_size={image_size} should be >= 4")
    config = SSLConfig(
        in_channels=1 if images.ndim == 3 else 3,
        image_size=int(image_size),
        width=int(width),
        embed_dim=int(embed_dim),
        proj_dim=int(proj_dim),
        hflip=bool(hflip),
        temperature=float(temperature),
        epochs=int(epochs),
        batch_size=int(min(batch_size, n)),
        lr=float(lr),
        seed=int(seed),
    )
    return _train(images, config, progress)


def _train(images: np.ndarray, config: SSLConfig, progress: ProgressFn | None) -> SSLEncoder:
    import torch

    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(config.seed)
        gen = torch.Generator().manual_seed(config.seed)
        model = _build_model(config)
        net: Any = model  # backbone and head are attributes set at run time
        data = _to_tensor(images, config.in_channels, config.image_size)
        n = data.shape[0]
        steps_per_epoch = max(1, n // config.batch_size)
        total_steps = steps_per_epoch * config.epochs
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=1e-6)
        warmup = max(1, min(total_steps // 10, 5 * steps_per_epoch))

        def lr_at(step: int) -> float:
            if step < warmup:
                return config.lr * (step + 1) / warmup
            t = (step - warmup) / max(1, total_steps - warmup)
            return config.lr * 0.5 * (1.0 + math.cos(math.pi * t))

        losses: list[float] = []
        step = 0
        model.train()
        for epoch in range(config.epochs):
            order = torch.randperm(n, generator=gen)
            epoch_loss = 0.0
            for i in range(steps_per_epoch):
                batch = data[order[i * config.batch_size : (i + 1) * config.batch_size]]
                views = (
                    torch.cat(
                        [
                            _augment(batch, gen, hflip=config.hflip),
                            _augment(batch, gen, hflip=config.hflip),
                        ]
                    )
                    - 0.5
                )
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step)
                loss = _nt_xent(net.head(net.backbone(views)), config.temperature)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                epoch_loss += float(loss.detach())
                step += 1
                report(
                    progress,
                    step / total_steps,
                    f"epoch {epoch + 1}/{config.epochs} loss {float(loss.detach()):.3f}",
                )
            losses.append(epoch_loss / steps_per_epoch)
        model.eval()
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
    return SSLEncoder(model=model, config=config, loss_history=tuple(losses))


def embed_images(
    encoder: SSLEncoder,
    images: np.ndarray,
    *,
    batch_size: int = 512,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Embed images with the encoder's backbone (the projection head is not used).

    Parameters
    ----------
    encoder : SSLEncoder
    images : ndarray of shape (n, h, w) or (n, h, w, 3), uint8
        Converted to the encoder's channel count (luma or repeated gray) and resized to its
        ``image_size``.
    batch_size : int
    progress : callable (fraction, message), optional

    Returns
    -------
    ndarray of shape (n, embed_dim), float32
    """
    import torch

    images = _check_images(images)
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} should be >= 1")
    config = encoder.config
    model = encoder.model
    model.eval()
    n = images.shape[0]
    out = np.empty((n, config.embed_dim), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            x = _to_tensor(images[start:stop], config.in_channels, config.image_size) - 0.5
            out[start:stop] = model.backbone(x).numpy()
            report(progress, stop / n, f"embedded {stop}/{n} images")
    return out


def encoder_bytes(encoder: SSLEncoder) -> bytes:
    """The bytes :func:`save_encoder` writes (deterministic for identical weights)."""
    import torch

    state = {k: v.detach().clone() for k, v in encoder.model.state_dict().items()}
    meta = {"config": asdict(encoder.config), "loss_history": list(encoder.loss_history)}
    blob = json.dumps(meta, sort_keys=True).encode("utf-8")
    state[CONFIG_KEY] = torch.frombuffer(bytearray(blob), dtype=torch.uint8).clone()
    buffer = io.BytesIO()  # in memory: torch names the archive after the file it writes to
    torch.save(state, buffer)
    return buffer.getvalue()


def save_encoder(encoder: SSLEncoder, path: str | Path) -> None:
    """Save the encoder's state dict (with its config as a uint8 JSON tensor) atomically.

    The file is a plain ``torch.save`` state dict: tensors only, loadable with
    ``torch.load(path, weights_only=True)``.
    """
    from core.export import write_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, encoder_bytes(encoder))


def load_encoder(path: str | Path) -> SSLEncoder:
    """Load an encoder written by :func:`save_encoder` (``weights_only=True``, no pickled code).

    Raises
    ------
    ValueError
        When the file is not a prunescope SSL encoder.
    """
    import torch

    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # torch raises several types for corrupt or foreign files
        raise ValueError(f"{path.name}: not a readable torch state dict ({exc})") from exc
    if not isinstance(state, dict) or CONFIG_KEY not in state:
        raise ValueError(f"{path.name}: not a prunescope SSL encoder (no {CONFIG_KEY} entry)")
    meta = json.loads(bytes(state.pop(CONFIG_KEY).numpy().tobytes()).decode("utf-8"))
    config = SSLConfig(**meta["config"])
    model = _build_model(config)
    model.load_state_dict(state)
    model.eval()
    return SSLEncoder(
        model=model, config=config, loss_history=tuple(float(v) for v in meta["loss_history"])
    )
