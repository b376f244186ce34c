"""CLI commands ``embed`` (a folder or zip of images) and ``embed-text`` (a CSV of texts).

Both write the embeddings as float32 ``.npy`` and, beside them, ``<stem>.ids.csv`` with columns
``id`` (and ``label`` when labels are known; ``text`` for texts), usable as ``--meta`` for
``score``/``prune``. Writes are atomic.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from core.cli._common import add_out_option, add_seed_option

EMBED_METHODS_HELP = "ssl (train prunescope's SimCLR encoder), pixels, or model:PATH"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``embed`` and ``embed-text`` commands."""
    embed = subparsers.add_parser(
        "embed",
        help="embed a folder or .zip of images",
        description="Embed a folder or .zip of images (png/jpg/jpeg/bmp/gif). "
        "--method ssl trains prunescope's small SimCLR encoder on the images themselves; "
        "pixels uses the flattened pixels / 255; model:PATH runs a TorchScript file (or, with "
        "--model-class, a state dict).",
    )
    embed.add_argument("images", help="folder or .zip of images")
    embed.add_argument("--method", default="ssl", help=EMBED_METHODS_HELP)
    add_out_option(embed, help="output .npy")
    embed.add_argument(
        "--labels",
        default=None,
        help="CSV with columns file,label or id,label (default: a top-level labels.csv, else "
        "class folders laid out as class_name/image.png)",
    )
    embed.add_argument(
        "--size",
        type=int,
        default=None,
        help="resize every image to SIZE x SIZE (default: keep a common size, else 32)",
    )
    embed.add_argument("--epochs", type=int, default=10, help="SSL training epochs")
    add_seed_option(embed)
    embed.add_argument(
        "--hflip",
        action="store_true",
        help="use horizontal flips in SSL training (only if mirrored images keep their meaning)",
    )
    embed.add_argument("--save-encoder", default=None, help="also save the SSL encoder (.pt)")
    embed.add_argument(
        "--model-class",
        default=None,
        help="package.module:ClassName; PATH is then a state dict for it",
    )
    embed.add_argument(
        "--model-size",
        type=int,
        default=None,
        help="square input size for model:PATH (default: the images' size)",
    )
    embed.add_argument(
        "--normalize",
        choices=("none", "imagenet"),
        default="none",
        help="per-channel normalisation for model:PATH",
    )
    embed.add_argument("--batch-size", type=int, default=256)
    embed.set_defaults(func=run_embed)

    text = subparsers.add_parser(
        "embed-text",
        help="embed a CSV of texts with all-MiniLM-L6-v2 (offline)",
        description="Embed the texts of one CSV column with the packaged all-MiniLM-L6-v2 model.",
    )
    text.add_argument("texts", help="CSV file")
    text.add_argument("--column", default="text", help="column holding the texts")
    text.add_argument(
        "--label-column",
        default=None,
        help="column with labels (default: 'label' when the CSV has one, as in the app)",
    )
    add_out_option(text, help="output .npy")
    text.add_argument("--batch-size", type=int, default=64)
    text.set_defaults(func=run_embed_text)


def ids_path_for(out: Path) -> Path:
    """``emb.npy`` -> ``emb.ids.csv``."""
    return out.with_name(f"{out.stem}.ids.csv")


def run_embed(args: argparse.Namespace) -> int:
    from core.cli._progress_bar import progress_bar
    from core.io.images import load_images, pixel_embeddings

    out = _checked_out(args.out)
    method = str(args.method)
    if method not in ("ssl", "pixels") and not method.startswith("model:"):
        raise ValueError(f"--method {method!r} should be ssl, pixels or model:PATH")
    if args.epochs < 1:
        raise ValueError(f"--epochs {args.epochs} should be >= 1")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size {args.batch_size} should be >= 1")
    if method.startswith("model:"):
        model_path = method.removeprefix("model:")
        if not model_path:
            raise ValueError("--method model:PATH needs a path after 'model:'")
        if not Path(model_path).is_file():
            raise FileNotFoundError(2, "No such file or directory", model_path)
    with progress_bar("read images") as bar:
        image_set = load_images(args.images, labels_path=args.labels, size=args.size, progress=bar)
    print(image_set.summary(), file=sys.stderr)
    if method == "pixels":
        embeddings = pixel_embeddings(image_set.images)
    elif method == "ssl":
        embeddings = _embed_ssl(args, image_set.images)
    else:
        embeddings = _embed_model(args, method.removeprefix("model:"), image_set.images)
    _write_outputs(out, embeddings, image_set.names, image_set.labels, texts=None)
    return 0


