"""The ``score`` and ``prune`` commands: score examples by difficulty and write kept-index CSVs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core._progress import ProgressFn
from core.cli._common import (
    add_backend_option,
    add_dask_options,
    add_input_options,
    add_out_option,
    add_pin_options,
    add_seed_option,
    add_selection_options,
    balance_from_args,
    check_dask_flags,
    check_selection_flags,
    checked_out_path,
    dask_session,
    load_dataset_from_args,
    pins_from_args,
    scores_from_args,
    selection_from_args,
)
from core.cli._progress_bar import lazy_progress_bar
from core.cli._prune_extras import (
    add_prune_extras,
    check_extras,
    dedup_then_select,
    load_for_imported,
)
from core.export import write_prune_outputs
from core.io.data import Dataset
from core.prune.balance import BALANCE_BY
from core.scores import metrics
from core.scores.metrics import DISTANCES, Scores
from core.scores.registry import METRICS, get_metric, metric_names
from core.validate import check_k

if TYPE_CHECKING:
    from core.prune.select import Selection
    from core.scores.distributed import ScoredBlocks

SCORE_EPILOG = """examples:
  python -m core score emb.npy --k 10 --seed 0 --out scores.csv
  python -m core score emb.parquet --meta meta.csv --metric prototype_margin --out scores.csv

Writes OUT (columns index,id,score,cluster,label; higher score = harder) and
<OUT stem>.manifest.json beside it (inputs with sha256, parameters, package versions)."""

PRUNE_EPILOG = """examples:
  python -m core prune emb.npy --keep 0.7 --strategy keep_hard --out kept.csv
  python -m core prune emb.npy --meta meta.csv --keep 0.5 --balance-by label --min-ratio 0.5 \\
      --always-keep img_001,img_002 --seed 0 --out kept.csv

