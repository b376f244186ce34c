"""Glue of the Compare page and the Prune page's stability check: which metrics can be compared,
their scores, the k grid of a stability run and its per-k summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from core.analysis.stability import DEFAULT_SEEDS
from core.scores.registry import METRICS, get_metric
from ui import cache, imported
from ui.errors import user_errors

if TYPE_CHECKING:
    from core.analysis.stability import Stability
    from core.io.data import Dataset
    from ui.state import Settings

STABILITY_COLUMNS = ["k", "jaccard", "spearman", "always_kept"]


def metric_options(dataset: Dataset, dataset_key: str) -> list[str]:
    """The registered metrics this dataset can compute, then its imported scores."""
    has_labels = dataset.labels is not None
    names = [m for m in METRICS if has_labels or not get_metric(m).needs_labels]
    return names + list(imported.imported_scores(dataset_key))


def scores_of(settings: Settings, metrics: list[str]) -> dict[str, np.ndarray]:
    """Each metric's scores (higher = harder) with the sidebar's k, distance, backend and seed."""
    found = imported.imported_scores(settings.dataset_key)
    values: dict[str, np.ndarray] = {}
    for metric in metrics:
        if metric in found:
            values[metric] = found[metric].values
            continue
        progress = cache.LiveProgress(f"Scoring examples ({metric})")
        key = (settings.dataset_key, metric, *settings.key()[2:])
        with user_errors(prefix=f"{metric}: "):
            values[metric] = cache.scores_cached(*key, _progress=progress).values
        progress.done()
    return values


def compare_key(settings: Settings, metrics: list[str]) -> tuple[object, ...]:
    """Small values that name the compared scores (the cache key of ``cache.compare_cached``)."""
    return (*settings.key(), tuple(metrics), imported.digest(settings.dataset_key))


def default_ks(k: int, n: int) -> tuple[int, ...]:
    """k/2, k and 2k around the sidebar's k, within [2, n]."""
    return tuple(sorted({min(max(2, value), n) for value in (k // 2, k, 2 * k)}))


def parse_ks(text: str, k: int, n: int) -> tuple[int, ...]:
    """``"4, 8, 16"`` -> (4, 8, 16); empty text: :func:`default_ks`.

    Raises
    ------
    ValueError
        A value that is not an integer in [1, n].
    """
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    if not parts:
        return default_ks(k, n)
    try:
        ks = sorted({int(part) for part in parts})
    except ValueError:
        raise ValueError(f"k values should be integers separated by commas, got {text!r}") from None
    if ks[0] < 1 or ks[-1] > n:
        raise ValueError(f"every k should be in [1, n={n}], got {ks}")
    return tuple(ks)


def stability_table(results: dict[int, Stability]) -> pd.DataFrame:
    """One row per k: mean pairwise Jaccard and Spearman across seeds, share always kept."""
    rows = [
        (k, r.pairs["jaccard"].mean(), r.pairs["spearman"].mean(), r.always_kept_share)
        for k, r in sorted(results.items())
    ]
    return pd.DataFrame.from_records(rows, columns=STABILITY_COLUMNS)


def stability_sentence(result: Stability) -> str:
    """E.g. "93% of the kept set is kept in all 5 seeds"."""
    return (
        f"{result.always_kept_share:.0%} of the kept set is kept in all {len(result.runs)} seeds "
        f"(mean pairwise Jaccard {result.pairs['jaccard'].mean():.3f})."
    )


def render_stability_check(settings: Settings, strategy: str, keep_fraction: float) -> None:
    """Prune & export's "How stable is this pruning?": k-means over 5 seeds, on a click."""
    st.subheader("How stable is this pruning?")
    if imported.is_imported(settings.metric) or not get_metric(settings.metric).kmeans_based:
        st.caption(f"Only k-means metrics depend on a seed; {settings.metric} does not.")
        return
    request = (*settings.key()[:5], strategy, keep_fraction)
    if st.button(f"Re-run k-means with {len(DEFAULT_SEEDS)} seeds", key="prune_stability_run"):
        st.session_state["prune_stability_request"] = request
    if st.session_state["prune_stability_request"] != request:
        st.caption(
            f"Recomputes {settings.metric} with seeds {', '.join(map(str, DEFAULT_SEEDS))} at "
            f"k = {settings.k} and keeps {keep_fraction:.0%} ({strategy}, no balancing, no pins)."
        )
        return
    progress = cache.LiveProgress("Re-running k-means over seeds")
    try:
        results = cache.stability_cached(
            settings.dataset_key,
            settings.metric,
            (settings.k,),
            DEFAULT_SEEDS,
            keep_fraction,
            strategy,
            settings.distance,
            settings.backend,
            _progress=progress,
        )
    except (ValueError, OSError) as exc:
        progress.failed()
        st.warning(f"Could not measure stability: {exc}")
        return
    progress.done()
    st.info(stability_sentence(results[settings.k]))
