"""The ``score-dynamics`` command: EL2N, forgetting or -AUM scores from training records."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli._common import (
    add_out_option,
    add_pin_options,
    add_seed_option,
    add_selection_options,
    check_selection_flags,
    checked_out_path,
    pins_from_args,
    selection_from_args,
)
from core.export import write_prune_outputs
from core.io.records import load_training_records, records_dataset
from core.scores.dynamics import score_runs
from core.scores.registry import RECORD_METRICS
from core.validate import check_seed

#: What the manifest records about the source of scores computed from training records.
_RECORDS_EXTRA = {"scored_from": "training records"}

if TYPE_CHECKING:
    from core.io.data import Dataset
    from core.io.records import TrainingRecords


EPILOG = """examples:
  python -m core score-dynamics sample_data/demo_training_records.npz --metric aum --out scores.csv
  python -m core score-dynamics records.npz --metric el2n --epochs 3 --meta meta.csv \\
      --keep 0.7 --strategy keep_hard --balance-by label --out kept.csv
  python -m core score-dynamics run1.npz run2.npz run3.npz --metric forgetting --out scores.csv

RECORDS is an .npz with logits (epochs, n, c) and/or probs (epochs, n, c) and/or correct
(epochs, n), labels (n,) int in [0, c), optional ids (n,) (see core/scores/dynamics.py). Several
RECORDS files are independent training runs of the same examples: each run is scored, then the
scores are averaged per example. Metrics: el2n = |softmax - onehot(label)|_2, by default at the
early checkpoint floor(0.1 x epochs) (Paul et al. 2021: "early in training", epoch 20 of 200),
averaged over the chosen records; forgetting = number of correct -> wrong transitions
(never-learned examples score n_epochs + 1); aum = -AUM, minus the mean margin (assigned logit -
largest other logit). Every score is higher = harder.

--epochs picks records along axis 0 (0-based): 19 = record 19 only; 0-19 = records 0 to 19
inclusive; 0,3,5 = those records; ranges and numbers mix (0-4,9).

Writes OUT (columns index,id,score,cluster,label; with --keep only the kept rows) and
<OUT stem>.manifest.json beside it (d is null: training records have no embeddings)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``score-dynamics`` command to the CLI's sub-parsers."""
    parser = subparsers.add_parser(
        "score-dynamics",
        help="EL2N / forgetting / -AUM scores (higher = harder) from per-example training records",
        description="Score examples from training records (higher = harder); optionally prune.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "records",
        metavar="RECORDS",
        nargs="+",
        help="training records .npz; several files = independent runs, scores averaged",
    )
    parser.add_argument("--metric", choices=RECORD_METRICS, required=True)
    parser.add_argument(
        "--epochs",
        default=None,
        metavar="E | A-B | I,J,...",
        help="records to use along axis 0, 0-based: E = that record only, A-B = A to B "
        "inclusive, I,J,... = those (default: all; el2n: the early checkpoint floor(0.1 x "
        "epochs))",
    )
    parser.add_argument(
        "--meta",
        metavar="META",
        default=None,
        help="metadata .csv/.parquet, one row per example: ids (checked against the records' ids), "
        "and labels when the records have none",
    )
    parser.add_argument("--id-column", default="id", help="metadata id column (default: id)")
    parser.add_argument(
        "--label-column", default="label", help="metadata label column (default: label)"
    )
    parser.add_argument(
        "--keep",
        type=float,
        default=None,
        metavar="FRACTION",
        help="also prune: keep this fraction in (0, 1] and write only the kept rows "
        "(kept count = floor(FRACTION * n + 0.5))",
    )
    add_selection_options(parser, balance_by=("label",), needs="with --keep: ")
    add_pin_options(
        parser,
        help_template="with --keep: comma-separated ids that are always {what} (repeatable); "
        "the kept count stays exact",
    )
    add_seed_option(parser)
    add_out_option(parser, help="output CSV path (all scores, or the kept rows with --keep)")
    parser.set_defaults(func=run_score_dynamics)


