"""AppTest of pages/5_Theory.py: sliders drive the simulation; the table and the claims shown
are core's numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.analysis.theory import theory_curve, theory_summary

PAGE = str(Path(__file__).parents[2] / "pages" / "5_Theory.py")


@pytest.mark.slow
def test_small_theory_matches_core() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception
    # The default settings (N = 100, θ = 20°, 3 seeds) reproduce all three of the paper's claims.
    claims = next(m.value for m in at.markdown if "The paper's claims" in m.value)
    assert claims.count("✓ shown in this run") == 3, claims
    at.slider(key="theory_n").set_value(20)
    at.slider(key="theory_seeds").set_value(1)
    at.slider(key="theory_theta").set_value(20)
    at.run()
    assert not at.exception
    assert not at.error
    assert len(at.get("plotly_chart")) == 2
    assert any("Max-margin fits: all converged" in c.value for c in at.caption)
    claims = next(m.value for m in at.markdown if "The paper's claims" in m.value)
    # N = 20, θ = 20°: easy wins at small α_tot, hard at large, hard-few worse than random.
    assert claims.count("✓ shown in this run") == 3, claims
    assert "Sorscher" in at.markdown[0].value
    shown = at.dataframe[0].value
    expected = theory_summary(
        theory_curve(n=20, alpha_tot=16, keep_fraction=0.25, theta_deg=20, seeds=(0,))
    )
    assert len(shown) == len(expected) == (6 + 6) * 3
    np.testing.assert_array_equal(shown["error_mean"].to_numpy(), expected["error_mean"].to_numpy())


def test_frontier_section_shows_core_frontier() -> None:
    from core.analysis.theory import frontier_sweep

    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    at.slider(key="theory_n").set_value(20)
    at.slider(key="theory_seeds").set_value(1)
    at.slider(key="theory_theta").set_value(0)
    at.toggle(key="theory_frontier").set_value(True)
    at.run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 3
    shown = next(d.value for d in at.dataframe if "best_keep_fraction" in d.value.columns)
    expected = frontier_sweep(n=20, theta_deg=0.0, seeds=(0,)).frontier
    np.testing.assert_allclose(shown["error"].to_numpy(), expected["error"].to_numpy())
    assert any("Random pruning's fit" in c.value for c in at.caption)
