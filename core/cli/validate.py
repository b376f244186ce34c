"""The ``curve`` and ``theory`` commands: validate a pruning choice (linear probe, theory)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli._common import (
    add_backend_option,
    add_input_options,
    add_out_option,
    add_pin_options,
    checked_out_path,
    ids_to_indices,
    load_dataset_from_args,
    parse_numbers,
)
from core.cli._progress_bar import lazy_progress_bar
from core.cli._prune_extras import add_score_file_options
from core.export import write_atomic

if TYPE_CHECKING:
    import numpy as np

    from core.analysis.curve import CurveResult
    from core.io.data import Dataset

CURVE_EPILOG = """examples:
  python -m core curve emb.npy --meta meta.csv --metric ssp --out curve.csv
  python -m core curve emb.npy --meta meta.csv --fractions 0.1,0.5,1.0 --seeds 0,1,2 \\
      --balance class --compare-unbalanced --k 10 --out curve.csv
  python -m core curve emb.npy --meta meta.csv --compare-metrics class_prototype,knn_density \
      --always-drop img_007 --out curve.csv
  python -m core curve emb.npy --meta meta.csv --seeds 0,1,2,3,4 --probe knn \
      --summary summary.csv --out curve.csv
  python -m core curve emb.npy --meta meta.csv --scores losses.csv:loss --out curve.csv

