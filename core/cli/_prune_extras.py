"""``prune`` extras: imported scores (``--scores FILE:COLUMN``) and dedup-then-prune
(``--dedup-epsilon``), kept apart from the scoring options in ``core.cli.prune``."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from core.io.data import Dataset
    from core.prune.select import Selection
    from core.scores.metrics import Scores


def add_score_file_options(parser: argparse.ArgumentParser, *, scores_help: str) -> None:
    """``--scores FILE[:COLUMN]`` and ``--higher-is-easier`` (``prune`` and ``curve``)."""
    parser.add_argument("--scores", metavar="FILE[:COLUMN]", default=None, help=scores_help)
    parser.add_argument(
        "--higher-is-easier",
        action="store_true",
        help="with --scores: the file's values are higher = easier; they are negated on import "
        "so that higher = harder",
    )


def add_prune_extras(parser: argparse.ArgumentParser) -> None:
    """``--scores``, ``--higher-is-easier``, ``--dedup-epsilon`` and ``--dedup-k``."""
    add_score_file_options(
        parser,
        scores_help="use per-example scores from a .csv/.parquet/.npy instead of --metric "
        "(aligned by its id or index column, else by row); EMB is then optional",
    )
    parser.add_argument(
        "--dedup-epsilon",
        type=float,
        default=None,
        metavar="EPS",
        help="first remove SemDeDup near-duplicates (cosine similarity > 1 - EPS), then keep "
        "--keep of what is left",
    )
    parser.add_argument(
        "--dedup-k",
        type=int,
        default=None,
        metavar="K",
        help="with --dedup-epsilon: k-means clusters of SemDeDup (default: --k, else the "
        "default number of prototypes)",
    )


def check_extras(args: argparse.Namespace) -> None:
    """Flag combinations, checked before any file is read."""
    if args.embeddings is None and args.scores is None:
        raise ValueError("EMB is required unless --scores gives the scores")
    if args.higher_is_easier and args.scores is None:
        raise ValueError("--higher-is-easier needs --scores")
    if args.scores is not None and (args.dask or args.k is not None):
        raise ValueError("--scores replaces the scoring: drop --k and --dask")
    if args.dedup_k is not None and args.dedup_epsilon is None:
        raise ValueError("--dedup-k needs --dedup-epsilon")
    if args.dedup_epsilon is not None:
        if args.embeddings is None:
            raise ValueError("--dedup-epsilon needs EMB (SemDeDup compares embeddings)")
        if not 0.0 <= args.dedup_epsilon < 1.0:
            raise ValueError(f"--dedup-epsilon {args.dedup_epsilon} should be in [0, 1)")


def load_for_imported(args: argparse.Namespace) -> tuple[Dataset, Scores]:
    """The dataset (from EMB/--meta, or from --meta or the score file alone) and its scores."""
    from core.io.data import (
        Dataset,
        check_ids,
        encode_labels,
        file_info,
        load_dataset,
        load_metadata,
    )
    from core.io.imported_scores import (
        import_scores,
        parse_score_spec,
        read_score_table,
        table_ids,
    )

    path, column = parse_score_spec(args.scores)
    table = read_score_table(path, column)
    if args.embeddings is not None:
        dataset = load_dataset(
            args.embeddings, args.meta, id_column=args.id_column, label_column=args.label_column
        )
    else:
        ids: Any = table_ids(table)
        labels: Any = None
        sources = []
        if args.meta is not None:
            meta = load_metadata(args.meta, n_rows=_count_rows(Path(args.meta)))
            sources.append(file_info(args.meta))
            ids = meta[args.id_column] if args.id_column in meta.columns else None
            labels = meta[args.label_column] if args.label_column in meta.columns else None
        n = table.n_rows if ids is None else len(ids)
        codes, class_names = (None, ()) if labels is None else encode_labels(labels, n)
        # The scores were made elsewhere: no embeddings, so the manifest records d as null.
        dataset = Dataset(
            embeddings=np.zeros((n, 0), dtype=np.float32),
            ids=check_ids(ids, n),
            labels=codes,
            class_names=class_names,
            name=path.stem,
            sources=tuple(sources),
        )
    scores = import_scores(
        table, ids=dataset.ids, n=dataset.n, higher_is_easier=args.higher_is_easier
    )
    dataset = dataclasses.replace(dataset, sources=(*dataset.sources, file_info(path)))
    return dataset, scores


def _count_rows(path: Path) -> int:
    if path.suffix.lower() == ".parquet":
        return len(pd.read_parquet(path))
    return len(pd.read_csv(path, dtype=str, keep_default_na=False))


def dedup_then_select(
    args: argparse.Namespace,
    dataset: Dataset,
    scores: Scores,
    pins: tuple[np.ndarray, np.ndarray],
) -> tuple[Selection, dict[str, Any]]:
    """SemDeDup first, then the selection flags on the survivors, mapped back to all rows.

    The returned Selection indexes the original n rows; its ``keep_fraction`` is the fraction of
    the deduplicated rows. The dict (the manifest's ``extra["dedup_then_prune"]``) records
    both steps and both counts.
    """
    from core.cli._common import selection_from_args
    from core.prune.semdedup import semdedup
    from core.scores.metrics import default_k

    k = args.dedup_k or args.k or default_k(dataset.n)
    if args.dask:  # per-cluster tasks reading the .npy; the same result
        from core.prune.semdedup_dask import semdedup_dask

        result = semdedup_dask(
            args.embeddings,
            k=k,
            epsilon=args.dedup_epsilon,
            seed=args.seed,
            chunk_rows=args.dask_chunk_rows,
        )
    else:
        result = semdedup(dataset.embeddings, k=k, epsilon=args.dedup_epsilon, seed=args.seed)
    survivors = result.kept_indices
    lost = np.setdiff1d(pins[0], survivors)
    if lost.size:
        raise ValueError(
            f"--always-keep ids removed as near-duplicates: {', '.join(dataset.ids[lost][:5])}"
        )
    position = np.full(dataset.n, -1, dtype=np.int64)
    position[survivors] = np.arange(survivors.size)
    sub_pins = tuple(position[np.intersect1d(p, survivors)] for p in pins)
    sub_scores = dataclasses.replace(
        scores,
        values=scores.values[survivors],
        clusters=None if scores.clusters is None else scores.clusters[survivors],
    )
    sub = selection_from_args(
        args,
        dataset,
        sub_scores,
        pins=(sub_pins[0], sub_pins[1]),
        rows=survivors,
    )
    selection = dataclasses.replace(
        sub,
        kept_indices=survivors[sub.kept_indices],
        n_total=dataset.n,
        always_keep=survivors[sub.always_keep],
        always_drop=np.union1d(survivors[sub.always_drop], pins[1]).astype(np.int64),
    )
    record = {
        "dedup": {
            key: getattr(result.params, key) for key in ("k", "epsilon", "order", "seed", "backend")
        },
        "n_original": dataset.n,
        "n_removed_as_duplicates": int(result.n_removed),
        "n_deduplicated": int(survivors.size),
        "keep_fraction_of": "deduplicated",
        "n_kept": selection.n_kept,
    }
    return selection, record
