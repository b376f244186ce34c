"""Upload glue (ui.uploads): image zips, text CSVs, corrupt files and the size limit."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from ui import uploads


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Capture register_upload (it writes to st.session_state, absent outside a page run)."""
    found: dict[str, object] = {}
    monkeypatch.setattr("ui.uploads.register_upload", found.__setitem__)
    return found


def _png(value: int) -> bytes:
    from PIL import Image

    pixels = np.full((6, 6), value, dtype=np.uint8)
    pixels[value % 6, :] = 255 - value  # every image differs
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_image_zip_with_labels_becomes_a_pixel_dataset(registered, tmp_path) -> None:
    members = {f"img_{i}.png": _png(10 * i) for i in range(6)}
    members["labels.csv"] = b"file,label\n" + b"".join(
        f"img_{i}.png,{'cat' if i < 3 else 'dog'}\n".encode() for i in range(6)
    )
    members["notes.txt"] = b"not an image"
    data = _zip(members)
    (tmp_path / "pets.zip").write_bytes(data)  # the same bytes a user would upload
    reports: list[float] = []
    key, dataset = uploads.dataset_from_image_zip(
        "pets.zip", data, embedding="pixels", progress=lambda f, m: reports.append(f)
    )
    assert registered[key] is dataset
    assert key.startswith("upload:")
    assert dataset.n == 6
    assert dataset.d == 36  # 6x6 pixels, flattened
    assert float(dataset.embeddings.max()) <= 1.0
    assert dataset.class_names == ("cat", "dog")
    assert dataset.thumbnails is not None
    assert dataset.thumbnails.shape[0] == 6
    assert dataset.media_kind == "image"
    assert [s.name for s in dataset.sources] == ["pets.zip"]
    assert dataset.sources[0].size == len(data)
    assert reports


def test_same_zip_same_key_other_embedding_other_key(registered) -> None:
    data = _zip({f"{i}.png": _png(30 * i) for i in range(3)})
    first, _ = uploads.dataset_from_image_zip("a.zip", data)
    again, _ = uploads.dataset_from_image_zip("a.zip", data)
    assert first == again
    with pytest.raises(ValueError, match="embedding='clip' should be 'pixels' or 'ssl'"):
        uploads.dataset_from_image_zip("a.zip", data, embedding="clip")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"PK\x03\x04 truncated rubbish", "bad.zip: not a valid zip file"),
        (b"plain text", "bad.zip: not a valid zip file"),
        (_zip({"readme.txt": b"no images here"}), "image"),
    ],
)
def test_corrupt_zip_is_a_value_error_naming_the_file(registered, data, match) -> None:
    with pytest.raises(ValueError, match=match):
        uploads.dataset_from_image_zip("bad.zip", data)
    assert not registered


@pytest.mark.slow  # loads the MiniLM model (~2.5 s in whichever test loads it first)
def test_text_csv_is_embedded_with_minilm(registered) -> None:
    csv = (
        b"id,text,label\n"
        b"t1,The cat sat on the mat.,animal\n"
        b"t2,A dog barked at the postman.,animal\n"
        b"t3,Stocks fell sharply on Monday.,finance\n"
        b't4,"Bond yields rose, again.",finance\n'
    )
    key, dataset = uploads.dataset_from_text_csv("news.csv", csv)
    assert registered[key] is dataset
    assert dataset.n == 4
    assert dataset.d == 384
    np.testing.assert_allclose(np.linalg.norm(dataset.embeddings, axis=1), 1.0, rtol=1e-5)
    assert list(dataset.ids) == ["t1", "t2", "t3", "t4"]
    assert dataset.class_names == ("animal", "finance")
    assert dataset.media_kind == "text"
    assert dataset.media is not None
    assert dataset.media[3] == "Bond yields rose, again."
    assert dataset.sources[0].name == "news.csv"


def test_text_csv_without_the_column_names_the_columns(registered) -> None:
    with pytest.raises(ValueError, match=r"news.csv has no 'text' column \(columns: id, body\)"):
        uploads.dataset_from_text_csv("news.csv", b"id,body\n1,hello\n")


def test_upload_limit_is_enforced_by_the_glue(monkeypatch, registered) -> None:
    monkeypatch.setattr(uploads, "MAX_UPLOAD_MB", 1)
    too_big = b"x" * (1024**2 + 1)
    expected = r"is 1,048,577 bytes, more than the 1 MB limit"
    with pytest.raises(ValueError, match="big.npy " + expected):
        uploads.dataset_from_embedding_upload("big.npy", too_big)
    with pytest.raises(ValueError, match="big.zip " + expected):
        uploads.dataset_from_image_zip("big.zip", too_big)
    with pytest.raises(ValueError, match="big.csv " + expected):
        uploads.dataset_from_text_csv("big.csv", too_big)
    ok = b"x" * (1024**2)  # exactly the limit passes the size check (and fails as not-a-zip)
    with pytest.raises(ValueError, match="not a valid zip"):
        uploads.dataset_from_image_zip("ok.zip", ok)
    assert not registered


def test_upload_limit_matches_the_streamlit_config() -> None:
    import tomllib
    from pathlib import Path

    config = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"
    assert tomllib.loads(config.read_text())["server"]["maxUploadSize"] == uploads.MAX_UPLOAD_MB


def test_rejected_upload_is_an_error_box_and_the_page_goes_on() -> None:
    from streamlit.testing.v1 import AppTest

    def script() -> None:
        import streamlit as st

        from ui import state
        from ui.upload_panel import _finish
        from ui.uploads import dataset_from_image_zip

        state.init_state()
        _finish(dataset_from_image_zip, "Embedding images", zip_name="bad.zip", zip_bytes=b"junk")
        st.markdown("still drawn")

    at = AppTest.from_function(script, default_timeout=60)
    at.run()
    assert not at.exception
    assert at.error[0].value.startswith("Upload rejected: bad.zip: not a valid zip file")
    assert at.markdown[-1].value == "still drawn"
    status = at.status[0]  # the progress box above the error
    assert status.label == "Embedding images failed"
    assert "done" not in status.label


