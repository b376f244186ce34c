"""Links, the local store and per-dataset settings: a reload or a shared link shows the same view."""

from __future__ import annotations

import io

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import DATASET_KEY, page_path
from ui import state

OTHER_KEY = "synthetic:300:8:3:1"
SAMPLE_KEY = "sample:digits:pixels"


def _run(page: str = "app.py", **query: str) -> AppTest:
    at = AppTest.from_file(page_path(page), default_timeout=120)
    at.query_params.update(query)
    at.run()
    assert not at.exception
    return at


def _npy(rows: int = 40, seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.random.default_rng(seed).normal(size=(rows, 6)).astype(np.float32))
    return buffer.getvalue()


def test_the_url_carries_the_settings() -> None:
    at = _run()
    params = at.query_params
    assert params["dataset"] == DATASET_KEY
    assert (params["metric"], params["k"], params["seed"]) == ("ssp", "4", "0")
    assert (params["strategy"], params["keep"], params["balance"]) == ("keep_hard", "0.8", "label")
    at.session_state["keep_fraction"] = 0.55
    at.session_state["strategy"] = "ccs"
    at.run()
    assert (at.query_params["keep"], at.query_params["strategy"]) == ("0.55", "ccs")


def test_a_link_restores_the_settings_on_any_page() -> None:
    at = _run(
        "3_Prune_and_export.py",
        dataset=OTHER_KEY, metric="knn_density", k="7", seed="3", strategy="keep_easy",
        keep="0.42", balance="none",
    )  # fmt: skip
    ss = at.session_state
    assert ss["dataset_key"] == OTHER_KEY
    assert ss["metric"] == "knn_density"
    assert (ss["k"], ss["seed"], ss["strategy"], ss["balance_by"]) == (7, 3, "keep_easy", "none")
    assert at.slider(key="keep_fraction").value == 0.42
    assert at.query_params["k"] == "7"  # the first load kept the link's k


def test_bad_link_values_are_ignored_with_a_note() -> None:
    at = _run(dataset="upload:" + "0" * 64, k="-3", keep="nan", metric="nope", seed="1")
    assert not at.error
    note = " ".join(info.value for info in at.info)
    assert "Ignored from the link" in note
    assert "`k=-3`" in note
    assert "`keep=nan`" in note
    assert "`metric=nope`" in note
    assert "not in this machine's local cache" in note
    ss = at.session_state
    assert ss["dataset_key"] == DATASET_KEY
    assert ss["metric"] == "ssp"
    assert ss["seed"] == 1
    assert ss["keep_fraction"] == state.widget_default("keep_fraction")


def test_switching_dataset_resets_keep_fraction_and_pins_but_not_the_rest() -> None:
    at = _run()
    at.session_state["keep_fraction"] = 0.3
    at.session_state["seed"] = 5
    at.session_state["strategy"] = "random"
    at.session_state["pins_keep"] = (1, 2)
    at.run()
    at.selectbox(key="dataset_choice").set_value(SAMPLE_KEY).run()
    assert not at.exception
    ss = at.session_state
    assert ss["dataset_key"] == SAMPLE_KEY
    assert ss["keep_fraction"] == state.widget_default("keep_fraction")
    assert (ss["pins_keep"], ss["pins_drop"]) == ((), ())
    assert (ss["seed"], ss["strategy"], ss["k"]) == (5, "random", 10)  # k: the new default
    assert any(
        info.value.startswith("pins cleared: they belonged to synthetic blobs") for info in at.info
    )


def test_pins_survive_a_new_session() -> None:
    pinning = AppTest.from_function(_pin_rows, default_timeout=60)  # what the Map's buttons call
    pinning.run()
    assert not pinning.exception
    fresh = _run("3_Prune_and_export.py", dataset=DATASET_KEY)
    assert (fresh.session_state["pins_keep"], fresh.session_state["pins_drop"]) == ((3, 9), (4,))


def _pin_rows() -> None:
    from tests.pages.conftest import DATASET_KEY as KEY
    from ui import state as ui_state

    ui_state.init_state()
    import streamlit as st

    st.session_state["dataset_key"] = KEY
    ui_state.add_pins([3, 9], keep=True)
    ui_state.add_pins([4], keep=False)


def test_an_upload_comes_back_from_the_local_store_in_a_new_session() -> None:
    from ui import uploads

    key = _upload_in_session()
    fresh = _run(dataset=key, keep="0.33")
    assert fresh.session_state["dataset_key"] == key
    assert fresh.session_state["keep_fraction"] == 0.33
    assert "vectors" in [header.value for header in fresh.subheader]
    assert uploads.stored_upload_kind(key) == "embeddings"


