"""Tests for core.io.images: folders and zips of images, labels, and every documented bad input."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

import core.io.images as images_module
from core.io.images import (
    image_set_to_dataset,
    load_image_folder,
    load_image_zip,
    load_images,
    pixel_embeddings,
)


def _png(value: int, size: tuple[int, int] = (6, 5), mode: str = "L") -> bytes:
    from PIL import Image

    array = np.full((size[1], size[0]), value, dtype=np.uint8)
    image = Image.fromarray(array)
    if mode != "L":
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_folder_with_labels_and_skips(tmp_path) -> None:
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.png").write_bytes(_png(10))
    (folder / "a.png").write_bytes(_png(20))
    (folder / "sub" / "c.PNG").write_bytes(_png(30))
    (folder / "notes.txt").write_text("hello")
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    labels = tmp_path / "labels.csv"
    labels.write_text("file,label\na.png,cat\nb.png,dog\nsub/c.PNG,cat\nbroken.png,dog\n")
    result = load_image_folder(folder, labels_path=labels)
    assert result.names.tolist() == ["a.png", "b.png", "sub/c.PNG"]
    assert result.images.shape == (3, 5, 6)
    assert result.images.dtype == np.uint8
    assert result.images[:, 0, 0].tolist() == [20, 10, 30]
    assert result.labels.tolist() == ["cat", "dog", "cat"]
    assert result.n_skipped_non_image == 1
    assert result.n_skipped_corrupt == 1
    assert result.skipped == ("broken.png", "notes.txt")
    assert not result.resized


def test_zip_in_memory_with_embedded_labels_and_mixed_sizes(tmp_path) -> None:
    path = _zip(
        tmp_path / "x.zip",
        {
            "dir/": b"",
            "dir/one.png": _png(50, (10, 10)),
            "dir/two.jpg": _png(60, (40, 20)),  # PNG bytes under .jpg: PIL sniffs the format
            "three.png": _png(70, (8, 8), mode="RGB"),
            "labels.csv": b"id,label\none.png,1\ntwo.jpg,2\nthree.png,1\n",
            "__MACOSX/._one.png": b"junk",
        },
    )
    result = load_images(path)
    assert result.names.tolist() == ["dir/one.png", "dir/two.jpg", "three.png"]
    assert result.images.shape == (3, 32, 32)  # different sizes -> DEFAULT_SIZE, gray kept 2-D
    assert result.resized
    assert result.labels.tolist() == ["1", "2", "1"]
    assert result.n_skipped_non_image == 1
    assert result.n_skipped_corrupt == 0
    assert load_image_zip(path, size=8).images.shape == (3, 8, 8)


def test_colour_images_stay_rgb(tmp_path) -> None:
    from PIL import Image

    folder = tmp_path / "c"
    folder.mkdir()
    Image.new("RGB", (4, 4), (255, 0, 0)).save(folder / "red.png")
    Image.new("RGBA", (4, 4), (0, 255, 0, 0)).save(folder / "clear.png")
    result = load_images(folder)
    assert result.images.shape == (2, 4, 4, 3)
    assert result.images[0, 0, 0].tolist() == [0, 0, 0]  # transparent over black
    assert result.images[1, 0, 0].tolist() == [255, 0, 0]


def test_traversal_member_is_rejected(tmp_path) -> None:
    path = _zip(tmp_path / "evil.zip", {"ok.png": _png(1), "../evil.png": _png(2)})
    with pytest.raises(ValueError, match=r"unsafe member name '\.\./evil\.png'"):
        load_image_zip(path)
    path = _zip(tmp_path / "abs.zip", {"/etc/evil.png": _png(2)})
    with pytest.raises(ValueError, match="unsafe member name"):
        load_image_zip(path)
    path = _zip(tmp_path / "win.zip", {"a\\..\\..\\evil.png": _png(2)})
    with pytest.raises(ValueError, match="unsafe member name"):
        load_image_zip(path)


def test_non_image_and_corrupt_members_are_counted(tmp_path) -> None:
    path = _zip(
        tmp_path / "mixed.zip",
        {
            "good.png": _png(5),
            "readme.md": b"# hi",
            "data.bin": b"\x00\x01",
            "bad.png": b"\x89PNG\r\n\x1a\n garbage",
            "trunc.jpg": _png(5)[:30],
        },
    )
    result = load_image_zip(path)
    assert result.names.tolist() == ["good.png"]
    assert (result.n_skipped_non_image, result.n_skipped_corrupt) == (2, 2)
    assert "skipped 2 non-image and 2 unreadable" in result.summary()


def test_no_images_at_all(tmp_path) -> None:
    path = _zip(tmp_path / "none.zip", {"a.txt": b"x", "b.png": b"not png"})
    with pytest.raises(
        ValueError, match=r"no readable images.*skipped 1 non-image and 1 unreadable"
    ):
        load_image_zip(path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no readable images"):
        load_images(empty)


def test_oversize_zip_is_rejected(tmp_path, monkeypatch) -> None:
    path = _zip(tmp_path / "big.zip", {"a.png": _png(1), "b.png": _png(2)})
    monkeypatch.setattr(images_module, "MAX_ZIP_BYTES", 100)
    with pytest.raises(ValueError, match=r"big\.zip is \d+ bytes, more than the limit of 100"):
        load_image_zip(path)
    with pytest.raises(ValueError, match="more than the limit of 50 bytes"):
        load_image_zip(path, max_bytes=50)


def test_zip_bomb_is_rejected(tmp_path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.png", b"\x00" * 2_000_000)
    assert path.stat().st_size < 20_000
    with pytest.raises(ValueError, match="would decompress to 2000000 bytes, more than the limit"):
        load_image_zip(path, max_uncompressed_bytes=1_000_000)


def test_not_a_zip_and_missing_paths(tmp_path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK but not really")
    with pytest.raises(ValueError, match="not a valid zip"):
        load_image_zip(fake)
    with pytest.raises(FileNotFoundError):
        load_images(tmp_path / "missing")
    other = tmp_path / "x.txt"
    other.write_text("x")
    with pytest.raises(ValueError, match=r"expected a folder or a \.zip"):
        load_images(other)


def test_labels_problems(tmp_path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.png").write_bytes(_png(1))
    (folder / "b.png").write_bytes(_png(2))
    bad_columns = tmp_path / "l1.csv"
    bad_columns.write_text("name,class\na.png,x\n")
    with pytest.raises(ValueError, match="columns file,label or id,label"):
        load_images(folder, labels_path=bad_columns)
    missing = tmp_path / "l2.csv"
    missing.write_text("file,label\na.png,x\n")
    with pytest.raises(ValueError, match=r"no label for 1 of 2 images, first: b\.png"):
        load_images(folder, labels_path=missing)


def test_image_set_to_dataset(tmp_path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.png").write_bytes(_png(i * 40))
    image_set = load_images(folder)
    dataset = image_set_to_dataset(image_set, np.eye(3, dtype=np.float64), name="mine")
    assert dataset.n == 3
    assert dataset.embeddings.dtype == np.float32
    assert dataset.ids.tolist() == ["0.png", "1.png", "2.png"]
    assert dataset.media_kind == "image"
    assert dataset.thumbnails.shape == (3, 5, 6)
    assert dataset.labels is None
    assert dataset.name == "mine"


def test_pixel_embeddings_flatten_and_scale_to_unit_interval() -> None:
    images = np.array([[[0, 255], [51, 102]], [[255, 0], [0, 0]]], dtype=np.uint8)
    embeddings = pixel_embeddings(images)
    assert embeddings.dtype == np.float32
    expected = np.array([[0.0, 1.0, 0.2, 0.4], [1.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    np.testing.assert_array_equal(embeddings, expected)
    assert pixel_embeddings(np.zeros((3, 2, 2, 3), dtype=np.uint8)).shape == (3, 12)


def test_zip_with_class_folders_labels_each_image_by_its_folder(tmp_path) -> None:
    path = _zip(
        tmp_path / "folders.zip",
        {
            "pets/cat/a.png": _png(10),
            "pets/cat/b.png": _png(20),
            "pets/dog/c.png": _png(30),
            "pets/dog/sub/d.png": _png(40),  # deeper files keep their class folder
        },
    )
    result = load_image_zip(path)
    assert list(result.names) == [
        "pets/cat/a.png",
        "pets/cat/b.png",
        "pets/dog/c.png",
        "pets/dog/sub/d.png",
    ]
    assert list(result.labels) == ["cat", "cat", "dog", "dog"]


def test_labels_csv_wins_over_class_folders(tmp_path) -> None:
    path = _zip(
        tmp_path / "both.zip",
        {
            "cat/a.png": _png(10),
            "dog/b.png": _png(20),
            "labels.csv": b"file,label\ncat/a.png,x\ndog/b.png,y\n",
        },
    )
    assert list(load_image_zip(path).labels) == ["x", "y"]


@pytest.mark.parametrize(
    "members",
    [
        {"a.png": _png(1), "b.png": _png(2)},  # flat
        {"images/a.png": _png(1), "images/b.png": _png(2)},  # one folder: a wrapper, not a class
        {"cat/a.png": _png(1), "b.png": _png(2)},  # an image outside the class folders
    ],
)
def test_no_class_folder_layout_means_no_labels(tmp_path, members) -> None:
    assert load_image_zip(_zip(tmp_path / "x.zip", members)).labels is None


def test_folder_with_class_subfolders(tmp_path) -> None:
    for name, value in (("cat/a.png", 1), ("dog/b.png", 2)):
        (tmp_path / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / name).write_bytes(_png(value))
    assert list(load_images(tmp_path / "data").labels) == ["cat", "dog"]
