"""The ``stability`` command: how much a k-means score moves across seeds (and k)."""

from __future__ import annotations

import argparse

from core.cli._common import (
    add_backend_option,
    add_input_options,
    add_out_option,
    checked_out_path,
    load_dataset_from_args,
    parse_numbers,
)
from core.cli._progress_bar import lazy_progress_bar
from core.export import write_atomic

STABILITY_EPILOG = """examples:
  python -m core stability emb.npy --metric ssp --k 8 --seeds 0,1,2,3,4 --keep 0.7 --out st.csv
  python -m core stability emb.npy --k 50,100,200 --seeds 0,1,2 --out st.csv

Writes index,id,score_mean,score_std,kept_share per example (score higher = harder; kept_share =
share of runs in which the example is kept at --keep with --strategy) and prints the mean
pairwise Spearman and kept-set Jaccard over the runs (one run per k and seed)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``stability`` command to the CLI's sub-parsers."""
    from core.analysis.stability import STABILITY_METRICS
    from core.prune.select import STRATEGIES

    parser = subparsers.add_parser(
        "stability",
        help="recompute a k-means score over seeds / k and report how stable it is",
        description="Seed (and k) stability of ssp / prototype_margin (higher = harder).",
        epilog=STABILITY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_options(parser, meta_help="metadata .csv/.parquet (column id)")
    parser.add_argument("--metric", choices=STABILITY_METRICS, default="ssp")
    parser.add_argument("--k", required=True, help="clusters; comma-separated for several")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated (default 0..4)")
    parser.add_argument("--keep", type=float, default=0.7, help="keep fraction (default 0.7)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="keep_hard")
    parser.add_argument("--distance", choices=("cosine", "euclidean"), default="cosine")
    add_backend_option(parser)
    add_out_option(parser)
    parser.set_defaults(func=run_stability)


def run_stability(args: argparse.Namespace) -> int:
    """Recompute the score per run, write ``OUT`` and print the summary; return the exit code."""
    from core.analysis.stability import score_stability, stability_csv_bytes, stability_summary

    ks = parse_numbers(args.k, "--k", int)
    seeds = parse_numbers(args.seeds, "--seeds", int)
    out = checked_out_path(
        args.out, inputs=(args.embeddings, args.meta), with_manifest=False, example="st.csv"
    )
    dataset = load_dataset_from_args(args)
    with lazy_progress_bar(f"stability ({args.metric})") as progress:
        result = score_stability(
            dataset.embeddings,
            metric=args.metric,
            k=list(ks),
            seeds=seeds,
            keep_fraction=args.keep,
            strategy=args.strategy,
            distance=args.distance,
            backend=args.backend,
            progress=progress,
        )
    write_atomic(out, stability_csv_bytes(result, dataset.ids))
    print(f"mean pairwise spearman: {result.pairs['spearman'].mean():.4f}")
    print(f"mean pairwise jaccard: {result.pairs['jaccard'].mean():.4f}")
    print(stability_summary(result))
    print(f"wrote {out} ({dataset.n} rows)")
    return 0
