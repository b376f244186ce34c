"""Validate page glue: the verdict table, the advisor's sentence and the other-probe check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from ui import cache
from ui.errors import user_errors

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import pandas as pd

    from core.analysis.curve import CurveResult

#: Probe choices as the Validate page names them.
PROBE_LABELS = {
    "logistic": "Linear probe (logistic regression)",
    "knn": "k-NN check (k = 10, cosine)",
}
VERDICT_NOTE = (
    "A strategy **wins** at a kept fraction only when it beats the runner-up by more than two "
    "standard errors of their per-seed accuracy difference (paired: every strategy of a seed "
    "shares its train/test split); otherwise it is a **tie**. One seed: always a tie."
)


def with_spread(summary: pd.DataFrame) -> pd.DataFrame:
    """``curve_summary`` rows with a readable "accuracy (mean ± std)" column."""
    text = [f"{m:.4f} ± {s:.4f}" for m, s in zip(summary["accuracy_mean"], summary["accuracy_std"])]
    return summary.assign(**{"accuracy (mean ± std)": text})


def verdict_view(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The verdict columns to show, with "margin ± stderr" in accuracy points."""
    text = [
        f"{100 * m:+.2f} ± {100 * s:.2f}" for m, s in zip(verdicts["margin"], verdicts["stderr"])
    ]
    view = verdicts[["keep_fraction", "best", "runner_up"]].copy()
    view["margin ± stderr (points)"] = text
    view["verdict"] = verdicts["verdict"]
    view["n_seeds"] = verdicts["n_seeds"]
    return view


def render_verdicts(result: CurveResult, *, n_dims: int, n_classes: int) -> pd.DataFrame:
    """Draw the advisor's sentence and the verdict table; return the verdicts."""
    from core.analysis.verdicts import advise, fraction_verdicts

    verdicts = fraction_verdicts(result)
    advice = advise(result, n_dims=n_dims, n_classes=n_classes)
    st.markdown(f"**What these curves support.** {advice.sentence}")
    if len(verdicts):
        st.dataframe(verdict_view(verdicts), hide_index=True, key="curve_verdicts")
        st.caption(VERDICT_NOTE)
    return verdicts


def render_probe_check(
    request: tuple[Any, ...],
    verdicts: pd.DataFrame,
    imported: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Offer the same curve with the other probe; when run, say whether the ranking survives.

    ``request`` is the page's ``curve_request`` (the arguments of ``cache.curve_cached``, the
    probe last); ``imported`` the imported scores it names (``cache.curve_cached``'s
    ``_imported``).
    """
    ss = st.session_state
    probe = request[-1]
    other = "knn" if probe == "logistic" else "logistic"
    label = f"Check with the other probe ({PROBE_LABELS[other]})"
    if st.button(label, key="curve_check"):
        ss["curve_check_request"] = (*request[:-1], other)
    check = ss["curve_check_request"]
    if check is None or tuple(check[:-1]) != tuple(request[:-1]) or check[-1] == probe:
        return
    progress = cache.LiveProgress(f"Computing the curve with the {other} probe")
    with user_errors():
        # check holds curve_cached's positional arguments (as the page's request does); mypy
        # cannot tell that a tuple of unknown length stops before _progress.
        other_result = cache.curve_cached(  # type: ignore[misc]
            *check, _progress=progress, _imported=imported
        )
    progress.done()
    _render_comparison(verdicts, other_result, probe, other)


def _render_comparison(
    verdicts: pd.DataFrame, other_result: CurveResult, probe: str, other: str
) -> None:
    from core.analysis.verdicts import fraction_verdicts

    mine = verdicts[["keep_fraction", "best", "verdict"]]
    theirs = fraction_verdicts(other_result)[["keep_fraction", "best", "verdict"]]
    both = mine.merge(theirs, on="keep_fraction", suffixes=(f" ({probe})", f" ({other})"))
    if both.empty:
        st.info("The other probe gives no kept fraction below 1 to compare.")
        return
    same = int((both[f"best ({probe})"] == both[f"best ({other})"]).sum())
    wins_kept = int(
        (
            (both[f"verdict ({probe})"] == "win")
            & (both[f"verdict ({other})"] == "win")
            & (both[f"best ({probe})"] == both[f"best ({other})"])
        ).sum()
    )
    n_wins = int((both[f"verdict ({probe})"] == "win").sum())
    st.markdown(
        f"With the **{PROBE_LABELS[other]}** the best curve is the same at **{same} of "
        f"{len(both)}** kept fractions; {wins_kept} of the {n_wins} wins under the "
        f"{PROBE_LABELS[probe].lower()} are wins there too."
    )
    st.dataframe(both, hide_index=True, key="curve_check_table")
