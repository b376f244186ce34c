"""2-D coordinates from a file (``python -m core project``'s (n, 2) .npy) opened beside the
embeddings: the Map draws exactly them, a wrong file is one error box, and they come back after
a reload. AppTest cannot upload files, so the files are opened by path (PRUNESCOPE_DATA_DIR)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import DATASET_KEY, page_path

N_ROWS = 40


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with 40 embeddings, their coordinates, and coordinates of another shape."""
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    np.save(data / "emb.npy", rng.normal(size=(N_ROWS, 5)).astype(np.float32))
    # Far from anything PCA of the embeddings could give: a line of points 100 apart.
    xy = np.column_stack([100.0 * np.arange(N_ROWS), rng.uniform(-5, 5, N_ROWS)])
    np.save(data / "xy.npy", xy.astype(np.float32))
    np.save(data / "xy_short.npy", xy[:-1].astype(np.float32))
    monkeypatch.setenv("PRUNESCOPE_DATA_DIR", str(data))
    return data


def _array(value: object) -> np.ndarray:
    """A Plotly JSON array: a list, or ``{"dtype", "bdata"}`` (base64) as Plotly 6+ writes it."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value, dtype=np.float64)


def _traces(at: AppTest) -> list[dict]:
    return json.loads(at.get("plotly_chart")[0].proto.spec)["data"]


def _drawn_xy(at: AppTest) -> np.ndarray:
    """The (n, 2) coordinates of the score-coloured markers, by dataset row (customdata[0])."""
    scatter = next(t for t in _traces(at) if t.get("name") == "score")
    rows = _array(scatter["customdata"]).reshape(-1, 3)[:, 0].astype(int)
    xy = np.full((rows.max() + 1, 2), np.nan)
    xy[rows, 0] = _array(scatter["x"])
    xy[rows, 1] = _array(scatter["y"])
    return xy


def _open_local(at: AppTest, embeddings: str, coords: str = "") -> AppTest:
    at.text_input(key="local_embeddings").set_value(embeddings)
    at.text_input(key="local_coords").set_value(coords).run()
    at.button(key="local_open").click()
    return at.run()


def _map_of(at: AppTest, **query: str) -> AppTest:
    """The Map in a new session on ``at``'s link (as a reload or a shared link opens it).

    (AppTest's ``switch_page`` cannot leave the landing page after an upload: it formats the
    dataset picker's value outside the session, where the upload's label is unknown.)
    """
    link = {**dict(at.query_params), **query}
    page = AppTest.from_file(page_path("1_Map.py"), default_timeout=60)
    page.query_params.update({name: value for name, value in link.items() if value})
    page.run()
    assert not page.exception
    return page


def _app() -> AppTest:
    at = AppTest.from_file(page_path("app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def test_the_map_draws_exactly_the_file_s_coordinates(folder: Path) -> None:
    at = _open_local(_app(), "emb.npy", "xy.npy")
    assert not at.exception
    assert not at.error
    key = at.session_state["dataset_key"]
    assert key.startswith("upload:")
    assert at.session_state["projection"] == "precomputed"
    assert at.query_params["projection"] == "precomputed"
    at = _map_of(at)
    assert not at.error
    radio = at.radio(key="projection")
    assert radio.value == "precomputed"
    assert radio.options == ["umap", "pca", "from file: xy.npy"]
    expected = np.load(folder / "xy.npy")
    np.testing.assert_array_equal(_drawn_xy(at), expected)
    assert any(f"Coordinates from xy.npy ({N_ROWS} × 2" in c.value for c in at.caption)
    # PCA is still one click away, and draws other coordinates.
    radio.set_value("pca").run()
    assert not at.exception
    assert not np.allclose(_drawn_xy(at), expected)
    assert at.query_params["projection"] == "pca"


def test_coordinates_of_another_shape_are_one_error_and_the_app_stays_usable(
    folder: Path,
) -> None:
    at = _open_local(_app(), "emb.npy", "xy_short.npy")
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Upload rejected: coordinates xy_short.npy has shape (39, 2) but the dataset has "
        "n=40 rows: expected shape (40, 2)"
    ]
    assert at.session_state["dataset_key"] == DATASET_KEY  # nothing half-loaded
    assert at.session_state["coords"] == {}
    _open_local(at, "emb.npy", "xy.npy")
    assert not at.error
    assert at.session_state["dataset_key"].startswith("upload:")


def test_the_coordinates_come_back_after_a_reload_and_a_restart(folder: Path) -> None:
    import streamlit as st

    landing = _open_local(_app(), "emb.npy", "xy.npy")
    link = dict(landing.query_params)
    expected = np.load(folder / "xy.npy")
    reloaded = _map_of(landing)
    assert reloaded.session_state["projection"] == "precomputed"
    np.testing.assert_array_equal(_drawn_xy(reloaded), expected)
    # A server restart: every in-memory cache gone; only the local store remains.
    st.cache_data.clear()
    st.cache_resource.clear()
    bare = _map_of(landing, projection="")  # a link without the projection
    assert not bare.error
    assert bare.session_state["dataset_key"] == link["dataset"]
    assert bare.session_state["projection"] == "precomputed"  # the dataset's coordinates
    np.testing.assert_array_equal(_drawn_xy(bare), expected)
    named = _map_of(landing, projection="pca")  # a link that names a projection keeps it
    assert named.session_state["projection"] == "pca"
    assert not np.allclose(_drawn_xy(named), expected)
    assert named.radio(key="projection").options == ["umap", "pca", "from file: xy.npy"]


def test_a_precomputed_link_without_coordinates_falls_back_with_a_note() -> None:
    at = AppTest.from_file(page_path("1_Map.py"), default_timeout=60)
    at.query_params.update({"projection": "precomputed"})
    at.run()
    assert not at.exception
    assert not at.error
    assert at.session_state["projection"] == "pca"  # the conftest's default projection
    assert any("has no 2-D coordinates from a file" in i.value for i in at.info)
    assert at.radio(key="projection").options == ["umap", "pca"]
    assert at.get("plotly_chart")


def test_coordinates_opened_for_the_current_dataset_key_the_raster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.analysis.map_regions import density_grid
    from ui import state

    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(1)
    first = rng.normal(size=(600, 2)).astype(np.float32)
    second = (50.0 + 3.0 * rng.normal(size=(600, 2))).astype(np.float32)
    np.save(data / "a.npy", first)
    np.save(data / "b.npy", second)
    np.save(data / "short.npy", first[:10])
    monkeypatch.setenv("PRUNESCOPE_DATA_DIR", str(data))
    monkeypatch.setattr(state, "MAX_SCATTER_POINTS", 200)  # the 600 rows are drawn as a raster
    monkeypatch.setattr(state, "MAP_OVERLAY_POINTS", 150)

    at = _app()
    at.text_input(key="attach_coords_path").set_value("short.npy").run()
    at.button(key="coords_attach").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Coordinates rejected: coordinates short.npy has shape (10, 2) but the dataset has "
        "n=600 rows: expected shape (600, 2)"
    ]
    for name, coords in (("a.npy", first), ("b.npy", second)):
        at.switch_page("app.py").run()
        at.text_input(key="attach_coords_path").set_value(name).run()
        at.button(key="coords_attach").click().run()
        assert not at.exception
        assert any(f"Opened {name} (600 × 2)" in s.value for s in at.success)
        at.switch_page("pages/1_Map.py").run()
        assert not at.exception
        assert not at.error
        heatmap = _traces(at)[0]
        assert heatmap["type"] == "heatmap"
        _, x_centres, y_centres = density_grid(coords, bins=state.DENSITY_BINS)
        # The raster of this file, never the cached one of the file opened before it.
        np.testing.assert_allclose(_array(heatmap["x"]), x_centres, rtol=1e-6)
        np.testing.assert_allclose(_array(heatmap["y"]), y_centres, rtol=1e-6)
        drawn = _drawn_xy(at)
        rows = np.flatnonzero(~np.isnan(drawn[:, 0]))
        assert len(rows) == 150
        np.testing.assert_array_equal(drawn[rows], coords[rows])
        centres = next(t for t in _traces(at) if t.get("name") == "cluster centres")
        assert _array(centres["x"]).min() >= coords[:, 0].min()
        assert _array(centres["x"]).max() <= coords[:, 0].max()

    at.switch_page("app.py").run()
    at.button(key="coords_forget").click().run()
    assert not at.exception
    assert at.session_state["projection"] == "pca"
    at.switch_page("pages/1_Map.py").run()
    assert at.radio(key="projection").options == ["umap", "pca"]


def _upload_with_coords(rows: int) -> None:
    """What the Embeddings tab's button runs, with a coordinates file of ``rows`` rows."""
    import io

    import numpy as np
    import streamlit as st

    from ui import state as ui_state
    from ui.upload_panel import _finish
    from ui.uploads import dataset_from_embedding_upload

    def npy(array: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue()

    ui_state.init_state()
    if st.session_state["dataset_key"].startswith("upload:"):
        return  # uploaded on the first run; the rerun has nothing more to do
    rng = np.random.default_rng(0)
    xy = np.column_stack([np.arange(rows), np.arange(rows) ** 2]).astype(np.float32)
    _finish(
        dataset_from_embedding_upload,
        "Reading embeddings",
        embeddings_name="vectors.npy",
        embeddings_bytes=npy(rng.normal(size=(30, 4)).astype(np.float32)),
        coords_name="map.npy",
        coords_bytes=npy(xy),
    )


def test_uploaded_coordinates_are_checked_and_kept_with_the_upload() -> None:
    from core.io.store import load_coords

    wrong = AppTest.from_function(_upload_with_coords, args=(29,), default_timeout=60).run()
    assert not wrong.exception
    assert [e.value for e in wrong.error] == [
        "Upload rejected: coordinates map.npy has shape (29, 2) but the dataset has n=30 rows: "
        "expected shape (30, 2)"
    ]
    assert wrong.session_state["uploaded"] == {}  # the embeddings are not loaded either
    right = AppTest.from_function(_upload_with_coords, args=(30,), default_timeout=60).run()
    assert not right.exception
    assert not right.error
    key = right.session_state["dataset_key"]
    assert key.startswith("upload:")
    assert right.session_state["projection"] == "precomputed"
    expected = np.column_stack([np.arange(30), np.arange(30) ** 2]).astype(np.float32)
    np.testing.assert_array_equal(right.session_state["coords"][key].coords, expected)
    stored = load_coords(key, n_examples=30)  # what a reload or a restart finds
    assert stored is not None
    assert stored.name == "map.npy"
    np.testing.assert_array_equal(stored.coords, expected)
    page = AppTest.from_file(page_path("1_Map.py"), default_timeout=60)
    page.query_params.update({"dataset": key})
    page.run()
    assert not page.exception
    np.testing.assert_array_equal(_drawn_xy(page), expected)


def test_switching_to_a_dataset_without_coordinates_says_the_map_changed(folder: Path) -> None:
    at = _map_of(_open_local(_app(), "emb.npy", "xy.npy"))
    assert at.session_state["projection"] == "precomputed"
    at.session_state["dataset_key"] = DATASET_KEY  # what the landing page's picker sets
    at.run()
    assert not at.exception
    assert at.session_state["projection"] == "pca"  # the conftest's default projection
    notes = [i.value for i in at.info if "coordinates from a file" in i.value]
    assert notes == [
        "the Map shows a PCA map: the 2-D coordinates from a file belonged to the previous dataset"
    ]
    at.run()  # a note is shown once
    assert not [i.value for i in at.info if "coordinates from a file" in i.value]
