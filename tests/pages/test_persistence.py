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
