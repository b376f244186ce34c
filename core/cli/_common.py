"""Options, parsers and checks shared by the CLI command modules (one wording for every command)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from core.scores.kmeans import BACKENDS
from core.validate import check_ccs_beta, check_fraction, check_min_ratio

if TYPE_CHECKING:
    from core._progress import ProgressFn
    from core.io.data import Dataset
    from core.prune.select import Selection
    from core.scores.metrics import Scores

#: ``--min-ratio`` when ``--balance-by`` is given without it (the app's default too).
DEFAULT_MIN_RATIO = 0.5

_Number = TypeVar("_Number", int, float)


# ----------------------------------------------------------------------------- options


def add_input_options(
    parser: argparse.ArgumentParser,
    *,
    meta_help: str,
    meta_required: bool = False,
    embeddings_optional: bool = False,
) -> None:
    """The embeddings file ``EMB``, ``--meta`` and the metadata ``--id-column``/``--label-column``."""
    parser.add_argument(
        "embeddings",
        metavar="EMB",
        nargs="?" if embeddings_optional else None,
        default=None,
        help="embeddings: .npy .npz .parquet .csv",
    )
    parser.add_argument(
        "--meta", metavar="META", required=meta_required, default=None, help=meta_help
    )
    parser.add_argument("--id-column", default="id", help="metadata id column (default: id)")
    parser.add_argument(
        "--label-column", default="label", help="metadata label column (default: label)"
    )


def add_backend_option(parser: argparse.ArgumentParser) -> None:
    """``--backend`` of the k-means / k-NN search (default auto)."""
    parser.add_argument("--backend", choices=BACKENDS, default="auto", help="k-means backend")


def add_seed_option(parser: argparse.ArgumentParser) -> None:
    """``--seed`` (default 0)."""
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")


def add_pin_options(parser: argparse.ArgumentParser, *, help_template: str) -> None:
    """Repeatable ``--always-keep`` / ``--always-drop ID,...``; ``{what}`` in the help is
    "kept" or "dropped"."""
    for flag, what in (("--always-keep", "kept"), ("--always-drop", "dropped")):
        parser.add_argument(
            flag,
            action="append",
            default=[],
            metavar="ID,...",
            help=help_template.format(what=what),
        )


def add_selection_options(
    parser: argparse.ArgumentParser, *, balance_by: tuple[str, ...], needs: str = ""
) -> None:
    """``--strategy``, ``--ccs-beta``, ``--balance-by`` and ``--min-ratio`` (see
    :func:`selection_from_args`); ``needs`` prefixes each help, e.g. ``"with --keep: "``."""
    from core.prune.select import STRATEGIES

    parser.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="keep_hard",
        help=f"{needs}keep_hard / keep_easy: highest / lowest scores; random: seeded baseline; "
        "ccs: coverage-centric (cut the hardest --ccs-beta, then sample 50 score strata evenly; "
        "global, per group with --balance-by); moderate: Moderate-DS (Xia et al. 2023), the "
        "middle band of distances from each embedding to its class's median embedding (scores "
        "unused; one class without labels); middle_band: scores closest to the median score "
        "(default: keep_hard)",
    )
    parser.add_argument(
        "--ccs-beta",
        type=float,
        default=None,
        metavar="BETA",
        help="with --strategy ccs: fraction of hardest examples cut first, in [0, 1) (default: by "
        "pruning rate after Zheng et al., ICLR 2023: 0 up to 50%% pruning, 0.1 at 70-80%%, "
        "0.3 at 90%%+, linear in between)",
    )
    groups = " / ".join(balance_by)
    parser.add_argument(
        "--balance-by",
        choices=balance_by,
        default=None,
        help=f"{needs}guarantee every {groups} a minimum share of the kept examples",
    )
    parser.add_argument(
        "--min-ratio",
        type=float,
        default=None,
        metavar="R",
        help="with --balance-by: every group keeps at least min(size, ceil(R * kept / groups)) "
        f"(default {DEFAULT_MIN_RATIO})",
    )


def add_dask_options(parser: argparse.ArgumentParser, *, what: str) -> None:
    """``--dask``, ``--dask-chunk-rows`` and ``--dask-scheduler``; ``what`` says what runs on Dask."""
    parser.add_argument(
        "--dask",
        action="store_true",
        help=f"{what} with Dask, reading a .npy chunk by chunk from a memory map (the embeddings "
        "are never loaded in one process; same output as without it)",
    )
    parser.add_argument(
        "--dask-chunk-rows",
        type=int,
        default=None,
        metavar="ROWS",
        help="with --dask: rows per chunk (default: ceil(n / 65536) chunks of equal size)",
    )
    parser.add_argument(
        "--dask-scheduler",
        default=None,
        metavar="ADDRESS",
        help="with --dask: 'local' or 'local:N' starts N worker processes here (default 2, "
        "loopback only), tcp://HOST:8786 joins a running scheduler (workers must read EMB at "
        "the same path); default: threads in this process",
    )


def check_dask_flags(args: argparse.Namespace) -> None:
    """``--dask-chunk-rows`` / ``--dask-scheduler`` need ``--dask``; chunk rows >= 1."""
    if not args.dask and (args.dask_chunk_rows is not None or args.dask_scheduler is not None):
        raise ValueError("--dask-chunk-rows and --dask-scheduler need --dask")
    if args.dask_chunk_rows is not None and args.dask_chunk_rows < 1:
        raise ValueError(f"--dask-chunk-rows {args.dask_chunk_rows} should be >= 1")


@contextlib.contextmanager
def dask_session(args: argparse.Namespace) -> Iterator[None]:
    """The ``--dask-scheduler`` cluster while open (closed on exit, also on error); nothing
    without it (Dask's default threads)."""
    if not args.dask or args.dask_scheduler is None:
        yield
        return
    from core.scores.distributed import dask_client

    with dask_client(args.dask_scheduler):
        yield


def add_out_option(parser: argparse.ArgumentParser, *, help: str = "output CSV path") -> None:
    """The required ``--out OUT``."""
    parser.add_argument("--out", required=True, metavar="OUT", help=help)


# ----------------------------------------------------------------------------- checks and parsing


def checked_out_path(
    given: str,
    *,
    inputs: tuple[str | None, ...],
    flag: str = "--out",
    with_manifest: bool = True,
    example: str = "kept.csv",
) -> Path:
    """An output path, checked before any work so a bad one fails fast and writes nothing.

    Its folder must exist, it must not be a folder, and neither it nor (``with_manifest``) its
    ``<stem>.manifest.json`` may be one of the ``inputs``.
    """
    path = Path(given)
    if not path.parent.is_dir():
        raise ValueError(f"{flag} {path}: directory {path.parent} does not exist")
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a directory; give a file path such as {path}/{example}")
    targets = {path.resolve()}
    if with_manifest:
        targets.add(path.with_name(f"{path.stem}.manifest.json").resolve())
    for source in inputs:
        if source is not None and _resolved(Path(source)) in targets:
            raise ValueError(f"{flag} {path} would overwrite the input file {source}")
    return path


def _resolved(path: Path) -> Path:
    """``path.resolve()``, or ``path`` itself for a symlink loop (its reader reports the loop)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return path


def load_dataset_from_args(args: argparse.Namespace) -> Dataset:
    """``core.io.data.load_dataset`` of ``EMB`` and ``--meta`` with the given id/label columns."""
    from core.io.data import load_dataset

    return load_dataset(
        args.embeddings, args.meta, id_column=args.id_column, label_column=args.label_column
    )


def scores_from_args(
    args: argparse.Namespace, dataset: Dataset, metric: str, progress: ProgressFn | None = None
) -> Scores:
    """``core.scores.metrics.compute_scores`` of ``metric`` with the ``--k``, ``--distance``,
    ``--backend`` and ``--seed`` flags and the dataset's labels."""
    from core.scores.metrics import compute_scores

    return compute_scores(
        dataset.embeddings,
        metric,
        k=args.k,
        labels=dataset.labels,
        distance=args.distance,
        backend=args.backend,
        seed=args.seed,
        progress=progress,
    )


def ids_to_indices(dataset: Dataset, values: list[str], flag: str) -> np.ndarray:
    """Row indices (sorted int64) of the comma-separated ids given to a repeatable flag."""
    wanted = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if not wanted:
        return np.zeros(0, dtype=np.int64)
    position = {str(identifier): row for row, identifier in enumerate(dataset.ids)}
    unknown = [identifier for identifier in wanted if identifier not in position]
    if unknown:
        shown = ", ".join(repr(identifier) for identifier in unknown[:5])
        raise ValueError(
            f"{flag}: {len(unknown)} unknown ids ({shown}); ids come from the metadata id "
            "column, else they are row numbers 0..n-1"
        )
    return np.unique(np.array([position[identifier] for identifier in wanted], dtype=np.int64))


def check_selection_flags(args: argparse.Namespace, *, balance_by: tuple[str, ...]) -> None:
    """``--keep``, ``--min-ratio`` and ``--ccs-beta`` values, checked before any file is read."""
    check_fraction(args.keep, name="--keep", allow_zero=False)
    if args.min_ratio is not None and args.balance_by is None:
        options = " or ".join(f"--balance-by {group}" for group in balance_by)
        raise ValueError(f"--min-ratio needs {options}")
    if args.min_ratio is not None:
        check_min_ratio(args.min_ratio, name="--min-ratio")
    if args.ccs_beta is not None and args.strategy != "ccs":
        raise ValueError(f"--ccs-beta needs --strategy ccs (got --strategy {args.strategy})")
    if args.ccs_beta is not None:
        check_ccs_beta(args.ccs_beta, name="--ccs-beta")


def selection_from_args(
    args: argparse.Namespace,
    dataset: Dataset,
    scores: Scores,
    *,
    pins: tuple[np.ndarray, np.ndarray],
    rows: np.ndarray | None = None,
) -> Selection:
    """``core.prune.select.select_kept`` for the selection flags (defaults as documented in
    --help); ``--balance-by`` groups come from ``core.prune.balance.balance_groups``.

    ``rows``: select among these dataset rows only (``scores`` and ``pins`` are already
    restricted to them, as after deduplication); default all rows."""
    from core.prune.balance import balance_groups
    from core.prune.select import select_kept

    moderate = args.strategy == "moderate"
    if moderate and dataset.embeddings.shape[1] == 0:
        raise ValueError(
            "--strategy moderate needs embeddings (Moderate-DS); these inputs have none"
        )
    balance_by, min_ratio = balance_from_args(args)
    labels, embeddings = dataset.labels, dataset.embeddings
    if rows is not None:
        labels = None if labels is None else labels[rows]
        # Only Moderate-DS reads the embeddings (a memory map under --dask stays on disk).
        embeddings = embeddings[rows] if moderate else embeddings
    groups = balance_groups(labels, scores.clusters, balance_by, metric=scores.metric)
    return select_kept(
        scores.values,
        args.keep,
        strategy=args.strategy,
        groups=groups,
        balance_by=balance_by,
        min_ratio=min_ratio,
        seed=args.seed,
        always_keep=pins[0],
        always_drop=pins[1],
        ccs_beta=args.ccs_beta,
        embeddings=embeddings if moderate else None,
        labels=labels if moderate else None,
    )


def balance_from_args(args: argparse.Namespace) -> tuple[str | None, float]:
    """``--balance-by`` (canonical name or None) and the balance ratio: ``--min-ratio``, its
    default with a balance, 0 without one."""
    from core.prune.balance import normalize_balance

    balance_by = normalize_balance(args.balance_by, name="--balance-by")
    if not args.balance_by:
        return balance_by, 0.0
    return balance_by, DEFAULT_MIN_RATIO if args.min_ratio is None else args.min_ratio


def pins_from_args(dataset: Dataset, args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """``--always-keep``/``--always-drop`` as row indices, checked against ``--keep``'s count
    (which must keep at least one example).

    Raises
    ------
    ValueError
        When an id is unknown, pinned both ways, or the pins cannot fit the kept count.
    """
    from core.prune.select import kept_count

    always_keep = ids_to_indices(dataset, args.always_keep, "--always-keep")
    always_drop = ids_to_indices(dataset, args.always_drop, "--always-drop")
    both = np.intersect1d(always_keep, always_drop)
    if both.size:
        raise ValueError(
            f"ids in both --always-keep and --always-drop: {', '.join(dataset.ids[both][:5])}"
        )
    n_kept = kept_count(dataset.n, args.keep)
    if n_kept == 0:
        raise ValueError(
            f"--keep {args.keep} keeps no example of {dataset.n} (floor(keep x N + 0.5) = 0)"
        )
    if always_keep.size > n_kept:
        raise ValueError(
            f"--always-keep pins {always_keep.size} ids but --keep {args.keep} keeps only "
            f"{n_kept} of {dataset.n}"
        )
    if dataset.n - always_drop.size < n_kept:
        raise ValueError(
            f"--always-drop pins {always_drop.size} ids, leaving {dataset.n - always_drop.size} "
            f"examples, fewer than the {n_kept} that --keep {args.keep} keeps"
        )
    return always_keep, always_drop


def parse_numbers(text: str, flag: str, kind: Callable[[str], _Number]) -> tuple[_Number, ...]:
    """The comma-separated numbers of ``text`` (``kind`` is ``float`` or ``int``), at least one."""
    noun = "integer" if kind is int else "number"
    try:
        values = tuple(kind(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"{flag} {text!r} should be comma-separated {noun}s") from None
    if not values:
        raise ValueError(f"{flag} {text!r} should list at least one {noun}")
    return values
