"""A tqdm progress bar that speaks core's ``(fraction, message)`` progress protocol."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from core._progress import ProgressFn


@contextmanager
def progress_bar(description: str) -> Iterator[ProgressFn]:
    """Yield a progress callback drawing a tqdm bar on stderr (percent of the whole task)."""
    from tqdm import tqdm

    bar = tqdm(
        total=100,
        desc=description,
        unit="%",
        file=sys.stderr,
        leave=False,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
    )

    def _update(fraction: float, message: str) -> None:
        target = round(fraction * 100)
        if target > bar.n:
            bar.update(target - bar.n)
        bar.set_postfix_str(message, refresh=True)

    try:
        yield _update
    finally:
        bar.close()


@contextmanager
def lazy_progress_bar(description: str) -> Iterator[ProgressFn]:
    """A :func:`progress_bar` drawn on the first report, so input errors (raised before any
    report) print one clean line with no bar."""
    with ExitStack() as stack:
        bar: list[ProgressFn] = []

        def _update(fraction: float, message: str) -> None:
            if not bar:
                bar.append(stack.enter_context(progress_bar(description)))
            bar[0](fraction, message)

        yield _update