def _upload_in_session() -> str:
    """Upload through the handler the landing page's button calls; it lands in the store."""
    import ui.uploads

    registered: dict[str, object] = {}
    real = ui.uploads.register_upload
    ui.uploads.register_upload = registered.__setitem__  # type: ignore[assignment]
    try:
        key, _ = ui.uploads.dataset_from_embedding_upload("vectors.npy", _npy())
    finally:
        ui.uploads.register_upload = real  # type: ignore[assignment]
    return key


def _zip_upload() -> str:
    """An image zip embedded by pixels through the landing page's handler (stored as it goes)."""
    import zipfile

    from PIL import Image

    import ui.uploads

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(12):
            image = io.BytesIO()
            pixels = np.full((6, 6), 20 * i, dtype=np.uint8)
            Image.fromarray(pixels, mode="L").save(image, format="PNG")
            archive.writestr(f"{('cat', 'dog')[i % 2]}/{i:02d}.png", image.getvalue())
    real = ui.uploads.register_upload
    ui.uploads.register_upload = lambda key, dataset: None  # type: ignore[assignment]
    try:
        key, _ = ui.uploads.dataset_from_image_zip("pets.zip", buffer.getvalue())
    finally:
        ui.uploads.register_upload = real  # type: ignore[assignment]
    return key


def test_embeddings_computed_here_can_be_downloaded() -> None:
    plain = _run(dataset=_upload_in_session())
    assert not plain.get("download_button")  # embeddings read from a file: nothing to download
    zipped = _run(dataset=_zip_upload())
    labels = [button.proto.label for button in zipped.get("download_button")]
    assert "Embeddings (.npy)" in labels
    assert "Ids and labels (.csv)" in labels


def test_clear_cache_empties_the_local_store() -> None:
    from core.io.store import store_usage

    _upload_in_session()
    at = _run()
    assert store_usage()[0] == 1
    at.button(key="clear_cache").click().run()
    assert not at.exception
    assert any("Cleared" in success.value for success in at.success)
    assert store_usage() == (0, 0)


def test_a_stored_upload_is_not_embedded_again(monkeypatch) -> None:
    key = _zip_upload()

    def refuse(images: np.ndarray) -> np.ndarray:
        raise AssertionError("embeddings were recomputed")

    monkeypatch.setattr("core.io.images.pixel_embeddings", refuse)
    assert _zip_upload() == key


def test_the_url_carries_the_page_controls_only_when_changed() -> None:
    at = _run("4_Validate.py")
    assert not {"v_fracs", "v_seeds", "v_strats", "t_n", "eps", "cmp"} & set(at.query_params)
    at.session_state["curve_fractions"] = [0.2, 0.5, 1.0]
    at.session_state["curve_strategies"] = ["keep_easy", "ccs"]
    at.session_state["curve_probe"] = "knn"
    at.session_state["theory_keep"] = 0.35
    at.session_state["dedup_epsilon"] = 0.0075
    at.session_state["compare_metrics"] = ["ssp", "random"]
    at.run()
    params = at.query_params
    assert (params["v_fracs"], params["v_strats"], params["v_probe"]) == (
        "0.2,0.5,1", "keep_easy,ccs", "knn",
    )  # fmt: skip
    assert (params["t_keep"], params["eps"], params["cmp"]) == ("0.35", "0.0075", "ssp,random")
    at.session_state["curve_probe"] = "logistic"  # back to its default: dropped from the URL
    at.run()
    assert "v_probe" not in at.query_params


def test_a_link_restores_the_validate_controls() -> None:
    at = _run(
        "4_Validate.py",
        v_fracs="0.2,0.5,1", v_seeds="2", v_balance="cluster", v_compare="knn_density,random",
        v_strats="keep_easy,ccs", v_unbal="1", v_probe="knn",
    )  # fmt: skip
    assert at.multiselect(key="curve_fractions").value == [0.2, 0.5, 1.0]
    assert at.number_input(key="curve_seeds").value == 2
    assert at.selectbox(key="curve_balance").value == "cluster"
    assert at.multiselect(key="curve_compare").value == ["knn_density", "random"]
    assert at.multiselect(key="curve_strategies").value == ["keep_easy", "ccs"]
    assert at.checkbox(key="curve_unbalanced").value is True
    assert at.selectbox(key="curve_probe").value == "knn"
    assert at.query_params["v_fracs"] == "0.2,0.5,1"  # written back unchanged


