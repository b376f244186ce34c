"""AppTest of pages/1_Map.py (PCA projection from the conftest's environment)."""

from __future__ import annotations

import json

import numpy as np
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


def test_above_the_scatter_cap_every_point_is_projected_and_drawn_as_density(monkeypatch) -> None:
    from ui import charts, state

    drawn: list[tuple[int, int]] = []
    real = charts.map_figure

    def spy(coords, indices, **kwargs):
        drawn.append((int(np.isfinite(coords).all(axis=1).sum()), len(indices)))
        return real(coords, indices, **kwargs)

    monkeypatch.setattr(state, "MAX_SCATTER_POINTS", 200)
    monkeypatch.setattr(state, "MAP_OVERLAY_POINTS", 150)
    monkeypatch.setattr(charts, "map_figure", spy)
    at = _run()
    assert not at.error
    assert any("All 600 points are drawn as a density map" in i.value for i in at.info)
    assert drawn == [(600, 150)]  # every point has coordinates; 150 markers over the raster
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert figure["data"][0]["type"] == "heatmap"


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


def test_a_box_on_the_raster_selects_every_point_inside() -> None:
    from types import SimpleNamespace

    from ui.map_view import MapView, selected_map_rows

    coords = np.array([[0.0, 0.0], [0.5, 0.5], [2.0, 2.0], [0.9, 0.1]])
    density = (np.zeros((2, 2)), np.zeros(2), np.zeros(2))
    event = SimpleNamespace(
        selection={"points": [{"customdata": [1]}], "box": [{"x": [1.0, -0.1], "y": [-0.1, 1]}]}
    )
    raster = MapView("pca", np.array([1]), density)
    assert selected_map_rows(event, raster, coords) == [0, 1, 3]  # not only the drawn row 1
    scatter = MapView("pca", np.arange(4), None)
    assert selected_map_rows(event, scatter, coords) == [1]
    lasso = SimpleNamespace(selection={"lasso": [{"x": [-1, 1, 1], "y": [-1, -1, 0.5]}]})
    assert selected_map_rows(lasso, raster, coords) == [3]


def test_umap_shows_the_pca_preview_while_it_computes(monkeypatch) -> None:
    import core.analysis.projection as projection
    from ui import map_view

    drawn: list[str] = []
    real_project, real_figure = projection.project_sampled, map_view.map_figure

    def fake_umap(embeddings, *, method, seed, progress=None, **kwargs):
        if progress is not None:
            progress(0.0, "UMAP starting")  # a cache miss reports progress first
        return real_project(embeddings, method="pca", seed=seed)

    def spy_figure(view, coords, **kwargs):
        drawn.append(view.method)
        return real_figure(view, coords, **kwargs)

    monkeypatch.setenv("PRUNESCOPE_PROJECTION", "umap")
    # No background start: a map fitted in the background before the page asks for it is
    # drawn at once without a preview (test_persistence covers that path).
    monkeypatch.setenv("PRUNESCOPE_WARMUP", "0")
    monkeypatch.setattr(projection, "project_sampled", fake_umap)
    monkeypatch.setattr(map_view, "map_figure", spy_figure)
    at = _run()
    assert at.session_state["projection"] == "umap"
    assert drawn == ["pca", "umap"]  # the preview first, then the UMAP map in its place
    assert len(at.get("plotly_chart")) == 1
