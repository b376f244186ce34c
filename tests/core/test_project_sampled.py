"""core.analysis.projection.project_sampled: every row gets coordinates; same seed, same bytes."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis.projection import fit_sample, project_2d, project_sampled


def _blobs(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three tight, well separated blobs in 8-D (labels 0, 1, 2 in turn)."""
    rng = np.random.default_rng(seed)
    centres = 5.0 * np.eye(8)[:3] + 1.0
    labels = np.arange(n) % 3
    return (centres[labels] + 0.1 * rng.normal(size=(n, 8))).astype(np.float32), labels


def test_fit_sample_spans_the_first_component_and_is_seeded() -> None:
    x = np.random.default_rng(0).normal(size=(5000, 6)) * np.array([10, 1, 1, 1, 1, 1])
    rows = fit_sample(x, 300, seed=1)
    assert rows.size == 300
    assert np.array_equal(rows, np.unique(rows))
    assert {int(np.argmax(x[:, 0])), int(np.argmin(x[:, 0]))} <= set(rows.tolist())
    assert np.array_equal(rows, fit_sample(x, 300, seed=1))
    assert not np.array_equal(rows, fit_sample(x, 300, seed=2))
    assert np.array_equal(fit_sample(x[:200], 300), np.arange(200))


def test_pca_is_plain_project_2d_at_any_size() -> None:
    x, _ = _blobs(120)
    out = project_sampled(x, method="pca", max_fit=10)
    assert np.array_equal(out.coords, project_2d(x, method="pca").coords)
    assert out.params.fitted_rows is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_fit": 3}, "max_fit=3"),
        ({"k_place": 0}, "k_place=0"),
        ({"method": "tsne"}, "method='tsne'"),
    ],
)
def test_bad_options_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        project_sampled(np.zeros((10, 3)), **kwargs)


@pytest.mark.slow
def test_umap_on_a_sample_places_every_row_near_its_blob() -> None:
    x, labels = _blobs(600)
    out = project_sampled(x, method="umap", seed=0, max_fit=150, k_place=5)
    fitted = fit_sample(x / np.linalg.norm(x, axis=1, keepdims=True), 150, seed=0)
    assert out.coords.shape == (600, 2)
    assert np.isfinite(out.coords).all()
    assert out.params.fitted_rows == 150
    np.testing.assert_array_equal(
        out.coords[fitted], project_2d(x[fitted], method="umap", seed=0).coords
    )
    # Each placed row lies nearer its own blob's 2-D centre than any other blob's.
    centres = np.stack(
        [np.median(out.coords[fitted][labels[fitted] == c], axis=0) for c in range(3)]
    )
    nearest = np.argmin(np.linalg.norm(out.coords[:, None] - centres[None], axis=2), axis=1)
    assert np.array_equal(nearest, labels)
    again = project_sampled(x, method="umap", seed=0, max_fit=150, k_place=5)
    assert again.coords.tobytes() == out.coords.tobytes()