def test_a_link_restores_the_theory_and_deduplicate_controls() -> None:
    theory = _run("5_Theory.py", t_n="40", t_theta="10", t_seeds="1", t_keep="0.5", t_alpha="4")
    assert theory.slider(key="theory_n").value == 40
    assert theory.slider(key="theory_theta").value == 10
    assert theory.slider(key="theory_seeds").value == 1
    assert theory.slider(key="theory_keep").value == 0.5
    assert theory.select_slider(key="theory_alpha").value == 4.0
    assert _run(t_frontier="1").session_state["theory_frontier"] is True
    dedup = _run("6_Deduplicate.py", eps="0.0075", dedup_order="keep_easy", k="5")
    assert dedup.select_slider(key="dedup_epsilon").value == 0.0075
    assert dedup.radio(key="dedup_order").value == "keep_easy"
    assert dedup.session_state["k"] == 5


def test_a_link_restores_the_compared_metrics() -> None:
    at = _run("7_Compare.py", cmp="ssp,random")
    assert at.multiselect(key="compare_metrics").value == ["ssp", "random"]


def test_the_link_choices_match_the_page_widgets() -> None:
    from ui import links

    validate = _run("4_Validate.py")
    assert validate.multiselect(key="curve_fractions").options == [
        str(f) for f in links.CURVE_FRACTIONS
    ]
    theory = _run("5_Theory.py", t_seeds="1")
    assert theory.select_slider(key="theory_alpha").options == [str(a) for a in links.THEORY_ALPHAS]
    dedup = _run("6_Deduplicate.py")
    assert dedup.select_slider(key="dedup_epsilon").options == [
        f"{e:g}" for e in links.DEDUP_EPSILONS
    ]


def test_bad_page_control_values_are_ignored_with_a_note() -> None:
    bad = {
        "v_fracs": "0.2,0.25", "v_seeds": "11", "v_balance": "x", "v_compare": "ssp,ssp",
        "v_strats": "keep_hard,nope", "v_unbal": "yes", "v_probe": "svm", "t_n": "45",
        "t_theta": "-5", "t_keep": "0.33", "t_alpha": "3", "t_frontier": "2", "eps": "0.004",
        "cmp": "ssp,nope",
    }  # fmt: skip
    at = _run("4_Validate.py", t_seeds="2", **bad)
    assert not at.error
    note = " ".join(info.value for info in at.info)
    assert "Ignored from the link" in note
    for name, raw in bad.items():
        assert f"`{name}={raw}`" in note
    ss = at.session_state
    assert ss["theory_seeds"] == 2  # a good value next to bad ones still applies
    for key in ("curve_seeds", "curve_fractions", "curve_strategies", "theory_n", "dedup_epsilon"):
        assert ss[key] == state.widget_default(key)
    assert ss["compare_metrics"] == state.widget_default("compare_metrics")


def test_imported_scores_come_back_after_a_reload() -> None:
    from core.io.store import save_imported_scores
    from ui import cache

    n = cache.get_dataset(DATASET_KEY).n
    values = np.random.default_rng(5).normal(size=n)
    meta = {"score_file": "s.csv", "column": "loss", "higher_is_easier": False}
    # What an import in an earlier session left in the local store (ui.imported._keep).
    assert save_imported_scores(DATASET_KEY, "imported:loss", values, meta=meta)
    at = _run("3_Prune_and_export.py", dataset=DATASET_KEY, metric="imported:loss", keep="0.5")
    assert not at.error
    assert at.session_state["metric"] == "imported:loss"
    assert "imported:loss" in at.sidebar.selectbox(key="metric").options
    restored = at.session_state["imported_scores"][DATASET_KEY]["imported:loss"]
    np.testing.assert_array_equal(restored.values, values)
    assert restored.params.score_file == "s.csv"
    assert at.query_params["metric"] == "imported:loss"
    # Another dataset has no such scores: the link's metric falls back to SSP with a note.
    other = _run(dataset=OTHER_KEY, metric="imported:loss")
    assert other.session_state["metric"] == "ssp"
    assert any("imported:loss is not imported for this dataset" in i.value for i in other.info)


