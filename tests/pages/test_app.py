"""AppTest of the landing page and of the upload glue (AppTest cannot drive file_uploader)."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import page_path
from ui.uploads import dataset_from_embedding_upload


def test_landing_page_summarises_the_default_dataset() -> None:
    at = AppTest.from_file(page_path("app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    values = {m.label: m.value for m in at.metric}
    assert values["Examples (N)"] == "600"
    assert values["Embedding dimension (d)"] == "16"
    assert values["Classes"] == "4"
    assert values["k-NN label accuracy"].endswith("%")
    assert at.session_state["k"] == 4  # core.scores.metrics.default_k: the number of classes


def test_settings_survive_a_page_switch() -> None:
    at = AppTest.from_file(page_path("app.py"), default_timeout=120)
    at.run()
    at.sidebar.number_input(key="seed").set_value(3).run()
    at.switch_page("pages/3_Prune_and_export.py").run()
    assert not at.exception
    at.switch_page("app.py").run()
    assert at.session_state["seed"] == 3


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_upload_glue_registers_a_dataset_under_its_sha256(monkeypatch) -> None:
    registered: dict[str, object] = {}
    monkeypatch.setattr("ui.uploads.register_upload", registered.__setitem__)
    embeddings = np.random.default_rng(0).normal(size=(20, 3))
    meta = b"id,label\n" + b"".join(f"e{i},{i % 2}\n".encode() for i in range(20))
    key, dataset = dataset_from_embedding_upload("emb.npy", _npy(embeddings), "meta.csv", meta)
    assert key.startswith("upload:")
    assert len(key) == len("upload:") + 64
    assert registered[key] is dataset
    assert dataset.n == 20
    assert dataset.n_classes == 2
    assert [s.name for s in dataset.sources] == ["emb.npy", "meta.csv"]


@pytest.mark.parametrize(
    ("name", "data", "meta", "match"),
    [
        (
            "emb.npy",
            _npy(np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]])),
            None,
            "NaN|inf|finite",
        ),
        ("emb.npy", b"not an npy file", None, "could not read emb.npy"),
        ("emb.npy", b"", None, "empty"),
        ("emb.npy", _npy(np.zeros((3, 2))), b"id,label\na,0\na,1\nb,0\n", "duplicate|unique"),
    ],
)
def test_bad_uploads_raise_value_error_with_core_message(name, data, meta, match) -> None:
    with pytest.raises(ValueError, match=match):
        dataset_from_embedding_upload(name, data, "meta.csv" if meta else None, meta)


def test_bad_upload_on_a_page_is_an_error_box_not_a_traceback() -> None:
    def script() -> None:
        import numpy as np  # noqa: F401

        from ui.errors import user_errors
        from ui.uploads import dataset_from_embedding_upload

        with user_errors(prefix="Upload rejected: "):
            dataset_from_embedding_upload("emb.npy", b"garbage")

    at = AppTest.from_function(script, default_timeout=60)
    at.run()
    assert not at.exception
    assert at.error
    assert at.error[0].value.startswith("Upload rejected: ")


def test_landing_page_shows_hardest_easiest_and_histogram_above_the_picker() -> None:
    at = AppTest.from_file(page_path("app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    headings = [h.value for h in at.subheader]
    assert headings.index("What prunescope finds here") < headings.index("Dataset")
    assert any(m.value.startswith("**Hardest 8**") for m in at.markdown)
    assert any(m.value.startswith("**Easiest 8**") for m in at.markdown)
    charts = at.get("vega_lite_chart")
    assert charts
    assert (
        json.loads(charts[0].proto.spec)["title"] == "Scores of all 600 examples (higher = harder)"
    )
    histogram = pa.ipc.open_stream(charts[0].proto.data.data).read_all().to_pandas()
    assert histogram.examples.sum() == 600
    tables = [t.value for t in at.dataframe]  # synthetic data has no images: tables
    assert tables[0]["score (higher = harder)"].is_monotonic_decreasing
    assert tables[1]["score (higher = harder)"].is_monotonic_increasing
