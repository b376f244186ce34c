"""Pretrained image encoders the user points to: a TorchScript file, or a module class + state dict.

Nothing is downloaded: the model file is local. Two ways to load one:

* :func:`load_torchscript` -- a file written by ``torch.jit.save`` (``torch.jit.load``, CPU).
* :func:`load_module` -- ``"package.module:ClassName"`` (imported, then constructed with
  ``kwargs``) plus a ``.pt`` state dict read with ``torch.load(..., weights_only=True)``. Importing
  runs that package's code, so only name modules you trust (the CLI, never the web app, does this).

:func:`embed_with_model` feeds images as float32 ``(n, c, h, w)``:

* pixels are ``uint8 / 255`` in [0, 1], then ``(x - mean) / std`` per channel when ``mean`` and
  ``std`` are given (pass :data:`IMAGENET_MEAN` / :data:`IMAGENET_STD` for ImageNet models);
* channels follow the model's first 4-D weight (its first conv): grayscale is repeated to 3 channels
  for a 3-channel model and RGB is reduced to luma for a 1-channel one; unknown -> as given;
* ``image_size`` resizes to a square with bilinear ``torch.nn.functional.interpolate``
  (antialiased when shrinking); ``None`` keeps the images' size;
* the output becomes (n, d): a (n, c, h, w) feature map is averaged over h and w, any other shape
  is flattened after the batch axis, and a tuple or list output uses its first element.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core._progress import ProgressFn, report

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True, eq=False, slots=True)
class PretrainedEncoder:
    """A loaded image model in eval mode.

    Attributes
    ----------
    module : torch.nn.Module or torch.jit.ScriptModule
    in_channels : int or None
        Channels of the first 4-D weight (first conv), None when the model has none.
    source : str
        Base name of the file it was loaded from (and the class path for :func:`load_module`).
    """

    module: Any
    in_channels: int | None
    source: str


def load_torchscript(path: str | Path) -> PretrainedEncoder:
    """Load a TorchScript model file on CPU.

    Raises
    ------
    FileNotFoundError
    ValueError
        When the file is not a TorchScript archive.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    try:
        with warnings.catch_warnings():  # torch.jit is deprecated but reads TorchScript fine
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # torch raises RuntimeError and others for foreign files
        raise ValueError(f"{path.name}: not a TorchScript model ({_first_line(exc)})") from exc
    module.eval()
    return PretrainedEncoder(module=module, in_channels=_in_channels(module), source=path.name)


def load_module(
    class_path: str,
    weights_path: str | Path,
    *,
    kwargs: Mapping[str, Any] | None = None,
    strict: bool = True,
) -> PretrainedEncoder:
    """Construct ``package.module:ClassName(**kwargs)`` and load a state dict into it.

    Parameters
    ----------
    class_path : str
        ``"package.module:ClassName"``; the package must be importable.
    weights_path : path to a ``.pt`` file holding a state dict (tensors only).
    kwargs : mapping, optional
        Constructor keyword arguments.
    strict : bool
        Passed to ``load_state_dict``.

    Raises
    ------
    ValueError
        Malformed class path, import failure, not a state dict, or mismatched keys/shapes.
    """
    import torch

    module_name, sep, class_name = class_path.partition(":")
    if not sep or not module_name or not class_name.isidentifier():
        raise ValueError(f"class path {class_path!r} should look like 'package.module:ClassName'")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import {class_path!r}: {_first_line(exc)}") from exc
    weights_path = Path(weights_path)
    if not weights_path.is_file():
        raise FileNotFoundError(2, "No such file or directory", str(weights_path))
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle and zip errors of several types
        raise ValueError(
            f"{weights_path.name}: not a weights-only torch state dict ({_first_line(exc)})"
        ) from exc
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(f"{weights_path.name}: expected a state dict of tensors")
    module = cls(**dict(kwargs or {}))
    if not isinstance(module, torch.nn.Module):
        raise ValueError(f"{class_path} is not a torch.nn.Module")
    try:
        module.load_state_dict(state, strict=strict)
    except RuntimeError as exc:
        raise ValueError(
            f"{weights_path.name} does not fit {class_path}: {_first_line(exc)}"
        ) from exc
    module.eval()
    return PretrainedEncoder(
        module=module,
        in_channels=_in_channels(module),
        source=f"{weights_path.name} ({class_path})",
    )