def test_local_files_open_without_an_upload_and_name_the_real_files(
    registered, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRUNESCOPE_DATA_DIR", str(tmp_path))
    embeddings = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "emb.npy", embeddings)
    (tmp_path / "meta.csv").write_text("id,label\na,x\nb,y\nc,x\nd,y\n")
    key, dataset = uploads.dataset_from_local_files(
        str(tmp_path / "emb.npy"), f"  {tmp_path / 'meta.csv'}  "
    )
    np.testing.assert_array_equal(dataset.embeddings, embeddings)
    assert list(dataset.ids) == ["a", "b", "c", "d"]
    assert [s.name for s in dataset.sources] == ["emb.npy", "meta.csv"]
    assert registered[key] is dataset
    again, _ = uploads.dataset_from_local_files("emb.npy", "meta.csv")  # relative to the folder
    assert again == key  # same files, same key


def test_local_files_bad_paths_and_switch(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRUNESCOPE_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="not a file inside the data folder"):
        uploads.dataset_from_local_files(str(tmp_path / "missing.npy"))
    with pytest.raises(ValueError, match="give the path of an embeddings file"):
        uploads.dataset_from_local_files("   ")
    (tmp_path / "bad.npy").write_bytes(b"not numpy at all")
    with pytest.raises(ValueError, match=r"bad\.npy"):
        uploads.dataset_from_local_files(str(tmp_path / "bad.npy"))
    monkeypatch.setenv("PRUNESCOPE_LOCAL_FILES", "0")
    assert not uploads.local_files_enabled()
    with pytest.raises(ValueError, match="turned off"):
        uploads.dataset_from_local_files(str(tmp_path / "bad.npy"))


def test_ssl_upload_progress_names_each_phase_with_its_share_of_the_work(registered) -> None:
    data = _zip({f"{('cat', 'dog')[i % 2]}/{i}.png": _png(10 * i) for i in range(8)})
    reports: list[tuple[float, str]] = []
    _, dataset = uploads.dataset_from_image_zip(
        "pets.zip",
        data,
        embedding="ssl",
        epochs=1,
        progress=lambda f, m: reports.append((f, m)),
    )
    assert dataset.class_names == ("cat", "dog")  # ImageFolder labels in the app upload too
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions)
    phases = [m.split(":")[0] for _, m in reports]
    assert list(dict.fromkeys(phases)) == [
        "reading the zip",
        "training the SSL encoder on CPU",
        "embedding with the encoder",
    ]
    # Reading is a sliver of the bar; training starts being announced as soon as it starts.
    assert max(f for f, m in reports if m.startswith("reading")) <= 0.05
    assert min(f for f, m in reports if m.startswith("training")) == pytest.approx(0.05)
    assert reports[-1][0] == 1.0


def test_paths_are_refused_without_a_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRUNESCOPE_DATA_DIR", raising=False)
    assert uploads.data_dir() is None
    with pytest.raises(ValueError, match="opening files by path is off"):
        uploads.dataset_from_local_files("/etc/passwd")


def test_outside_paths_get_one_message_whether_or_not_they_exist(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = tmp_path / "data"
    inside.mkdir()
    secret = tmp_path / "secret.csv"
    secret.write_text("0,1\n2,3\n")
    monkeypatch.setenv("PRUNESCOPE_DATA_DIR", str(inside))
    messages = []
    for given in (str(secret), str(tmp_path / "absent.csv"), "../secret.csv", "/etc/passwd"):
        with pytest.raises(ValueError) as caught:
            uploads.dataset_from_local_files(given)
        messages.append(str(caught.value))
    assert set(messages) == {uploads.REFUSED_PATH}
    (inside / "sub").mkdir()
    with pytest.raises(ValueError, match="not a file inside"):  # a folder is not a file
        uploads.dataset_from_local_files("sub")


def test_symlinks_are_resolved_before_the_check(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    inside = tmp_path / "data"
    inside.mkdir()
    outside = tmp_path / "outside.npy"
    np.save(outside, np.ones((3, 2), dtype=np.float32))
    (inside / "link.npy").symlink_to(outside)
    (inside / "loop.npy").symlink_to(inside / "loop.npy")
    monkeypatch.setenv("PRUNESCOPE_DATA_DIR", str(inside))
    for name in ("link.npy", "loop.npy"):
        with pytest.raises(ValueError, match="not a file inside the data folder"):
            uploads.dataset_from_local_files(str(inside / name))


def test_rejected_csv_opened_by_path_does_not_quote_its_contents(
    registered, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRUNESCOPE_DATA_DIR", str(tmp_path))
    (tmp_path / "emb.csv").write_text("user,password\nroot,hunter2\nadmin,swordfish\n")
    (tmp_path / "ok.npy").write_bytes(b"")
    np.save(tmp_path / "ok.npy", np.ones((2, 2), dtype=np.float32))
    (tmp_path / "meta.csv").write_text("id\nhunter2\nhunter2\n")
    for args in (("emb.csv",), ("ok.npy", "meta.csv")):
        with pytest.raises(ValueError) as caught:
            uploads.dataset_from_local_files(*args)
        message = str(caught.value)
        assert not any(word in message for word in ("password", "hunter2", "root", "user"))
    assert "non-numeric columns" in str(caught.value) or "repeat" in str(caught.value)
