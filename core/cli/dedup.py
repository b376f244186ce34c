"""The ``dedup`` command: semantic deduplication (SemDeDup) and a kept-rows CSV + manifest."""

from __future__ import annotations

import argparse
import hashlib

import numpy as np

from core.cli._common import (
    add_backend_option,
    add_dask_options,
    add_input_options,
    add_out_option,
    add_seed_option,
    check_dask_flags,
    checked_out_path,
    dask_session,
    load_dataset_from_args,
)
from core.cli._progress_bar import lazy_progress_bar
from core.export import csv_line, neutralise_formula, write_atomic_files
from core.io.data import Dataset
from core.prune.semdedup import DEFAULT_BLOCK_SIZE, ORDERS, DedupResult, dedup_outputs, semdedup
from core.validate import check_k

#: Columns of the optional ``--removed`` CSV.
REMOVED_COLUMNS = ("index", "id", "duplicate_of", "duplicate_of_id", "cluster", "label")

DEDUP_EPILOG = """examples:
  python -m core dedup emb.npy --k 100 --epsilon 0.05 --seed 0 --out kept.csv
  python -m core dedup emb.npy --meta meta.csv --k 100 --epsilon 0.05 --order keep_hard \\
      --removed removed.csv --out kept.csv
  python -m core dedup big.npy --k 1000 --epsilon 0.05 --dask --dask-scheduler local:2 \\
      --out kept.csv

Within each k-means cluster, members are ordered farthest-from-centroid first (keep_hard) and
every member whose cosine similarity to an earlier member exceeds 1 - EPSILON is removed.
Writes the kept rows of OUT (columns index,id,score,cluster,label sorted by index; score = cosine
distance to the cluster centroid, the SSP score, higher = harder) and <OUT stem>.manifest.json
beside it. --removed writes the removed rows with the row/id they duplicate. Same inputs,
options and seed give the same bytes."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``dedup`` command to the CLI's sub-parsers."""
    parser = subparsers.add_parser(
        "dedup",
        help="remove semantic near-duplicates (SemDeDup) and write the kept CSV + manifest",
        description="Semantic deduplication within k-means clusters (SemDeDup, Abbas et al. 2023).",
        epilog=DEDUP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_options(
        parser, meta_help="metadata .csv/.parquet, one row per embedding (columns id, label)"
    )
    parser.add_argument("--k", type=int, required=True, help="number of k-means clusters")
    parser.add_argument(
        "--epsilon",
        type=float,
        required=True,
        help="duplicates have cosine similarity > 1 - EPSILON; in [0, 1)",
    )
    parser.add_argument(
        "--order",
        choices=ORDERS,
        default="keep_hard",
        help="which duplicate survives: farthest from the centroid (keep_hard, default), "
        "nearest (keep_easy) or random",
    )
    add_backend_option(parser)
    add_seed_option(parser)
    parser.add_argument(
        "--block-size",
        type=int,
        default=DEFAULT_BLOCK_SIZE,
        help=f"similarity block rows (memory ~ 8 * B^2 bytes; default {DEFAULT_BLOCK_SIZE})",
    )
    parser.add_argument(
        "--removed", metavar="REMOVED", default=None, help="also write the removed rows here"
    )
    add_dask_options(parser, what="deduplicate (k-means and per-cluster comparisons)")
    add_out_option(parser)
    parser.set_defaults(func=run_dedup)


def run_dedup(args: argparse.Namespace) -> int:
    """Validate inputs, deduplicate, then write ``OUT`` and its manifest; return the exit code."""
    if not 0.0 <= args.epsilon < 1.0:
        raise ValueError(f"--epsilon {args.epsilon} should be in [0, 1)")
    if args.block_size < 1:
        raise ValueError(f"--block-size {args.block_size} should be >= 1")
    inputs = (args.embeddings, args.meta)
    out = checked_out_path(args.out, inputs=inputs)
    removed_path = (
        None
        if args.removed is None
        else checked_out_path(args.removed, flag="--removed", inputs=inputs)
    )
    manifest_path = out.with_name(f"{out.stem}.manifest.json")
    if removed_path is not None and removed_path.resolve() in (
        out.resolve(),
        manifest_path.resolve(),
    ):
        raise ValueError(f"--removed {removed_path} would overwrite the --out files")
    dataset = _load(args)
    check_k(args.k, dataset.n, name="--k")
    if not args.dask:  # Dask compares per cluster, reading rows from the memory map
        from core.io.guards import check_memory, planned_scoring_bytes

        check_memory(
            planned_scoring_bytes(dataset.n, dataset.d, k=args.k, block_rows=args.block_size),
            f"deduplicating {dataset.n:,} x {dataset.d:,} embeddings with k={args.k}",
        )

    result = _dedup(args, dataset)
    removed_data = None if removed_path is None else _removed_csv_bytes(dataset, result)
    extra: dict[str, object] = {}
    if removed_path is not None and removed_data is not None:
        extra["removed_output"] = {
            "name": removed_path.name,
            "size": len(removed_data),
            "sha256": hashlib.sha256(removed_data).hexdigest(),
        }
    # The app's Deduplicate page calls the same function: same bytes for the same parameters.
    data, manifest_data = dedup_outputs(dataset, result, csv_name=out.name, extra=extra)

    files = [(out, data), (removed_path, removed_data), (manifest_path, manifest_data)]
    write_atomic_files(
        [(path, payload) for path, payload in files if path is not None and payload is not None]
    )
    also = "" if removed_path is None else f", {removed_path}"
    print(
        f"wrote {out} ({dataset.n - result.n_removed} of {dataset.n} kept, {result.n_removed} "
        f"near-duplicates removed){also} and {manifest_path}"
    )
    return 0


def _load(args: argparse.Namespace) -> Dataset:
    check_dask_flags(args)
    if not args.dask:
        return load_dataset_from_args(args)
    from core.scores.distributed import load_npy_dataset

    return load_npy_dataset(
        args.embeddings, args.meta, id_column=args.id_column, label_column=args.label_column
    )


def _dedup(args: argparse.Namespace, dataset: Dataset) -> DedupResult:
    options = {
        "k": args.k,
        "epsilon": args.epsilon,
        "order": args.order,
        "seed": args.seed,
        "backend": args.backend,
        "block_size": args.block_size,
    }
    with lazy_progress_bar("dedup (SemDeDup)") as progress:
        if args.dask:
            from core.prune.semdedup_dask import semdedup_dask

            with dask_session(args):
                return semdedup_dask(
                    args.embeddings, **options, chunk_rows=args.dask_chunk_rows, progress=progress
                )
        return semdedup(dataset.embeddings, **options, progress=progress)


def _removed_csv_bytes(dataset: Dataset, result: DedupResult) -> bytes:
    """Removed rows (by index): the row and id each one duplicates, its cluster and label."""
    labels = dataset.label_strings()
    lines = [csv_line(REMOVED_COLUMNS)]
    for index in np.flatnonzero(~result.keep_mask).tolist():
        other = int(result.duplicate_of[index])
        row = (
            index,
            neutralise_formula(str(dataset.ids[index])),
            other,
            neutralise_formula(str(dataset.ids[other])),
            int(result.clusters[index]),
            "" if labels is None else neutralise_formula(str(labels[index])),
        )
        lines.append(csv_line(row))
    return "".join(lines).encode("utf-8")