def images_to_tensor(
    images: np.ndarray, *, channels: int | None = None, size: int | None = None
) -> torch.Tensor:
    """uint8 images (n, h, w) or (n, h, w, 3) -> float32 tensor (n, c, h', w') in [0, 1].

    ``channels`` 1 reduces RGB to luma (ITU-R 601), 3 repeats gray; ``None`` keeps them.
    ``size`` resizes to ``size x size`` (bilinear, antialiased when shrinking).
    """
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32) / 255.0
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    if x.shape[1] == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float32).view(1, 3, 1, 1)
        x = (x * weights).sum(dim=1, keepdim=True)
    elif x.shape[1] == 1 and channels == 3:
        x = x.repeat(1, 3, 1, 1)
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(
            x,
            size=(size, size),
            mode="bilinear",
            align_corners=False,
            antialias=max(x.shape[-2:]) > size,
        )
    return x.contiguous()


def embed_with_model(
    encoder: PretrainedEncoder,
    images: np.ndarray,
    *,
    image_size: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    batch_size: int = 256,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Embed uint8 images with a loaded model (rules in the module docstring).

    Parameters
    ----------
    encoder : PretrainedEncoder
    images : ndarray of shape (n, h, w) or (n, h, w, 3), uint8
    image_size : int, optional
        Square input side the model expects; None keeps the images' size.
    mean, std : sequence of float, optional
        Per-channel normalisation applied to [0, 1] pixels (both or neither).
    batch_size : int
    progress : callable (fraction, message), optional

    Returns
    -------
    ndarray of shape (n, d), float32

    Raises
    ------
    ValueError
        Bad images or parameters, a model that fails on the input, or a non-finite output.
    """
    import torch

    images = np.asarray(images)
    if images.dtype != np.uint8 or not (
        images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3)
    ):
        raise ValueError(
            f"images should be uint8 (n, h, w) or (n, h, w, 3), got dtype={images.dtype} "
            f"shape={images.shape}"
        )
    if images.shape[0] < 1:
        raise ValueError("no images to embed")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} should be >= 1")
    if image_size is not None and image_size < 1:
        raise ValueError(f"image_size={image_size} should be >= 1")
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std, or neither")
    n = images.shape[0]
    channels = encoder.in_channels
    norm = None
    if mean is not None and std is not None:
        c = channels or (1 if images.ndim == 3 else 3)
        m = torch.tensor(list(mean), dtype=torch.float32)
        s = torch.tensor(list(std), dtype=torch.float32)
        if m.numel() not in (1, c) or s.numel() not in (1, c) or bool((s <= 0).any()):
            raise ValueError(
                f"mean and std should have 1 or {c} values and std > 0, got mean={list(mean)} "
                f"std={list(std)}"
            )
        norm = (m.view(1, -1, 1, 1), s.view(1, -1, 1, 1))
    outputs: list[np.ndarray] = []
    module = encoder.module
    with torch.no_grad():
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            x = images_to_tensor(images[start:stop], channels=channels, size=image_size)
            if norm is not None:
                x = (x - norm[0]) / norm[1]
            try:
                y = module(x)
            except Exception as exc:  # the user's model may raise anything on a bad input
                raise ValueError(
                    f"model {encoder.source} failed on input of shape {tuple(x.shape)}: "
                    f"{_first_line(exc)}"
                ) from exc
            outputs.append(_flatten_output(y, encoder.source))
            report(progress, stop / n, f"embedded {stop}/{n} images")
    out = np.ascontiguousarray(np.concatenate(outputs), dtype=np.float32)
    bad = ~np.isfinite(out).all(axis=1)
    if bad.any():
        raise ValueError(
            f"model {encoder.source} produced non-finite embeddings for {int(bad.sum())} images"
        )
    return out


def _flatten_output(y: Any, source: str) -> np.ndarray:
    import torch

    if isinstance(y, (tuple, list)) and y:
        y = y[0]
    if not isinstance(y, torch.Tensor) or not y.is_floating_point() or y.ndim < 2:
        raise ValueError(f"model {source} should return a float tensor (n, d) or (n, c, h, w)")
    y = y.mean(dim=(2, 3)) if y.ndim == 4 else y.flatten(1)
    return y.detach().to(torch.float32).numpy()


def _in_channels(module: Any) -> int | None:
    for _, parameter in module.named_parameters():
        if parameter.ndim == 4:
            return int(parameter.shape[1])
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