def test_a_umap_map_is_computed_once_per_machine(monkeypatch) -> None:
    """A new server process (in-memory caches empty) reads the UMAP map an earlier one stored;
    another seed, or a damaged stored file, computes it again."""
    import dataclasses

    import streamlit as st

    import core.analysis.projection as projection
    from ui import cache

    calls: list[int] = []

    def counted(embeddings, *, method, seed, progress=None):  # stands in for the UMAP fit
        calls.append(seed)
        coords = np.random.default_rng(seed).normal(size=(embeddings.shape[0], 2))
        params = projection.ProjectionParams(seed=seed, n_neighbors=15, min_dist=0.1, n_jobs=1)
        return projection.Projection(coords.astype(np.float32), method, params)

    monkeypatch.setattr(projection, "project_sampled", counted)
    first = cache.projection_cached(DATASET_KEY, "umap", 3)
    st.cache_data.clear()  # as a restart does
    again = cache.projection_cached(DATASET_KEY, "umap", 3)
    assert calls == [3]
    np.testing.assert_array_equal(again.coords, first.coords)
    assert dataclasses.asdict(again.params) == dataclasses.asdict(first.params)
    cache.projection_cached(DATASET_KEY, "umap", 4)
    assert calls == [3, 4]
    # A stored map that no longer has the dataset's shape is ignored and recomputed.
    digest = cache._projection_digest(cache.get_dataset(DATASET_KEY).embeddings, "umap", 3)
    from core.io.store import get_entry

    np.save(get_entry(digest).files["coords.npy"], np.zeros((5, 2), dtype=np.float32))
    st.cache_data.clear()
    cache.projection_cached(DATASET_KEY, "umap", 3)
    assert calls == [3, 4, 3]
    st.cache_data.clear()  # ... and stored again in its place
    np.testing.assert_array_equal(
        cache.projection_cached(DATASET_KEY, "umap", 3).coords, first.coords
    )
    assert calls == [3, 4, 3]


def test_the_map_is_computed_in_the_background_once(monkeypatch) -> None:
    """prefetch_umap starts the fit when a dataset opens; the Map then waits for that run (its
    progress relayed) instead of fitting again, and later requests read the stored map."""
    import threading

    import streamlit as st

    import core.analysis.projection as projection
    from ui import cache

    release = threading.Event()
    calls: list[int] = []

    def slow(embeddings, *, method, seed, progress=None):
        calls.append(seed)
        if progress is not None:  # None in the foreground without a progress box
            progress(0.5, "optimising the layout")
        release.wait(timeout=30)
        coords = np.random.default_rng(seed).normal(size=(embeddings.shape[0], 2))
        params = projection.ProjectionParams(seed=seed, n_neighbors=15, min_dist=0.1, n_jobs=1)
        return projection.Projection(coords.astype(np.float32), method, params)

    monkeypatch.setattr(projection, "project_sampled", slow)
    monkeypatch.setattr(projection, "warm_up_umap", lambda: None)
    monkeypatch.setenv("PRUNESCOPE_PROJECTION", "umap")  # the warm-up (and so the prefetch) is on
    st.cache_resource.clear()
    relayed: list[str] = []
    assert cache.prefetch_umap(DATASET_KEY, 2)
    assert not cache.prefetch_umap(DATASET_KEY, 2)  # already running: not started twice
    threading.Timer(1.0, release.set).start()
    result = cache.projection_cached(
        DATASET_KEY, "umap", 2, _progress=lambda fraction, message: relayed.append(message)
    )
    assert calls == [2]
    assert any("optimising the layout (started in the background" in m for m in relayed)
    st.cache_data.clear()
    again = cache.projection_cached(DATASET_KEY, "umap", 2)
    np.testing.assert_array_equal(again.coords, result.coords)
    assert calls == [2]
    assert not cache.prefetch_umap(DATASET_KEY, 2)  # stored: nothing to do

    # A run still queued behind another is cancelled by a newer request, or fitted in the
    # foreground when the Map asks for it first; neither waits for the run ahead of it.
    release.clear()
    calls.clear()
    assert cache.prefetch_umap(DATASET_KEY, 5)  # runs (blocked until released)
    for _ in range(200):  # until the pool's thread has picked it up
        if 5 in calls:
            break
        threading.Event().wait(0.05)
    assert cache.prefetch_umap(DATASET_KEY, 6)  # queued
    assert cache.prefetch_umap(DATASET_KEY, 7)  # queued; cancels seed 6's run
    release.set()
    foreground = cache.projection_cached(DATASET_KEY, "umap", 7)  # may still be queued: fitted here
    assert foreground.params.seed == 7
    cache.projection_cached(DATASET_KEY, "umap", 5)
    assert 6 not in calls
    assert calls.count(7) == 1
