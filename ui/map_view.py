"""The Map's figure and selection: every point as a marker, or a density raster under a sample.

Up to ``state.MAX_SCATTER_POINTS`` every point is a WebGL marker and a box or lasso selects the
markers inside it. Above it the browser gets a density raster of every point with a stratified
sample of markers on top (hover, thumbnails), and a box or lasso selects every point inside it,
computed in core from all coordinates, not only the drawn sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ui import cache, charts, state

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from core.analysis.projection import Projection
    from core.io.data import Dataset
    from core.io.store import StoredCoords
    from core.scores.metrics import Scores


@dataclass(frozen=True, eq=False, slots=True)
class MapView:
    """What the Map draws for one projection method."""

    method: str
    rows: np.ndarray  # (m,) rows drawn as markers
    density: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # raster of all rows, or None
    coords_digest: str = ""  # "precomputed": the digest of the coordinates opened from a file

    @property
    def raster(self) -> bool:
        return self.density is not None


def map_view(
    settings: state.Settings, dataset: Dataset, method: str, found: StoredCoords | None = None
) -> MapView:
    """All rows as markers, or (above the cap) a sample of markers over a density raster.

    ``found``: the coordinates opened from a file, for ``method="precomputed"``; their digest
    keys the cached raster and cluster centres, so another file never gets this one's.
    """
    digest = found.digest if found is not None and method == state.PRECOMPUTED else ""
    if dataset.n <= state.MAX_SCATTER_POINTS:
        return MapView(method, np.arange(dataset.n, dtype=np.int64), None, digest)
    rows = cache.map_points_cached(*settings.key(), state.MAP_OVERLAY_POINTS)
    density = cache.density_cached(
        settings.dataset_key,
        method,
        settings.seed,
        state.DENSITY_BINS,
        digest,
        found.coords if digest and found is not None else None,
    )
    return MapView(method, rows, density, digest)


def map_figure(
    view: MapView,
    coords: np.ndarray,
    *,
    settings: state.Settings,
    dataset: Dataset,
    scores: Scores,
    color_by: str,
    kept_mask: np.ndarray | None,
    score_scale: str = "quantile",
) -> go.Figure:
    """``ui.charts.map_figure`` for the view, with the cluster centres of the same projection."""
    centroid_ids, centroid_xy = cache.centroid_coords_cached(
        view.method, *settings.key(), view.coords_digest, coords if view.coords_digest else None
    )
    return charts.map_figure(
        coords,
        view.rows,
        color_by=color_by,
        scores=scores.values,
        ids=dataset.ids,
        clusters=scores.clusters,
        labels=dataset.label_strings(),
        kept_mask=kept_mask,
        centroid_ids=centroid_ids,
        centroid_coords=centroid_xy,
        density=view.density,
        score_scale=score_scale,
    )


def projection_note(
    method: str,
    n: int,
    *,
    projection: Projection | None = None,
    found: StoredCoords | None = None,
) -> str:
    """Where the Map's coordinates come from, as the sentence under it."""
    if method == state.PRECOMPUTED and found is not None:
        return (
            f"Coordinates from {found.name} ({n:,} × 2, opened for this dataset; `python -m core "
            "project` writes them), drawn as given: nothing is projected here. "
        )
    if method == "umap":
        fitted = projection.params.fitted_rows if projection is not None else None
        if fitted and projection is not None:
            return (
                f"UMAP (umap-learn, random_state = seed, n_jobs = 1) fitted on a stratified "
                f"sample of {fitted:,} points; the other {n - int(fitted):,} sit at the weighted "
                f"mean of their {projection.params.k_place} nearest fitted neighbours (cosine). "
            )
        return (
            "UMAP (umap-learn) with random_state = seed and n_jobs = 1: single-threaded, so the "
            "layout is reproducible. "
        )
    return "PCA of the L2-normalised embeddings (first two components). "


def selected_map_rows(event: object, view: MapView, coords: np.ndarray) -> list[int]:
    """Rows selected with box/lasso: the markers inside, or on a raster every row inside."""
    if not view.raster:
        return charts.selected_rows(event)
    from core.analysis.map_regions import rows_in_polygon

    polygons = charts.selected_regions(event)
    if not polygons:
        return charts.selected_rows(event)
    inside = np.unique(np.concatenate([rows_in_polygon(coords, p) for p in polygons]))
    return [int(row) for row in inside]
