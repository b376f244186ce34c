"""Commands that rebuild the shipped sample data: ``build-samples`` and ``demo-records``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from core.cli._progress_bar import progress_bar


def register(subparsers: argparse._SubParsersAction) -> None:
    from core.io.samples import SAMPLE_DATA_DIR, SAMPLES

    build = subparsers.add_parser(
        "build-samples",
        help="regenerate the shipped sample data (images, SSL encoder, embeddings, README)",
        description="Regenerate sample_data/ deterministically from --seed (SSL training takes "
        "minutes on a CPU).",
    )
    build.add_argument("--out", default=str(SAMPLE_DATA_DIR), help="output folder")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--epochs", type=int, default=None, help="SSL epochs for every sample")
    build.add_argument("--only", action="append", choices=sorted(SAMPLES), default=None)
    build.set_defaults(func=_build_samples)

    demo = subparsers.add_parser(
        "demo-records",
        help="build the demo training records (digits, 5%% flipped labels) or check a records file",
        description="Train a numpy softmax regression on digits with 5%% flipped labels and write "
        "its per-epoch records (--out), or print how well each training-dynamics metric finds "
        "the flipped labels of a records file (--check).",
    )
    target = demo.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", help="write the records .npz here")
    target.add_argument("--check", metavar="RECORDS", help="print precision@k of each metric")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo_records)


def _build_samples(args: argparse.Namespace) -> int:
    from core.embed.sample_build import build_all

    start = time.perf_counter()
    with progress_bar("build sample data") as bar:
        builds = build_all(
            args.out, seed=args.seed, epochs=args.epochs, names=args.only, progress=bar
        )
    for b in builds:
        print(
            f"{b.name}: n={b.n_examples} epochs={b.epochs} train={b.train_seconds:.0f}s "
            f"loss={b.final_loss:.3f} knn ssl={b.knn_ssl:.4f} pixels={b.knn_pixels:.4f} "
            f"raw={b.knn_raw_pixels:.4f}"
        )
    print(f"total {time.perf_counter() - start:.0f}s -> {args.out}")
    return 0


def _demo_records(args: argparse.Namespace) -> int:
    if args.out is not None:
        _write_demo(args.out, args.seed)
        path = args.out
    else:
        path = args.check
    _print_demo_precision(path)
    return 0


def _write_demo(out: str, seed: int) -> None:
    from core.io.demo_records import make_demo_records
    from core.io.records import save_training_records
    from core.io.samples import load_sample

    digits = load_sample("digits", embedding="pixels")
    clean = np.asarray(digits.class_names, dtype=np.int64)[digits.labels]
    records, _flipped = make_demo_records(
        digits.embeddings, clean, ids=digits.ids, epochs=10, seed=seed
    )
    save_training_records(out, records)
    size = Path(out).stat().st_size
    print(f"wrote {out} ({size:,} bytes; {records.n} examples, {records.n_epochs} epochs)")


def _print_demo_precision(path: str | Path) -> None:
    """Print precision@k of each metric at finding a demo file's flipped labels.

    Flipped examples are those whose recorded label differs from ``sample_data/digits``'s
    ``metadata.csv`` label (matched by id).
    """
    from core.io.demo_records import precision_at_k
    from core.io.records import load_training_records
    from core.io.samples import load_sample
    from core.scores.dynamics import score_records
    from core.scores.registry import RECORD_METRICS

    records = load_training_records(path)
    if records.ids is None or records.labels is None:
        raise ValueError(f"{Path(path).name} has no ids or labels to compare with digits")
    digits = load_sample("digits", embedding="pixels")
    position = {identifier: row for row, identifier in enumerate(digits.ids.tolist())}
    missing = [i for i in records.ids.tolist() if i not in position]
    if missing:
        raise ValueError(f"{Path(path).name}: {len(missing)} ids are not digits ids")
    rows = np.array([position[identifier] for identifier in records.ids.tolist()])
    clean = np.asarray(digits.class_names, dtype=np.int64)[digits.labels][rows]
    flipped = records.labels != clean
    print(f"{int(flipped.sum())} of {records.n} labels flipped; precision@{int(flipped.sum())}:")
    for metric in RECORD_METRICS:
        scores = score_records(records, metric)
        print(f"  {metric:<10} {precision_at_k(scores.values, flipped):.3f}")
