"""AppTest: the sidebar's metric picker lists exactly the registered embedding metrics."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.scores.registry import METRICS, get_metric
from tests.pages.conftest import page_path


def test_sidebar_metric_options_are_the_registry() -> None:
    at = AppTest.from_file(page_path("2_Clusters.py"), default_timeout=120)
    at.run()
    assert not at.exception
    options = at.sidebar.selectbox(key="metric").options
    assert list(options) == [get_metric(m).label for m in METRICS]
