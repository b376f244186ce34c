"""core.analysis.map_regions: box and lasso selection over all rows, and the density grid."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.analysis.map_regions import density_grid, rows_in_box, rows_in_polygon

SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])


def test_polygon_selects_the_points_inside_a_square() -> None:
    coords = np.array([[0.5, 0.5], [1.5, 0.5], [np.nan, 0.5], [0.2, 0.9], [-0.1, 0.5]])
    assert rows_in_polygon(coords, SQUARE).tolist() == [0, 3]


def test_polygon_handles_a_concave_lasso() -> None:
    # A "U": the notch (x in (1, 2), y > 1) is outside.
    u_shape = np.array([[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3]], float)
    coords = np.array([[0.5, 2.5], [1.5, 2.5], [2.5, 2.5], [1.5, 0.5]])
    assert rows_in_polygon(coords, u_shape).tolist() == [0, 2, 3]


def test_polygon_on_a_circle_matches_the_distance_rule() -> None:
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(20_000, 2))
    angles = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    circle = np.column_stack([np.cos(angles), np.sin(angles)])
    radius = np.hypot(coords[:, 0], coords[:, 1])
    inside = set(rows_in_polygon(coords, circle).tolist())
    assert set(np.flatnonzero(radius < 0.999).tolist()) <= inside
    assert inside <= set(np.flatnonzero(radius < 1.0).tolist())


@settings(max_examples=50, deadline=None)
@given(
    st.floats(-2, 2), st.floats(0.01, 3), st.floats(-2, 2), st.floats(0.01, 3), st.integers(0, 99)
)
def test_box_and_its_polygon_agree(x0: float, w: float, y0: float, h: float, seed: int) -> None:
    coords = np.random.default_rng(seed).uniform(-3, 3, size=(300, 2))
    corners = np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]])
    box = rows_in_box(coords, (x0 + w, x0), (y0, y0 + h))
    polygon = rows_in_polygon(coords, corners)
    assert np.array_equal(box, polygon)


def test_density_grid_counts_every_finite_point() -> None:
    coords = np.array([[0.0, 0.0], [0.0, 0.1], [1.0, 1.0], [np.nan, 0.0]])
    counts, xs, ys = density_grid(coords, bins=2)
    assert counts.sum() == 3
    assert counts[0, 0] == 2
    assert counts[1, 1] == 1
    assert xs.shape == ys.shape == (2,)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rows_in_polygon(np.zeros((3, 3)), SQUARE), "coords should have shape"),
        (lambda: rows_in_polygon(np.zeros((3, 2)), SQUARE[:2]), "m >= 3"),
        (lambda: rows_in_polygon(np.zeros((3, 2)), SQUARE * np.nan), "NaN or inf"),
        (lambda: density_grid(np.zeros((3, 2)), bins=0), "bins=0"),
    ],
)
def test_bad_regions_are_rejected(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
