"""AppTest of pages/2_Clusters.py."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.pages.conftest import page_path


def test_clusters_page_runs_and_switches_cluster() -> None:
    at = AppTest.from_file(page_path("2_Clusters.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert len(at.get("plotly_chart")) >= 4
    at.selectbox(key="cluster").set_value(2).run()
    assert not at.exception
    assert at.session_state["cluster"] == 2


def test_metric_without_clusters_explains_instead_of_charting() -> None:
    at = AppTest.from_file(page_path("2_Clusters.py"), default_timeout=120)
    at.run()
    at.sidebar.selectbox(key="metric").set_value("random").run()
    assert not at.exception
    assert at.info
    assert "no clusters" in at.info[0].value
