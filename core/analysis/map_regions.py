"""Regions of a 2-D map: the rows inside a drawn box or lasso, and a density grid of all points.

The Map draws a density raster of every point when there are too many for a scatter plot, with a
sample of points on top. A box or lasso drawn there must select every point inside it, not just
the drawn sample, so selection is computed here from the coordinates of all rows.
"""

from __future__ import annotations

import numpy as np


def rows_in_polygon(coords: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Rows whose 2-D point lies inside a polygon (even-odd rule, ray casting).

    Parameters
    ----------
    coords : ndarray of shape (n, 2)
        Rows with a NaN coordinate are never inside.
    polygon : ndarray of shape (m, 2)
        Vertices in order, m >= 3; the last edge closes back to the first vertex.

    Returns
    -------
    ndarray of shape (k,), int64
        Sorted row indices.

    Raises
    ------
    ValueError
        When coords is not (n, 2), or the polygon is not (m, 2) with m >= 3 finite vertices.
    """
    points = _checked_coords(coords)
    vertices = np.asarray(polygon, dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 2 or vertices.shape[0] < 3:
        raise ValueError(f"polygon should have shape (m, 2) with m >= 3, got {vertices.shape}")
    if not np.all(np.isfinite(vertices)):
        raise ValueError("polygon contains NaN or inf vertices")
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    # Only points in the bounding box can be inside: test those alone.
    candidates = np.flatnonzero(np.all((points >= lo) & (points <= hi), axis=1))
    x, y = points[candidates, 0], points[candidates, 1]
    inside = np.zeros(candidates.size, dtype=bool)
    x0, y0 = vertices[:, 0], vertices[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    for ax, ay, bx, by in zip(x0, y0, x1, y1, strict=True):
        crosses = (ay > y) != (by > y)
        if not crosses.any():
            continue
        # x of the edge at height y; only evaluated where the edge straddles y (ay != by there).
        at = ax + (y[crosses] - ay) * (bx - ax) / (by - ay)
        flip = np.zeros_like(inside)
        flip[crosses] = x[crosses] < at
        inside ^= flip
    return candidates[inside].astype(np.int64)


def rows_in_box(
    coords: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float]
) -> np.ndarray:
    """Rows whose 2-D point lies in the closed box ``x_range`` x ``y_range`` (either order).

    Returns sorted int64 row indices; NaN coordinates are never inside.
    """
    points = _checked_coords(coords)
    (xa, xb), (ya, yb) = sorted(map(float, x_range)), sorted(map(float, y_range))
    inside = (
        (points[:, 0] >= xa) & (points[:, 0] <= xb) & (points[:, 1] >= ya) & (points[:, 1] <= yb)
    )
    return np.flatnonzero(inside).astype(np.int64)


def density_grid(
    coords: np.ndarray, *, bins: int = 300
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point counts on a ``bins`` x ``bins`` grid over the finite coordinates.

    Returns
    -------
    counts : ndarray of shape (bins, bins), int64
        ``counts[j, i]`` counts the points in x-bin ``i`` and y-bin ``j`` (row = y, as images).
    x_centres, y_centres : ndarray of shape (bins,)
        Bin centres.
    """
    points = _checked_coords(coords)
    if bins < 1:
        raise ValueError(f"bins={bins} should be >= 1")
    points = points[np.all(np.isfinite(points), axis=1)]
    if points.shape[0] == 0:
        return np.zeros((bins, bins), dtype=np.int64), np.zeros(bins), np.zeros(bins)
    counts, x_edges, y_edges = np.histogram2d(points[:, 0], points[:, 1], bins=bins)
    return (
        counts.T.astype(np.int64),
        (x_edges[:-1] + x_edges[1:]) / 2,
        (y_edges[:-1] + y_edges[1:]) / 2,
    )


def _checked_coords(coords: np.ndarray) -> np.ndarray:
    points = np.asarray(coords, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"coords should have shape (n, 2), got {points.shape}")
    return points