Writes the kept rows of OUT (columns index,id,score,cluster,label, sorted by index; higher score
= harder) and <OUT stem>.manifest.json beside it. Same inputs, options and seed give the same
bytes."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``score`` and ``prune`` commands to the CLI's sub-parsers."""
    score = subparsers.add_parser(
        "score",
        help="score every example (higher = harder) and write a CSV + manifest",
        description="Score every example by difficulty (higher = harder).",
        epilog=SCORE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_scoring_options(score)
    score.set_defaults(func=run_score)

    prune = subparsers.add_parser(
        "prune",
        help="score, keep a fraction of the examples and write the kept CSV + manifest",
        description="Score examples (higher = harder) and keep a fraction of them.",
        epilog=PRUNE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_scoring_options(prune, embeddings_optional=True)
    add_prune_extras(prune)
    prune.add_argument(
        "--keep",
        type=float,
        required=True,
        metavar="FRACTION",
        help="fraction of examples to keep, in (0, 1]; kept count = floor(FRACTION * n + 0.5)",
    )
    add_selection_options(prune, balance_by=BALANCE_BY)
    add_pin_options(
        prune,
        help_template="comma-separated ids that are always {what} (repeatable); the kept count "
        "stays exact",
    )
    prune.set_defaults(func=run_prune)


def _add_scoring_options(
    parser: argparse.ArgumentParser, *, embeddings_optional: bool = False
) -> None:
    add_input_options(
        parser,
        meta_help="metadata .csv/.parquet, one row per embedding (columns id, label, path/image/text)",
        embeddings_optional=embeddings_optional,
    )
    parser.add_argument("--metric", choices=METRICS, default="ssp", help="default: ssp")
    parser.add_argument(
        "--k",
        type=int,
        default=None,
        help="number of prototypes (k-means clusters); default: number of classes, "
        "else round(sqrt(n/2)) clipped to [2, 1000]",
    )
    parser.add_argument("--distance", choices=DISTANCES, default="cosine", help="default: cosine")
    add_backend_option(parser)
    add_seed_option(parser)
    add_dask_options(parser, what="score")
    add_out_option(parser)


def run_score(args: argparse.Namespace) -> int:
    """Validate inputs, score, then write ``OUT`` and its manifest; return the exit code."""
    out = checked_out_path(args.out, inputs=(args.embeddings, args.meta))
    dataset = _load(args)
    _check_scoring(args, dataset)
    with dask_session(args):
        scores = _score(args, dataset)
    csv_path, manifest_path = write_prune_outputs(out, dataset, scores, None)
    print(f"wrote {csv_path} ({dataset.n} scores, higher = harder) and {manifest_path}")
    return 0


def run_prune(args: argparse.Namespace) -> int:
    """Validate inputs, score, select, then write ``OUT`` and its manifest; return the exit code."""
    check_selection_flags(args, balance_by=BALANCE_BY)
    check_extras(args)
    score_file = None if args.scores is None else args.scores.rsplit(":", 1)[0]
    out = checked_out_path(args.out, inputs=(args.embeddings, args.meta, score_file))
    imported: Scores | None = None
    if args.scores is not None:
        dataset, imported = load_for_imported(args)
    else:
        dataset = _load(args)
        _check_scoring(args, dataset)
    if args.balance_by == "label" and dataset.labels is None:
        raise ValueError(
            f"--balance-by label needs labels: pass --meta with a {args.label_column!r} column"
        )
    if args.balance_by == "cluster" and (args.metric == "random" or imported is not None):
        raise ValueError("--balance-by cluster needs a prototype metric; these scores have none")
    pins = pins_from_args(dataset, args)

    if _selects_on_dask(args, imported):
        scored, selection, kept_rows = _select_on_dask(args, dataset, pins)
        return _write(out, dataset, scored, selection, args.strategy, kept_rows=kept_rows)
    with dask_session(args):
        scores = _score(args, dataset) if imported is None else imported
        if args.dedup_epsilon is not None:
            selection, record = dedup_then_select(args, dataset, scores, pins)
    if args.dedup_epsilon is not None:
        extra = {"dedup_then_prune": record}
        csv_path, manifest_path = write_prune_outputs(out, dataset, scores, selection, extra=extra)
        print(
            f"wrote {csv_path} ({selection.n_kept} kept: {args.keep} of the "
            f"{record['n_deduplicated']} left after removing {record['n_removed_as_duplicates']} "
            f"near-duplicates from {dataset.n}; {args.strategy}) and {manifest_path}"
        )
        return 0
    selection = selection_from_args(args, dataset, scores, pins=pins)
    return _write(out, dataset, scores, selection, args.strategy)


def _write(
    out: Path,
    dataset: Dataset,
    scores: Scores | ScoredBlocks,
    selection: Selection,
    strategy: str,
    *,
    kept_rows: tuple[np.ndarray, np.ndarray] | None = None,
) -> int:
    csv_path, manifest_path = write_prune_outputs(
        out, dataset, scores, selection, kept_rows=kept_rows
    )
    print(
        f"wrote {csv_path} ({selection.n_kept} of {dataset.n} kept, {strategy}) and {manifest_path}"
    )
    return 0


def _selects_on_dask(args: argparse.Namespace, imported: Scores | None) -> bool:
    """Scores stay in Dask chunks and the selection runs on them (core.prune.select_dask);
    otherwise (ccs, middle_band, dedup first) the scores are gathered and selected in memory."""
    from core.prune.select_dask import DASK_STRATEGIES

    return (
        bool(args.dask)
        and imported is None
        and args.dedup_epsilon is None
        and args.strategy in DASK_STRATEGIES
    )


def _select_on_dask(
    args: argparse.Namespace, dataset: Dataset, pins: tuple[np.ndarray, np.ndarray]
) -> tuple[ScoredBlocks, Selection, tuple[np.ndarray, np.ndarray]]:
    """Score into Dask chunks and select on them: the chunked scores, the selection and the
    kept rows' (scores, clusters)."""
    from core.prune.select_dask import select_kept_dask
    from core.scores.distributed import score_blocks_dask

    balance_by, min_ratio = balance_from_args(args)
    with dask_session(args):
        with lazy_progress_bar(f"scoring ({args.metric})") as progress:
            options = _dask_scoring_options(args, dataset, progress)
            scored = score_blocks_dask(args.embeddings, metric=args.metric, **options)
        with lazy_progress_bar(f"selecting ({args.strategy})") as progress:
            kept = select_kept_dask(
                scored,
                args.keep,
                strategy=args.strategy,
                balance_by=balance_by,
                labels=dataset.labels,
                min_ratio=min_ratio,
                seed=args.seed,
                always_keep=pins[0],
                always_drop=pins[1],
                progress=progress,
            )
    return scored, kept.selection, (kept.values, kept.clusters)


def _load(args: argparse.Namespace) -> Dataset:
    check_dask_flags(args)
    if args.dask:
        return _load_dask(args)
    return load_dataset_from_args(args)


def _check_scoring(args: argparse.Namespace, dataset: Dataset) -> None:
    if get_metric(args.metric).needs_labels and dataset.labels is None:
        raise ValueError(
            f"--metric {args.metric} needs labels: pass --meta with a {args.label_column!r} column"
        )
    if args.k is not None:
        check_k(args.k, dataset.n, name="--k")
    if not args.dask:  # Dask scores chunk by chunk from a memory map
        from core.io.guards import check_memory, planned_scoring_bytes

        k = metrics.resolve_k(args.k, dataset.n, dataset.n_classes or None)
        check_memory(
            planned_scoring_bytes(dataset.n, dataset.d, k=k),
            f"scoring {dataset.n:,} x {dataset.d:,} embeddings with k={k}",
        )


def _score(args: argparse.Namespace, dataset: Dataset) -> Scores:
    # The bar opens on the first progress report, so input errors found by compute_scores
    # before any work still print just one line on stderr.
    with lazy_progress_bar(f"scoring ({args.metric})") as progress:
        if args.dask:
            return _score_dask(args, dataset, progress)
        return scores_from_args(args, dataset, args.metric, progress)


def _load_dask(args: argparse.Namespace) -> Dataset:
    """Check the --dask flags; ids, labels and a memory map of the .npy (nothing loaded)."""
    from core.scores.distributed import load_npy_dataset

    if getattr(args, "strategy", None) == "moderate":
        raise ValueError("--strategy moderate reads every embedding: drop --dask")
    dask_metrics = metric_names(runs_on_dask=True)
    if args.metric not in dask_metrics:
        raise ValueError(f"--dask supports --metric {' or '.join(dask_metrics)}, not {args.metric}")
    return load_npy_dataset(
        args.embeddings, args.meta, id_column=args.id_column, label_column=args.label_column
    )


def _score_dask(args: argparse.Namespace, dataset: Dataset, progress: ProgressFn) -> Scores:
    score = get_metric(args.metric).dask_score
    if score is None:  # _load_dask checked runs_on_dask
        raise ValueError(f"--dask does not support --metric {args.metric}")
    return score(args.embeddings, **_dask_scoring_options(args, dataset, progress))


def _dask_scoring_options(
    args: argparse.Namespace, dataset: Dataset, progress: ProgressFn
) -> dict[str, Any]:
    """Keyword arguments of the Dask scorers for these flags (the embeddings go by path: the
    client reads the k-means sample from the file itself)."""
    k = metrics.resolve_k(
        args.k, dataset.n, dataset.n_classes if dataset.labels is not None else None
    )
    return {
        "chunk_rows": args.dask_chunk_rows,  # None: equal chunks of at most 65536 rows
        "k": k,
        "distance": args.distance,
        "backend": args.backend,
        "seed": args.seed,
        "progress": progress,
    }
