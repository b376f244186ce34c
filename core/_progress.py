"""Progress reporting shared by core functions, the CLI (tqdm) and the app (st.progress)."""

from __future__ import annotations

from collections.abc import Callable

#: A progress callback receives the fraction done in [0, 1] and a short message.
ProgressFn = Callable[[float, str], None]


def report(progress: ProgressFn | None, fraction: float, message: str) -> None:
    """Call ``progress`` when given, clipping ``fraction`` into [0, 1]."""
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))), message)


def sub_progress(
    progress: ProgressFn | None, start: float, stop: float, *, phase: str = ""
) -> ProgressFn | None:
    """Map a child task's [0, 1] progress onto ``[start, stop]`` of the parent's.

    With ``phase``, every message is prefixed ``"phase: "`` and the phase is announced at
    ``start`` at once, so a slow first step never shows the previous phase's last message.
    """
    if progress is None:
        return None

    def _child(fraction: float, message: str) -> None:
        text = f"{phase}: {message}" if phase and message else phase or message
        report(progress, start + (stop - start) * fraction, text)

    if phase:
        _child(0.0, "")
    return _child