def run_score_dynamics(args: argparse.Namespace) -> int:
    """Validate inputs, score, optionally select, then write ``OUT`` and its manifest."""
    pruning = args.keep is not None
    _check_pruning_flags(args, pruning)
    epochs = _parse_epochs(args.epochs)
    out = checked_out_path(args.out, inputs=(*args.records, args.meta), example="scores.csv")
    runs = [load_training_records(path) for path in args.records]
    records = runs[0]
    dataset = _dataset(args, records, runs)
    if args.balance_by == "label" and dataset.labels is None:
        raise ValueError(
            "--balance-by label needs labels: the records have none; pass --meta with a "
            f"{args.label_column!r} column"
        )
    scores = score_runs(runs, args.metric, epochs=epochs)
    if not pruning:
        csv_path, manifest_path = write_prune_outputs(
            out, dataset, scores, None, extra=_RECORDS_EXTRA
        )
        print(
            f"wrote {csv_path} ({dataset.n} {args.metric} scores, higher = harder) "
            f"and {manifest_path}"
        )
        return 0

    pins = pins_from_args(dataset, args)
    selection = selection_from_args(args, dataset, scores, pins=pins)
    csv_path, manifest_path = write_prune_outputs(
        out, dataset, scores, selection, extra=_RECORDS_EXTRA
    )
    print(
        f"wrote {csv_path} ({selection.n_kept} of {dataset.n} kept, {args.strategy}, "
        f"{args.metric}) and {manifest_path}"
    )
    return 0


def _check_pruning_flags(args: argparse.Namespace, pruning: bool) -> None:
    """Selection flags need --keep; their values are checked before any file is read."""
    if not pruning:
        given = [
            flag
            for flag, value in (
                ("--balance-by", args.balance_by),
                ("--min-ratio", args.min_ratio),
                ("--always-keep", args.always_keep or None),
                ("--always-drop", args.always_drop or None),
                ("--strategy", None if args.strategy == "keep_hard" else args.strategy),
                ("--ccs-beta", args.ccs_beta),
            )
            if value is not None
        ]
        if given:
            raise ValueError(f"{', '.join(given)} need --keep FRACTION")
        return
    check_selection_flags(args, balance_by=("label",))
    check_seed(args.seed, name="--seed")


def _parse_epochs(text: str | None) -> tuple[int, ...] | None:
    """``19`` -> (19,); ``0-19`` -> (0, ..., 19); ``0,3,5`` -> (0, 3, 5); mixes allowed."""
    if text is None:
        return None
    chosen: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        bounds = part.split("-")
        if not part or len(bounds) > 2 or not all(b.strip().isdigit() for b in bounds):
            raise ValueError(
                f"--epochs {text!r} should be comma-separated record indices or ranges A-B "
                "(e.g. 19, 0-19 or 0,3,5)"
            )
        low, high = int(bounds[0]), int(bounds[-1])
        if high < low:
            raise ValueError(f"--epochs range {part!r} should go up (A <= B)")
        chosen.extend(range(low, high + 1))
    return tuple(chosen)


def _dataset(
    args: argparse.Namespace, records: TrainingRecords, runs: list[TrainingRecords]
) -> Dataset:
    """Ids and labels for export: the records', checked against / completed by --meta."""
    run_sources = tuple(source for run in runs for source in run.sources)
    if args.meta is None:
        if args.id_column != "id" or args.label_column != "label":
            raise ValueError("--id-column and --label-column need --meta")
        return records_dataset(records, sources=run_sources)
    from core.io.data import file_info, load_metadata

    meta = load_metadata(args.meta, n_rows=records.n)
    columns = [str(column) for column in meta.columns]
    where = f"metadata {Path(args.meta).name}"
    ids = labels = None
    if args.id_column in meta.columns:
        ids = meta[args.id_column].to_numpy()
    elif args.id_column != "id":
        raise ValueError(f"{where} has no column {args.id_column!r}; columns: {columns}")
    if args.label_column in meta.columns:
        labels = meta[args.label_column].to_numpy()
    elif args.label_column != "label":
        raise ValueError(f"{where} has no column {args.label_column!r}; columns: {columns}")
    try:
        return records_dataset(
            records,
            ids=ids,
            labels=labels,
            sources=(*run_sources, file_info(args.meta)),
        )
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