def _embed_ssl(args: argparse.Namespace, images: np.ndarray) -> np.ndarray:
    import torch

    from core.cli._progress_bar import progress_bar
    from core.embed.ssl import embed_images, save_encoder, train_ssl_encoder

    if images.shape[0] < 2:
        raise ValueError(f"--method ssl needs at least 2 images, got {images.shape[0]}")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    with progress_bar("train SSL encoder") as bar:
        encoder = train_ssl_encoder(
            images, epochs=args.epochs, seed=args.seed, hflip=args.hflip, progress=bar
        )
    if args.save_encoder:
        save_encoder(encoder, args.save_encoder)
    with progress_bar("embed") as bar:
        return embed_images(encoder, images, batch_size=max(args.batch_size, 1), progress=bar)


def _embed_model(args: argparse.Namespace, model_path: str, images: np.ndarray) -> np.ndarray:
    from core.cli._progress_bar import progress_bar
    from core.embed.encoders import (
        IMAGENET_MEAN,
        IMAGENET_STD,
        embed_with_model,
        load_module,
        load_torchscript,
    )

    if args.model_class:
        encoder = load_module(args.model_class, model_path)
    else:
        encoder = load_torchscript(model_path)
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if args.normalize == "imagenet" else (None, None)
    with progress_bar("embed") as bar:
        return embed_with_model(
            encoder,
            images,
            image_size=args.model_size,
            mean=mean,
            std=std,
            batch_size=args.batch_size,
            progress=bar,
        )


def run_embed_text(args: argparse.Namespace) -> int:
    from core.cli._progress_bar import progress_bar
    from core.embed.text import embed_texts
    from core.io.text import load_text_csv

    out = _checked_out(args.out)
    if args.batch_size < 1:
        raise ValueError(f"--batch-size {args.batch_size} should be >= 1")
    label_column = args.label_column
    if label_column is None and "label" in _csv_header(args.texts) and args.column != "label":
        label_column = "label"
    table = load_text_csv(args.texts, column=args.column, label_column=label_column)
    with progress_bar("embed texts") as bar:
        embeddings = embed_texts(list(table.texts), batch_size=args.batch_size, progress=bar)
    _write_outputs(out, embeddings, table.ids, table.labels, texts=table.texts)
    return 0


def _checked_out(value: str) -> Path:
    out = Path(value)
    if out.suffix.lower() != ".npy":
        raise ValueError(f"--out {value} should end in .npy")
    if not out.parent.is_dir():
        raise ValueError(f"--out {value}: folder {out.parent} does not exist")
    return out


def _write_outputs(
    out: Path,
    embeddings: np.ndarray,
    ids: np.ndarray,
    labels: np.ndarray | None,
    *,
    texts: np.ndarray | None,
) -> None:
    from core.embed.files import embeddings_npy_bytes, ids_csv_bytes
    from core.export import write_atomic_files

    embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
    npy = embeddings_npy_bytes(embeddings)
    ids_csv = ids_csv_bytes(ids, labels, texts=texts)
    ids_path = ids_path_for(out)
    write_atomic_files([(out, npy), (ids_path, ids_csv)])
    print(
        f"wrote {out} ({embeddings.shape[0]} x {embeddings.shape[1]} float32) and {ids_path}",
        file=sys.stderr,
    )


def _csv_header(path: str) -> list[str]:
    """Column names of a CSV, or [] when it cannot be read (load_text_csv then says why)."""
    import pandas as pd

    try:
        return [str(c) for c in pd.read_csv(path, nrows=0, dtype=str).columns]
    except Exception:  # any parser error: the real read reports it properly
        return []
