"""AppTest of the landing page's "Files on this machine" tab: only files in PRUNESCOPE_DATA_DIR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import page_path
from ui.uploads import REFUSED_PATH


def _open(at: AppTest, embeddings_path: str) -> AppTest:
    at.text_input(key="local_embeddings").set_value(embeddings_path).run()
    at.button(key="local_open").click()
    return at.run()


def _texts(at: AppTest) -> str:
    return " ".join(str(element.value) for element in (*at.error, *at.info, *at.markdown))


def test_default_settings_open_no_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRUNESCOPE_DATA_DIR", raising=False)
    at = AppTest.from_file(page_path("app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert "Opening files by path is off" in _texts(at)
    assert not [w for w in at.text_input if w.key == "local_embeddings"]


def test_default_settings_refuse_etc_passwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRUNESCOPE_DATA_DIR", raising=False)

    def script() -> None:
        from ui import state
        from ui.upload_panel import _finish
        from ui.uploads import dataset_from_local_files

        state.init_state()
        _finish(dataset_from_local_files, "Reading", embeddings_path="/etc/passwd")

    at = AppTest.from_function(script, default_timeout=60)
    at.run()
    assert not at.exception
    assert at.error[0].value.startswith("Upload rejected: opening files by path is off")
    assert "root" not in at.error[0].value


def test_files_inside_the_data_folder_open_and_outside_links_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    np.save(folder / "emb.npy", np.random.default_rng(0).normal(size=(40, 5)).astype(np.float32))
    np.save(tmp_path / "private.npy", np.ones((30, 3), dtype=np.float32))
    (folder / "escape.npy").symlink_to(tmp_path / "private.npy")
    monkeypatch.setenv("PRUNESCOPE_DATA_DIR", str(folder))
    at = AppTest.from_file(page_path("app.py"), default_timeout=120)
    at.run()
    _open(at, "escape.npy")
    assert not at.exception
    assert at.error[0].value == f"Upload rejected: {REFUSED_PATH}"
    _open(at, "/etc/passwd")
    assert at.error[0].value == f"Upload rejected: {REFUSED_PATH}"
    _open(at, str(folder / "emb.npy"))
    assert not at.exception
    assert not at.error
    values = {m.label: m.value for m in at.metric}
    assert values["Examples (N)"] == "40"
    assert values["Embedding dimension (d)"] == "5"
