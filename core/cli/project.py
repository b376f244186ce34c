"""The ``project`` command: the Map's 2-D coordinates of every row, saved as an (n, 2) .npy."""

from __future__ import annotations

import argparse
import io

import numpy as np

from core.analysis.projection import (
    DEFAULT_K_PLACE,
    DEFAULT_MAX_FIT,
    METHODS,
    Projection,
    project_sampled,
)
from core.cli._common import (
    add_input_options,
    add_out_option,
    add_seed_option,
    checked_out_path,
    load_dataset_from_args,
)
from core.cli._progress_bar import lazy_progress_bar
from core.export import write_atomic_files

PROJECT_EPILOG = f"""examples:
  python -m core project emb.npy --method umap --seed 0 --out xy.npy
  python -m core project big.npy --max-fit 20000 --k-place 10 --out xy.npy

Writes an (n, 2) float32 .npy with one row of map coordinates per embedding, in file order: the
same coordinates, to the byte, as the app's Map for the same file, method and seed. UMAP is fitted
on a seeded sample of at most --max-fit rows (default {DEFAULT_MAX_FIT:,}) and every other row is
placed at the weighted mean of its --k-place (default {DEFAULT_K_PLACE}) nearest fitted rows."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``project`` command to the CLI's sub-parsers."""
    parser = subparsers.add_parser(
        "project",
        help="2-D map coordinates of every example (UMAP or PCA) as an (n, 2) .npy",
        description="2-D coordinates of every embedding, as the app's Map draws them.",
        epilog=PROJECT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_options(parser, meta_help="metadata .csv/.parquet (read only to check the rows)")
    parser.add_argument("--method", choices=METHODS, default="umap", help="default: umap")
    add_seed_option(parser)
    parser.add_argument(
        "--max-fit",
        type=int,
        default=DEFAULT_MAX_FIT,
        help=f"UMAP is fitted on at most this many rows (default {DEFAULT_MAX_FIT})",
    )
    parser.add_argument(
        "--k-place",
        type=int,
        default=DEFAULT_K_PLACE,
        help=f"fitted neighbours that place each other row (default {DEFAULT_K_PLACE})",
    )
    add_out_option(parser, help="output .npy path")
    parser.set_defaults(func=run_project)


def run_project(args: argparse.Namespace) -> int:
    """Validate, project, write ``OUT``; return the exit code."""
    out = checked_out_path(
        args.out, inputs=(args.embeddings, args.meta), with_manifest=False, example="xy.npy"
    )
    dataset = load_dataset_from_args(args)
    with lazy_progress_bar(f"project ({args.method})") as progress:
        projection = project_sampled(
            dataset.embeddings,
            method=args.method,
            seed=args.seed,
            max_fit=args.max_fit,
            k_place=args.k_place,
            progress=progress,
        )
    write_atomic_files([(out, coords_npy_bytes(projection))])
    fitted = projection.params.fitted_rows or dataset.n
    print(f"wrote {out} ({dataset.n:,} x 2, {args.method}, {fitted:,} rows fitted)")
    return 0


def coords_npy_bytes(projection: Projection) -> bytes:
    """The ``.npy`` bytes of a projection's (n, 2) float32 coordinates."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(projection.coords, dtype=np.float32))
    return buffer.getvalue()
