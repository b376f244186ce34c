"""The ``compare`` command: rank correlation and kept-set overlap of several difficulty scores."""

from __future__ import annotations

import argparse

from core.cli._common import (
    add_backend_option,
    add_input_options,
    add_out_option,
    add_seed_option,
    checked_out_path,
    load_dataset_from_args,
    scores_from_args,
)
from core.cli._progress_bar import lazy_progress_bar
from core.export import write_atomic
from core.validate import check_fraction

COMPARE_EPILOG = """examples:
  python -m core compare emb.npy --meta meta.csv --metrics ssp,knn_density \\
      --scores my.csv:loss --keep 0.7 --k 10 --seed 0 --out cmp.csv

Writes one row per pair of scores: metric_a,metric_b,spearman,kendall,jaccard (Jaccard of the
sets kept at --keep with --strategy). Every score is oriented higher = harder (use
--higher-is-easier for an imported score that is not). Kendall's tau uses a seeded sample of
50,000 rows on larger data (printed)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` command to the CLI's sub-parsers."""
    from core.prune.select import STRATEGIES

    parser = subparsers.add_parser(
        "compare",
        help="rank correlations and kept-set Jaccard between scores",
        description="Compare difficulty scores (higher = harder) pair by pair.",
        epilog=COMPARE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_options(parser, meta_help="metadata .csv/.parquet (columns id, label)")
    parser.add_argument(
        "--metrics", default="ssp,knn_density", help="comma-separated metrics to compute"
    )
    parser.add_argument(
        "--scores",
        action="append",
        default=[],
        metavar="FILE[:COLUMN]",
        help="an imported score file (repeatable), aligned by id, index or row",
    )
    parser.add_argument(
        "--higher-is-easier", action="store_true", help="the --scores files are higher = easier"
    )
    parser.add_argument("--keep", type=float, default=0.7, help="keep fraction (default 0.7)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="keep_hard")
    parser.add_argument("--k", type=int, default=None, help="clusters / neighbours of the metrics")
    parser.add_argument("--distance", choices=("cosine", "euclidean"), default="cosine")
    add_backend_option(parser)
    add_seed_option(parser)
    add_out_option(parser)
    parser.set_defaults(func=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    """Score, compare, write ``OUT``; return the exit code."""
    from core.analysis.compare import compare_scores, comparison_csv_bytes
    from core.io.imported_scores import import_scores, parse_score_spec, read_score_table
    from core.scores.registry import METRICS

    names = [m.strip() for m in args.metrics.split(",") if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise ValueError(f"--metrics: unknown {', '.join(unknown)}; choose from {METRICS}")
    check_fraction(args.keep, name="--keep", allow_zero=False)
    specs = [parse_score_spec(spec) for spec in args.scores]
    inputs = (args.embeddings, args.meta, *(str(path) for path, _ in specs))
    out = checked_out_path(args.out, inputs=inputs, with_manifest=False, example="cmp.csv")
    dataset = load_dataset_from_args(args)
    values = {}
    for name in names:
        with lazy_progress_bar(f"scoring ({name})") as progress:
            values[name] = scores_from_args(args, dataset, name, progress).values
    for path, column in specs:
        imported = import_scores(
            read_score_table(path, column),
            ids=dataset.ids,
            n=dataset.n,
            higher_is_easier=args.higher_is_easier,
        )
        values[imported.metric] = imported.values
    result = compare_scores(values, keep_fraction=args.keep, strategy=args.strategy, seed=args.seed)
    write_atomic(out, comparison_csv_bytes(result))
    print(result.pairs.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if result.kendall_sample is not None:
        print(f"kendall: on a seeded sample of {result.kendall_sample} of {dataset.n} rows")
    print(f"wrote {out} ({len(result.pairs)} pairs; jaccard of kept sets at --keep {args.keep})")
    return 0
