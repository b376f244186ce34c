"""Command-line interface for prunescope: ``python -m core <command> ...`` (or ``prunescope``).

Each command module exposes ``register(subparsers)`` and sets ``func`` on its parser; a command
function takes the parsed namespace and returns an exit code. User errors raise ``ValueError``
(or ``FileNotFoundError``/``OSError``), which :func:`main` turns into one line on stderr and exit 2.
Every command takes ``--max-memory`` (see :mod:`core.io.guards`); SIGTERM stops a command like
Ctrl-C (exit 130, temporary files removed).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

from core.io.guards import DEFAULT_MEMORY_SHARE, memory_limit_set, parse_size

# Modules that register sub-commands; each owns its commands.
_COMMAND_MODULES = (
    "core.cli.prune",
    "core.cli.embed",
    "core.cli.validate",
    "core.cli.dedup",
    "core.cli.dynamics",
    "core.cli.samples",
    "core.cli.compare",
    "core.cli.stability",
    "core.cli.verify",
    "core.cli.project",
)

EPILOG = """examples:
  python -m core score sample_data/digits/ssl_embeddings.npy --meta sample_data/digits/metadata.csv --k 10 --seed 0 --out scores.csv
  python -m core prune emb.npy --meta meta.csv --keep 0.7 --strategy keep_hard --balance-by label --min-ratio 0.5 --out kept.csv
  python -m core embed images.zip --method ssl --epochs 5 --seed 0 --out emb.npy
  python -m core embed-text texts.csv --column text --out emb.npy
  python -m core curve emb.npy --meta meta.csv --metric ssp --out curve.csv
  python -m core theory --alpha 16 --keep 0.25 --theta 0 --out theory.csv
  python -m core dedup emb.npy --meta meta.csv --k 100 --epsilon 0.05 --order keep_hard --out kept.csv
  python -m core score big.npy --dask --dask-chunk-rows 65536 --k 1000 --out scores.csv
  python -m core project emb.npy --method umap --seed 0 --out xy.npy
  python -m core score-dynamics sample_data/demo_training_records.npz --metric aum --out scores.csv

Every score is oriented so that higher = harder."""


class _OneLineErrors(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineErrors(
        prog="python -m core",
        description="prunescope: score examples by difficulty and prune datasets (higher score = harder).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command module not written yet
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    for command in subparsers.choices.values():
        command.add_argument(
            "--max-memory",
            metavar="SIZE",
            default=None,
            help="refuse work whose memory estimate exceeds SIZE, e.g. 4G or 512M (default: "
            f"{DEFAULT_MEMORY_SHARE * 100:.0f}%% of this machine's memory)",
        )
    return parser


def _raise_interrupt(signum: int, frame: object) -> None:
    """SIGTERM handler: stop like Ctrl-C, so temporary files are removed on the way out."""
    raise KeyboardInterrupt


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like SIGINT while a command runs (main thread only; restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code (0 ok, 2 bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a bad flag: 2, one line from _OneLineErrors; --help exits as usual
        if not exc.code:
            raise
        return int(exc.code)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        limit = None if args.max_memory is None else parse_size(args.max_memory)
        with _sigterm_as_interrupt(), memory_limit_set(limit):
            return int(args.func(args) or 0)
    except (ValueError, OSError) as exc:
        message = str(exc) or exc.__class__.__name__
        if isinstance(exc, FileNotFoundError) and exc.filename:
            message = f"file not found: {exc.filename}"
        print(f"error: {message.splitlines()[0]}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # pathlib reports symlink loops as RuntimeError
        if not str(exc).startswith("Symlink loop"):
            raise
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI and exit with its code: ``python -m core`` and the ``prunescope`` script."""
    code = main(argv)
    # The process ends here: exit handlers still run and files are closed as usual, but the
    # interpreter's last garbage collection skips every object alive now (the OS frees the
    # memory anyway). With dask and distributed loaded that collection took 0.2-0.4 s, about
    # a tenth of a 200k-row prune (bench/bench_dask.py).
    gc.freeze()
    sys.exit(code)