Splits the labelled data (stratified, per seed) into train and test, scores the train split only,
prunes it at every fraction with every strategy and reports the test accuracy of a linear probe
(multinomial logistic regression with a fixed recipe). Writes OUT with the columns
metric,strategy,balance,keep_fraction,seed,n_kept,accuracy and prints mean accuracies.
--compare-metrics adds keep_hard/keep_easy rows of other metrics on the same splits (random
rows appear once, under --metric). Pins that fall in a seed's test split are ignored for that
seed; with --always-drop, a fraction keeping more than the rows left (such as 1.0) keeps every
train row but the dropped ones (n_kept says how many). --probe knn swaps the probe for a k-NN
classifier (k=10, cosine) to check that the ranking does not hinge on the linear probe.
--scores FILE:COLUMN uses per-example scores made elsewhere (aligned as in prune; a seed's
train scores are the file's values at its train rows, nothing is recomputed): without --metric
they are the metric (metric imported:COLUMN); with --metric given they are one more compared
metric.
--summary writes keep_fraction,best,runner_up,margin,stderr,verdict per kept fraction < 1: a
strategy wins only when it beats the runner-up by more than two standard errors of the paired
(per-seed) accuracy difference; otherwise the verdict is tie."""

THEORY_EPILOG = """examples:
  python -m core theory --alpha 16 --keep 0.25 --theta 0 --out theory.csv
  python -m core theory --alpha 16 --keep 0.25 --theta 20 --n 100 --seeds 3 --out theory.csv
  python -m core theory --sweep frontier --theta 0 --out frontier.csv   # + frontier.frontier.csv

Teacher-student perceptron (Sorscher et al. 2022): the "alpha" sweep varies alpha_tot at the
fixed --keep fraction, the "keep" sweep varies the kept fraction at the fixed --alpha. The test
error is exact, arccos(R)/pi. Writes OUT with the columns
sweep,strategy,n,alpha_tot,keep_fraction,alpha_prune,theta_deg,seed,n_total,n_kept,overlap,
error,min_margin,n_support,converged and prints mean errors."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``curve`` and ``theory`` commands to the CLI's sub-parsers."""
    _add_curve_parser(subparsers)
    _add_theory_parser(subparsers)


def _add_curve_parser(subparsers: argparse._SubParsersAction) -> None:
    from core.analysis.curve import BALANCES, DEFAULT_FRACTIONS, PROBES
    from core.scores.metrics import DISTANCES
    from core.scores.registry import METRICS

    curve = subparsers.add_parser(
        "curve",
        help="linear-probe test accuracy vs kept fraction for each pruning strategy (CSV)",
        description="Pruning curve: test accuracy of a linear probe against the kept fraction.",
        epilog=CURVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_options(
        curve, meta_help="metadata .csv/.parquet with a label column", meta_required=True
    )
    curve.add_argument(
        "--metric",
        choices=METRICS,
        default=None,
        help="default: ssp, or the --scores column when --scores is given",
    )
    curve.add_argument(
        "--compare-metrics",
        default="",
        metavar="M,...",
        help="other metrics whose keep_hard/keep_easy curves are added on the same splits "
        f"(any of {', '.join(METRICS)}; default: none)",
    )
    curve.add_argument(
        "--fractions",
        default=",".join(f"{f:g}" for f in DEFAULT_FRACTIONS),
        metavar="F,...",
        help="kept fractions in (0, 1] (default: %(default)s)",
    )
    curve.add_argument(
        "--strategies",
        default="keep_hard,keep_easy,random",
        metavar="S,...",
        help="pruning strategies (default: %(default)s)",
    )
    curve.add_argument("--seeds", default="0,1,2", metavar="S,...", help="default: %(default)s")
    curve.add_argument(
        "--balance",
        choices=BALANCES,
        default="class",
        help="balance the kept set over classes, clusters or not at all (default: class)",
    )
    curve.add_argument(
        "--min-ratio",
        type=float,
        default=0.5,
        metavar="R",
        help="every group keeps at least min(size, ceil(R * kept / groups)) (default: 0.5)",
    )
    curve.add_argument(
        "--compare-unbalanced",
        action="store_true",
        help="also add rows with balance=none (the unbalanced overlay)",
    )
    curve.add_argument("--k", type=int, default=None, help="k-means clusters (default: classes)")
    curve.add_argument("--distance", choices=DISTANCES, default="cosine", help="default: cosine")
    add_backend_option(curve)
    curve.add_argument("--test-size", type=float, default=0.2, help="test fraction (default 0.2)")
    curve.add_argument(
        "--probe",
        choices=PROBES,
        default="logistic",
        help="logistic: the linear probe; knn: k-NN (k=10, cosine) as a check (default: logistic)",
    )
    curve.add_argument(
        "--summary",
        type=Path,
        default=None,
        metavar="SUMMARY.csv",
        help="also write the verdict per kept fraction (best, runner_up, margin, stderr, "
        "verdict win/tie: a win beats the runner-up by > 2 paired standard errors over seeds)",
    )
    curve.add_argument(
        "--probe-l2", type=float, default=1e-3, help="probe weight decay (default 1e-3)"
    )
    curve.add_argument(
        "--probe-max-iter", type=int, default=100, help="probe L-BFGS iterations (default 100)"
    )
    add_pin_options(
        curve,
        help_template="comma-separated ids always {what} in the train split (repeatable); pins "
        "in a seed's test split are ignored for that seed",
    )
    add_score_file_options(
        curve,
        scores_help="per-example scores from a .csv/.parquet/.npy (aligned by its id or index "
        "column, else by row): the metric imported:COLUMN, or one more compared metric when "
        "--metric is also given",
    )
    add_out_option(curve)
    curve.set_defaults(func=run_curve)


def _add_theory_parser(subparsers: argparse._SubParsersAction) -> None:
    from core.analysis.theory import DEFAULT_ALPHAS, DEFAULT_KEEP_FRACTIONS

    theory = subparsers.add_parser(
        "theory",
        help="teacher-student perceptron: exact test error of pruned max-margin students (CSV)",
        description="Teacher-student perceptron model of data pruning (exact test error).",
        epilog=THEORY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    theory.add_argument(
        "--alpha", type=float, default=16.0, help="alpha_tot of the keep sweep (default 16)"
    )
    theory.add_argument(
        "--keep", type=float, default=0.25, help="kept fraction of the alpha sweep (default 0.25)"
    )
    theory.add_argument(
        "--theta", type=float, default=0.0, help="probe-teacher angle in degrees (default 0)"
    )
    theory.add_argument("--n", type=int, default=100, help="input dimension N (default 100)")
    theory.add_argument("--seeds", type=int, default=3, help="number of seeds 0..S-1 (default 3)")
    theory.add_argument(
        "--alphas",
        default=",".join(f"{a:g}" for a in DEFAULT_ALPHAS),
        metavar="A,...",
        help="alpha_tot grid of the alpha sweep (default: %(default)s)",
    )
    theory.add_argument(
        "--fractions",
        default=",".join(f"{f:g}" for f in DEFAULT_KEEP_FRACTIONS),
        metavar="F,...",
        help="kept-fraction grid of the keep sweep (default: %(default)s)",
    )
    theory.add_argument(
        "--sweep",
        choices=("alpha", "keep", "both", "frontier"),
        default="both",
        help="frontier: the paper's Fig. 1, keep-hard error vs alpha_prune = f x alpha_tot for "
        "every --fractions x --alphas pair (f = 1 added: random pruning's curve); writes OUT "
        "(alpha_prune,keep_fraction,strategy,error_mean,error_std,alpha_tot,n_seeds) and the "
        "Pareto frontier to <OUT stem>.frontier.csv (default: both)",
    )
    add_out_option(theory)
    theory.set_defaults(func=run_theory)


def run_curve(args: argparse.Namespace) -> int:
    """Validate inputs, compute the pruning curve, write ``OUT``; return the exit code."""
    from core.analysis.curve import curve_csv_bytes, pruning_curve

    fractions = parse_numbers(args.fractions, "--fractions", float)
    seeds = parse_numbers(args.seeds, "--seeds", int)
    strategies = tuple(s.strip() for s in args.strategies.split(",") if s.strip())
    compare_metrics = tuple(m.strip() for m in args.compare_metrics.split(",") if m.strip())
    # Only the CSV is written (no manifest beside it).
    score_file = None
    if args.scores is not None:
        from core.io.imported_scores import parse_score_spec

        score_file = str(parse_score_spec(args.scores)[0])
    out = checked_out_path(
        args.out,
        inputs=(args.embeddings, args.meta, score_file),
        with_manifest=False,
        example="curve.csv",
    )
    summary_out = _summary_path(args, out)
    dataset, metric, compare_metrics, imported = _curve_inputs(args, compare_metrics)
    if dataset.labels is None:
        raise ValueError(f"the curve needs labels: {args.meta} has no {args.label_column!r} column")
    always_keep = ids_to_indices(dataset, args.always_keep, "--always-keep")
    always_drop = ids_to_indices(dataset, args.always_drop, "--always-drop")
    with lazy_progress_bar("pruning curve") as progress:
        result = pruning_curve(
            dataset.embeddings,
            dataset.labels,
            metric=metric,
            compare_metrics=compare_metrics,
            fractions=fractions,
            strategies=strategies,
            seeds=seeds,
            test_size=args.test_size,
            k=args.k,
            distance=args.distance,
            backend=args.backend,
            balance=args.balance,
            min_ratio=args.min_ratio,
            compare_unbalanced=args.compare_unbalanced,
            always_keep=always_keep,
            always_drop=always_drop,
            probe=args.probe,
            probe_l2=args.probe_l2,
            probe_max_iter=args.probe_max_iter,
            imported=imported,
            progress=progress,
        )
    write_atomic(out, curve_csv_bytes(result))
    _print_curve(args, result, always_keep.size, always_drop.size)
    if summary_out is not None:
        _write_verdicts(result, summary_out)
    print(f"wrote {out} ({len(result.table)} rows)")
    return 0


def _curve_inputs(
    args: argparse.Namespace, compare_metrics: tuple[str, ...]
) -> tuple[Dataset, str, tuple[str, ...], dict[str, np.ndarray] | None]:
    """The dataset, metric, compare metrics and imported scores of ``curve``.

    With ``--scores`` the file's column is the metric, or, when ``--metric`` is given too, it
    is added after the ``--compare-metrics``.
    """
    if args.higher_is_easier and args.scores is None:
        raise ValueError("--higher-is-easier needs --scores")
    if args.scores is None:
        return load_dataset_from_args(args), args.metric or "ssp", compare_metrics, None
    from core.cli._prune_extras import load_for_imported

    dataset, scores = load_for_imported(args)
    imported = {scores.metric: scores.values}
    if args.metric is None:
        return dataset, scores.metric, compare_metrics, imported
    return dataset, args.metric, (*compare_metrics, scores.metric), imported


def _summary_path(args: argparse.Namespace, out: Path) -> Path | None:
    """The checked ``--summary`` path (None without it); it must differ from ``--out``."""
    if args.summary is None:
        return None
    path = checked_out_path(
        args.summary,
        inputs=(args.embeddings, args.meta),
        with_manifest=False,
        example="summary.csv",
    )
    if path.resolve() == out.resolve():
        raise ValueError(f"--summary {args.summary} should differ from --out {args.out}")
    return path


def _write_verdicts(result: CurveResult, path: Path) -> None:
    """Write and print the per-fraction verdicts."""
    from core.analysis.verdicts import fraction_verdicts, verdicts_csv_bytes

    verdicts = fraction_verdicts(result)
    write_atomic(path, verdicts_csv_bytes(verdicts))
    print("verdicts (win: margin > 2 paired standard errors over seeds; else tie):")
    for row in verdicts.itertuples(index=False):
        print(
            f"  f={row.keep_fraction:g}: {row.best} vs {row.runner_up}: "
            f"{row.margin:+.4f} ± {row.stderr:.4f} -> {row.verdict}"
        )
    print(f"wrote {path} ({len(verdicts)} rows)")


def _print_curve(
    args: argparse.Namespace,
    result: CurveResult,
    n_keep_pins: int,
    n_drop_pins: int,
) -> None:
    """Print the mean accuracies, pins, unpruned accuracy and the power law."""
    from core.analysis.curve import curve_summary

    summary = curve_summary(result)
    pivot = summary.pivot_table(
        index=["balance", "keep_fraction"],
        columns=["metric", "strategy"] if result.params.compare_metrics else "strategy",
        values="accuracy_mean",
        sort=False,
    )
    metrics = ", ".join((result.params.metric, *result.params.compare_metrics))
    n_seeds = len(result.seeds)
    print(f"probe: {result.params.probe_recipe}")
    print(f"test accuracy of the {args.probe} probe (mean of {n_seeds} seeds; scores: {metrics}):")
    print(pivot.to_string(float_format=lambda v: f"{v:.4f}"))
    ignored = sum(split.ignored_pins.size for split in result.splits)
    if n_keep_pins or n_drop_pins:
        print(
            f"pins: {n_keep_pins} always kept, {n_drop_pins} always dropped; "
            f"{ignored} pin-seed pairs fell in a test split and were ignored there"
        )
    unpruned = result.unpruned_accuracy
    print(f"unpruned accuracy: {unpruned.mean():.4f} ± {unpruned.std():.4f}")
    if result.power_law is not None:
        fit = result.power_law
        print(f"random pruning power law: error = {fit.a:.4g} * f^-{fit.b:.4g}")


def run_theory(args: argparse.Namespace) -> int:
    """Validate inputs, run the teacher–student sweeps, write ``OUT``; return the exit code."""
    from core.analysis.theory import theory_csv_bytes, theory_curve, theory_summary

    if args.seeds < 1:
        raise ValueError(f"--seeds {args.seeds} should be >= 1 (the number of seeds)")
    alphas = parse_numbers(args.alphas, "--alphas", float)
    fractions = parse_numbers(args.fractions, "--fractions", float)
    sweeps = ("alpha", "keep") if args.sweep == "both" else (args.sweep,)
    out = checked_out_path(args.out, inputs=(), with_manifest=False, example="curve.csv")
    if args.sweep == "frontier":
        return _run_frontier(args, alphas, fractions, out)
    with lazy_progress_bar("theory") as progress:
        result = theory_curve(
            n=args.n,
            alphas=alphas,
            keep_fractions=fractions,
            alpha_tot=args.alpha,
            keep_fraction=args.keep,
            theta_deg=args.theta,
            seeds=range(args.seeds),
            sweeps=sweeps,
            progress=progress,
        )
    write_atomic(out, theory_csv_bytes(result))
    summary = theory_summary(result)
    print(
        f"test error arccos(R)/pi (mean of {args.seeds} seeds, N={args.n}, theta={args.theta:g}°):"
    )
    for sweep in sweeps:
        rows = summary[summary["sweep"] == sweep]
        index = "alpha_tot" if sweep == "alpha" else "keep_fraction"
        fixed = f"f={args.keep:g}" if sweep == "alpha" else f"alpha_tot={args.alpha:g}"
        pivot = rows.pivot_table(index=index, columns="strategy", values="error_mean", sort=False)
        print(f"{sweep} sweep ({fixed}):")
        print(pivot.to_string(float_format=lambda v: f"{v:.4f}"))
    if not result.all_converged:
        print("warning: some max-margin fits failed their KKT check (column converged)")
    print(f"wrote {out} ({len(result.table)} rows)")
    return 0


def _run_frontier(
    args: argparse.Namespace, alphas: tuple[float, ...], fractions: tuple[float, ...], out: Path
) -> int:
    """``theory --sweep frontier``: both CSVs and a printed frontier table."""
    from core.analysis.theory import frontier_csv_bytes, frontier_sweep

    with lazy_progress_bar("frontier") as progress:
        result = frontier_sweep(
            n=args.n,
            alphas=alphas,
            keep_fractions=fractions,
            theta_deg=args.theta,
            seeds=range(args.seeds),
            progress=progress,
        )
    table_bytes, frontier_bytes = frontier_csv_bytes(result)
    frontier_path = out.with_name(f"{out.stem}.frontier.csv")
    write_atomic(out, table_bytes)
    write_atomic(frontier_path, frontier_bytes)
    a, b = result.power_law
    print(f"Pareto frontier (keep hard, theta={args.theta:g}°, N={args.n}, {args.seeds} seeds):")
    shown = result.frontier[["alpha_prune", "error", "best_keep_fraction", "unpruned_error"]]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"random pruning power law: error = {a:.4g} * alpha_prune^-{b:.4g}")
    print(f"wrote {out} ({len(result.table)} rows) and {frontier_path}")
    return 0
