"""AppTest of pages/1_Map.py (PCA projection from the conftest's environment)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.pages.conftest import page_path


def _run() -> AppTest:
    at = AppTest.from_file(page_path("1_Map.py"), default_timeout=120)
    at.run()
    assert not at.exception
    return at


def test_map_renders_with_every_colouring() -> None:
    at = _run()
    assert at.session_state["projection"] == "pca"
    assert at.get("plotly_chart")
    for colour in ("cluster", "label", "kept", "score"):
        at.radio(key="color_by").set_value(colour).run()
        assert not at.exception
        assert not at.error


def test_pins_survive_reruns_and_clear() -> None:
    at = AppTest.from_file(page_path("1_Map.py"), default_timeout=120)
    at.run()
    at.session_state["pins_keep"] = (3, 4)
    at.run()
    assert not at.exception
    assert any("2 always-keep" in c.value for c in at.caption)
    at.button[-1].click().run()  # "Clear pins"
    assert at.session_state["pins_keep"] == ()


def test_selected_rows_reads_customdata_as_the_browser_sends_it() -> None:
    from types import SimpleNamespace

    from ui.charts import selected_rows

    # Chromium + Streamlit 1.67 deliver a Scattergl point's customdata row as {"0": row, ...}.
    points = [
        {"customdata": {"0": 7, "1": 0.5, "2": 1}},
        {"customdata": [3, 0.1, 0]},
        {"customdata": {"0": -1, "1": 2}},  # a cluster-centre marker
        {"customdata": [7, 0.5, 1]},
        {"x": 1.0},
    ]
    assert selected_rows(SimpleNamespace(selection={"points": points})) == [3, 7]
    assert selected_rows(SimpleNamespace(selection={})) == []
    assert selected_rows(None) == []


def test_above_the_point_cap_only_the_plotted_subsample_is_projected(monkeypatch) -> None:
    import core.analysis.projection
    from ui import state

    projected: list[int] = []
    real = core.analysis.projection.project_2d

    def spy(embeddings, **kwargs):
        projected.append(len(embeddings))
        return real(embeddings, **kwargs)

    monkeypatch.setattr(state, "MAX_MAP_POINTS", 200)
    monkeypatch.setattr(core.analysis.projection, "project_2d", spy)
    at = _run()
    assert not at.error
    assert projected == [200]  # never the whole 600-row dataset
    assert any("Showing 200 of 600 points" in info.value for info in at.info)
    assert at.get("plotly_chart")


def _map_figure(at: AppTest) -> dict:
    import json

    return json.loads(at.get("plotly_chart")[0].proto.spec)


def test_cluster_centres_are_the_last_trace_outlined_and_explained() -> None:
    at = _run()
    at.radio(key="color_by").set_value("cluster").run()
    traces = _map_figure(at)["data"]
    assert traces[-1]["name"] == "cluster centres"
    assert all(t["type"] == "scattergl" for t in traces)  # one WebGL layer: order is draw order
    marker = traces[-1]["marker"]
    assert marker["symbol"] == "x"
    assert marker["size"] > traces[0]["marker"]["size"]
    assert marker["line"]["color"] == "white"
    assert marker["line"]["width"] > 0
    assert any("Crosses: cluster centres" in c.value for c in at.caption)


def test_knn_metric_draws_no_centres_and_drops_their_caption() -> None:
    at = _run()
    at.selectbox(key="metric").set_value("knn_density").run()
    assert not at.exception
    names = [t.get("name") for t in _map_figure(at)["data"]]
    assert "cluster centres" not in names
    assert not any("Crosses" in c.value for c in at.caption)


def test_score_colours_default_to_quantiles_with_labelled_percentiles() -> None:
    at = _run()
    assert at.session_state["score_scale"] == "quantile"
    marker = _map_figure(at)["data"][0]["marker"]
    assert (marker["cmin"], marker["cmax"]) == (0, 100)
    assert marker["colorbar"]["ticktext"][3].startswith("p50: ")
    at.radio(key="score_scale").set_value("linear").run()
    assert not at.exception
    assert "cmin" not in _map_figure(at)["data"][0]["marker"]
