"""Tests for core.io.data: every supported format round-trips and every bad input is named."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.io.data import (
    Dataset,
    file_info,
    load_dataset,
    load_embeddings,
    load_metadata,
    make_dataset,
)


@pytest.fixture
def matrix() -> np.ndarray:
    """5 x 3 float32 values that are exact in binary and in decimal (multiples of 1/8)."""
    return (np.arange(15, dtype=np.float32).reshape(5, 3) - 7) / 8


# ------------------------------------------------------------------------ formats round-trip


def test_npy_round_trip_is_exact(tmp_path: Path) -> None:
    values = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    np.save(tmp_path / "emb.npy", values)
    loaded = load_embeddings(tmp_path / "emb.npy")
    assert loaded.dtype == np.float32
    assert loaded.flags.c_contiguous
    np.testing.assert_array_equal(loaded, values)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_npy_other_float_widths_are_held_as_float32(
    tmp_path: Path, matrix: np.ndarray, dtype: type
) -> None:
    np.save(tmp_path / "emb.npy", matrix.astype(dtype))
    loaded = load_embeddings(tmp_path / "emb.npy")
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, matrix)  # multiples of 1/8 are exact in float16


def test_npz_single_array_and_named_embeddings(tmp_path: Path, matrix: np.ndarray) -> None:
    np.savez(tmp_path / "one.npz", vectors=matrix)
    np.savez(tmp_path / "named.npz", ids=np.arange(5), embeddings=matrix)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "one.npz"), matrix)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "named.npz"), matrix)


def test_npz_with_several_unnamed_arrays_is_rejected(tmp_path: Path, matrix: np.ndarray) -> None:
    np.savez(tmp_path / "two.npz", a=matrix, b=matrix)
    with pytest.raises(ValueError, match=r"holds arrays \['a', 'b'\].*'embeddings'"):
        load_embeddings(tmp_path / "two.npz")


def test_csv_numeric_columns_round_trip_and_id_column_is_ignored(
    tmp_path: Path, matrix: np.ndarray
) -> None:
    frame = pd.DataFrame(matrix, columns=["x0", "x1", "x2"])
    frame.insert(0, "id", ["a", "b", "c", "d", "e"])
    frame.to_csv(tmp_path / "emb.csv", index=False)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "emb.csv"), matrix)


def test_parquet_numeric_columns_round_trip(tmp_path: Path, matrix: np.ndarray) -> None:
    pd.DataFrame(matrix, columns=["x0", "x1", "x2"]).to_parquet(tmp_path / "emb.parquet")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "emb.parquet"), matrix)


def test_parquet_list_column_round_trip(tmp_path: Path, matrix: np.ndarray) -> None:
    frame = pd.DataFrame({"id": np.arange(5), "embedding": list(matrix)})
    frame.to_parquet(tmp_path / "emb.parquet")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "emb.parquet"), matrix)


def test_csv_list_column_of_strings(tmp_path: Path) -> None:
    (tmp_path / "emb.csv").write_text(
        'id,embedding\na,"[0.5, -1.25, 3]"\nb,"[0.125, 2, -0.75]"\nc,[1 2 3]\n'
    )
    expected = np.array([[0.5, -1.25, 3], [0.125, 2, -0.75], [1, 2, 3]], dtype=np.float32)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "emb.csv"), expected)


def test_csv_list_column_with_ragged_rows_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "emb.csv").write_text('embedding\n"[1, 2]"\n"[3, 4]"\n"[5]"\n')
    with pytest.raises(ValueError, match=r"row 0 has 2 values, row 2 has 1"):
        load_embeddings(tmp_path / "emb.csv")


def test_csv_list_column_with_words_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "emb.csv").write_text('embedding\n"[1, 2]"\n"[3, x]"\n')
    with pytest.raises(ValueError, match=r"row 1 is not a list of numbers"):
        load_embeddings(tmp_path / "emb.csv")


def test_csv_text_columns_are_rejected_by_name(tmp_path: Path) -> None:
    (tmp_path / "emb.csv").write_text("x0,colour\n1,red\n2,blue\n")
    with pytest.raises(ValueError, match=r"non-numeric columns colour"):
        load_embeddings(tmp_path / "emb.csv")


# ------------------------------------------------------------------------------ bad inputs


def test_nan_and_inf_rows_are_counted_and_named(tmp_path: Path, matrix: np.ndarray) -> None:
    matrix[1, 0] = np.nan
    matrix[3, 2] = np.inf
    np.save(tmp_path / "emb.npy", matrix)
    with pytest.raises(ValueError, match=r"2 of 5 rows contain NaN or inf values \(rows 1, 3;"):
        load_embeddings(tmp_path / "emb.npy")
    with pytest.raises(ValueError, match=r"2 of 5 rows contain NaN or inf"):
        make_dataset(matrix)


def test_many_bad_rows_are_named_with_an_ellipsis() -> None:
    values = np.zeros((10, 2))
    values[::2, 1] = np.nan
    with pytest.raises(ValueError, match=r"5 of 10 rows .*\(rows 0, 2, 4, 6, 8;"):
        make_dataset(values)
    values[1::2, 1] = np.nan
    with pytest.raises(ValueError, match=r"rows 0, 1, 2, 3, 4, \.\.\.;"):
        make_dataset(values)


def test_float64_beyond_float32_range_counts_as_inf() -> None:
    with pytest.raises(ValueError, match=r"1 of 2 rows .*\(rows 1;"):
        make_dataset(np.array([[1.0, 2.0], [1e300, 0.0]]))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.zeros(4), r"should be 2-D \(n_examples, n_features\), got shape \(4,\)"),
        (np.zeros((2, 2, 2)), r"should be 2-D .*got shape \(2, 2, 2\)"),
        (np.zeros((1, 3)), r"at least 2 rows, got n_examples=1"),
        (np.zeros((0, 3)), r"at least 2 rows, got n_examples=0"),
        (np.zeros((3, 0)), r"at least 1 column, got shape \(3, 0\)"),
        (np.array([["a", "b"], ["c", "d"]]), r"should be real numbers .*got dtype <U1"),
    ],
)
def test_make_dataset_rejects_bad_shapes_and_types(values: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_dataset(values)


def test_not_2d_file_is_rejected(tmp_path: Path) -> None:
    np.save(tmp_path / "emb.npy", np.zeros(7, dtype=np.float32))
    with pytest.raises(ValueError, match=r"emb.npy should be 2-D.*\(7,\)"):
        load_embeddings(tmp_path / "emb.npy")


def test_single_row_file_is_rejected(tmp_path: Path) -> None:
    np.save(tmp_path / "emb.npy", np.zeros((1, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"at least 2 rows, got n_examples=1"):
        load_embeddings(tmp_path / "emb.npy")


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".parquet", ".csv"])
def test_empty_file_is_rejected(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"emb{suffix}"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=rf"emb{suffix} is empty"):
        load_embeddings(path)


def test_csv_with_header_only_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "emb.csv").write_text("x0,x1\n")
    with pytest.raises(ValueError, match=r"emb.csv has no rows"):
        load_embeddings(tmp_path / "emb.csv")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("emb.npy", b"this is not numpy", r"could not read emb.npy: not a NumPy .npy file"),
        ("emb.npz", b"PK\x03\x04 broken zip", r"could not read emb.npz"),
        ("emb.parquet", b"not parquet at all", r"could not read embeddings file emb.parquet"),
        ("emb.csv", b"\xff\xfe\x00 binary", r"could not read embeddings file emb.csv"),
    ],
)
def test_corrupt_files_are_rejected(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_embeddings(tmp_path / name)


def test_truncated_npy_is_rejected(tmp_path: Path, matrix: np.ndarray) -> None:
    np.save(tmp_path / "emb.npy", matrix)
    data = (tmp_path / "emb.npy").read_bytes()
    (tmp_path / "emb.npy").write_bytes(data[:-8])
    with pytest.raises(ValueError, match=r"could not read emb.npy"):
        load_embeddings(tmp_path / "emb.npy")


def test_object_npy_is_rejected_as_pickled(tmp_path: Path) -> None:
    np.save(tmp_path / "emb.npy", np.array([[1.0, "a"], [2.0, "b"]], dtype=object))
    with pytest.raises(ValueError, match=r"pickled/object arrays are not accepted"):
        load_embeddings(tmp_path / "emb.npy")


def test_object_array_inside_npz_is_rejected_as_pickled(tmp_path: Path) -> None:
    np.savez(tmp_path / "emb.npz", embeddings=np.array([[1.0, None], [2.0, 3]], dtype=object))
    with pytest.raises(ValueError, match=r"pickled/object arrays are not accepted"):
        load_embeddings(tmp_path / "emb.npz")


def test_plain_pickle_named_npy_is_rejected_without_unpickling(tmp_path: Path) -> None:
    (tmp_path / "emb.npy").write_bytes(pickle.dumps(np.zeros((3, 2))))
    with pytest.raises(ValueError, match=r"pickled/object arrays are not accepted"):
        load_embeddings(tmp_path / "emb.npy")


def test_object_array_in_memory_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"pickled/object arrays are not accepted"):
        make_dataset(np.array([[1, "a"], [2, "b"]], dtype=object))


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"not found") as caught:
        load_embeddings(tmp_path / "nope.npy")
    assert caught.value.filename == str(tmp_path / "nope.npy")


def test_unknown_extension_lists_the_supported_ones(tmp_path: Path) -> None:
    (tmp_path / "emb.txt").write_text("1 2\n3 4\n")
    with pytest.raises(ValueError, match=r"'\.txt' for emb.txt; supported: .npy, .npz, .parquet"):
        load_embeddings(tmp_path / "emb.txt")
    with pytest.raises(ValueError, match=r"supported: \.csv, \.parquet"):
        load_metadata(tmp_path / "emb.txt", n_rows=2)


def test_directory_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "emb.npy").mkdir()
    with pytest.raises(ValueError, match=r"is not a file"):
        load_embeddings(tmp_path / "emb.npy")


# ---------------------------------------------------------------------- ids, labels, media


def test_ids_default_to_row_numbers(matrix: np.ndarray) -> None:
    dataset = make_dataset(matrix)
    assert dataset.ids.tolist() == ["0", "1", "2", "3", "4"]
    assert (dataset.n, dataset.d, dataset.n_classes) == (5, 3, 0)
    assert dataset.labels is None
    assert dataset.label_strings() is None


def test_duplicate_ids_are_named(matrix: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"ids should be unique; 2 ids repeat: 'b', 'a'"):
        make_dataset(matrix, ids=["x", "b", "a", "b", "a"])


def test_missing_ids_are_named(matrix: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"1 ids are missing \(rows 2\)"):
        make_dataset(matrix, ids=np.array(["a", "b", None, "d", "e"], dtype=object))


def test_wrong_length_metadata_arrays_are_rejected(matrix: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"ids has 4 entries but embeddings have 5 rows"):
        make_dataset(matrix, ids=["a", "b", "c", "d"])
    with pytest.raises(ValueError, match=r"labels has 6 entries but embeddings have 5 rows"):
        make_dataset(matrix, labels=[0, 1, 0, 1, 0, 1])


def test_integer_labels_sort_numerically(matrix: np.ndarray) -> None:
    dataset = make_dataset(matrix, labels=["10", "2", "9", "2", "10"])
    assert dataset.class_names == ("2", "9", "10")
    assert dataset.labels.dtype == np.int64
    assert dataset.labels.tolist() == [2, 0, 1, 0, 2]
    assert dataset.label_strings().tolist() == ["10", "2", "9", "2", "10"]


def test_integral_float_labels_are_integers(matrix: np.ndarray) -> None:
    dataset = make_dataset(matrix, labels=np.array([3.0, 1.0, 1.0, 20.0, 3.0]))
    assert dataset.class_names == ("1", "3", "20")
    assert dataset.labels.tolist() == [1, 0, 0, 2, 1]


def test_text_labels_sort_lexicographically(matrix: np.ndarray) -> None:
    dataset = make_dataset(matrix, labels=["dog", "cat", "10", "2", "cat"])
    assert dataset.class_names == ("10", "2", "cat", "dog")
    assert dataset.labels.tolist() == [3, 2, 0, 1, 2]


def test_missing_labels_are_named(matrix: np.ndarray) -> None:
    labels = np.array(["a", np.nan, "b", None, "a"], dtype=object)
    with pytest.raises(ValueError, match=r"2 of 5 labels are missing \(rows 1, 3\)"):
        make_dataset(matrix, labels=labels)


def test_media_needs_a_kind(matrix: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"media_kind=None should be one of"):
        make_dataset(matrix, media=["a"] * 5)


def test_thumbnails_are_checked(matrix: np.ndarray) -> None:
    make_dataset(matrix, thumbnails=np.zeros((5, 8, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"thumbnails should be uint8"):
        make_dataset(matrix, thumbnails=np.zeros((5, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match=r"thumbnails has 4 entries"):
        make_dataset(matrix, thumbnails=np.zeros((4, 8, 8), dtype=np.uint8))


# ----------------------------------------------------------------------------- load_dataset


def _write(tmp_path: Path, matrix: np.ndarray, meta_csv: str) -> tuple[Path, Path]:
    np.save(tmp_path / "emb.npy", matrix)
    (tmp_path / "meta.csv").write_text(meta_csv)
    return tmp_path / "emb.npy", tmp_path / "meta.csv"


def test_load_dataset_with_metadata(tmp_path: Path, matrix: np.ndarray) -> None:
    emb, meta = _write(
        tmp_path,
        matrix,
        "id,label,path\n007,cat,a.png\n008,dog,b.png\n009,cat,c.png\n010,NA,\n011,dog,e.png\n",
    )
    dataset = load_dataset(emb, meta)
    assert isinstance(dataset, Dataset)
    np.testing.assert_array_equal(dataset.embeddings, matrix)
    assert dataset.ids.tolist() == ["007", "008", "009", "010", "011"]  # leading zeros kept
    assert dataset.class_names == ("NA", "cat", "dog")  # "NA" is a label, not a missing value
    assert dataset.labels.tolist() == [1, 2, 1, 0, 2]
    assert dataset.media.tolist() == ["a.png", "b.png", "c.png", "", "e.png"]
    assert dataset.media_kind == "image"
    assert dataset.name == "emb"
    assert [info.name for info in dataset.sources] == ["emb.npy", "meta.csv"]
    assert dataset.sources[0].sha256 == hashlib.sha256(emb.read_bytes()).hexdigest()


def test_load_dataset_without_metadata(tmp_path: Path, matrix: np.ndarray) -> None:
    np.save(tmp_path / "emb.npy", matrix)
    dataset = load_dataset(tmp_path / "emb.npy", name="tiny")
    assert dataset.ids.tolist() == ["0", "1", "2", "3", "4"]
    assert dataset.labels is None
    assert dataset.media is None
    assert dataset.name == "tiny"
    assert len(dataset.sources) == 1


def test_load_dataset_text_media_and_parquet_metadata(tmp_path: Path, matrix: np.ndarray) -> None:
    np.save(tmp_path / "emb.npy", matrix)
    meta = pd.DataFrame(
        {"id": [10, 11, 12, 13, 14], "text": list("abcde"), "label": [1, 0, 1, 0, 1]}
    )
    meta.to_parquet(tmp_path / "meta.parquet")
    dataset = load_dataset(tmp_path / "emb.npy", tmp_path / "meta.parquet")
    assert dataset.ids.tolist() == ["10", "11", "12", "13", "14"]
    assert dataset.class_names == ("0", "1")
    assert dataset.media_kind == "text"
    assert dataset.media.tolist() == list("abcde")


def test_metadata_length_mismatch_is_rejected(tmp_path: Path, matrix: np.ndarray) -> None:
    emb, meta = _write(tmp_path, matrix, "id,label\na,1\nb,2\nc,1\n")
    with pytest.raises(ValueError, match=r"meta.csv has 3 rows but the embeddings have 5 rows"):
        load_dataset(emb, meta)


def test_metadata_duplicate_ids_are_named(tmp_path: Path, matrix: np.ndarray) -> None:
    emb, meta = _write(tmp_path, matrix, "id\na\nb\na\nc\nc\n")
    with pytest.raises(ValueError, match=r"meta.csv: ids should be unique; 2 ids repeat: 'a', 'c'"):
        load_dataset(emb, meta)


def test_metadata_missing_labels_are_named(tmp_path: Path, matrix: np.ndarray) -> None:
    emb, meta = _write(tmp_path, matrix, "id,label\na,1\nb,\nc,1\nd,2\ne,\n")
    with pytest.raises(ValueError, match=r"2 of 5 labels are missing \(rows 1, 4\)"):
        load_dataset(emb, meta)


def test_metadata_named_column_must_exist(tmp_path: Path, matrix: np.ndarray) -> None:
    emb, meta = _write(tmp_path, matrix, "id,label\na,1\nb,1\nc,1\nd,2\ne,2\n")
    with pytest.raises(ValueError, match=r"no column 'species'; columns: \['id', 'label'\]"):
        load_dataset(emb, meta, label_column="species")
    with pytest.raises(ValueError, match=r"no media column 'img'"):
        load_dataset(emb, meta, media_column="img")


def test_empty_metadata_file_is_rejected(tmp_path: Path, matrix: np.ndarray) -> None:
    emb, meta = _write(tmp_path, matrix, "")
    with pytest.raises(ValueError, match=r"metadata file .*meta.csv is empty"):
        load_dataset(emb, meta)


def test_file_info_matches_hashlib(tmp_path: Path) -> None:
    data = b"prunescope" * 300_000  # > 1 MiB, so several blocks are hashed
    (tmp_path / "blob.bin").write_bytes(data)
    info = file_info(tmp_path / "blob.bin")
    assert (info.name, info.size) == ("blob.bin", len(data))
    assert info.sha256 == hashlib.sha256(data).hexdigest()


def test_image_media_kind_may_describe_thumbnails_alone() -> None:
    thumbnails = np.zeros((3, 4, 4), dtype=np.uint8)
    dataset = make_dataset(np.eye(3), thumbnails=thumbnails, media_kind="image")
    assert dataset.media_kind == "image"
    assert dataset.media is None


def test_media_kind_without_media_or_thumbnails_is_rejected() -> None:
    with pytest.raises(ValueError, match="media_kind='text' given without media"):
        make_dataset(np.eye(3), media_kind="text")
    with pytest.raises(ValueError, match="without media or thumbnails"):
        make_dataset(np.eye(3), media_kind="image")


def test_headerless_csv_keeps_its_first_row(tmp_path: Path, matrix: np.ndarray) -> None:
    pd.DataFrame(matrix).to_csv(tmp_path / "emb.csv", index=False, header=False)
    np.testing.assert_array_equal(load_embeddings(tmp_path / "emb.csv"), matrix)


def test_metadata_and_index_columns_are_not_dimensions(tmp_path: Path, matrix: np.ndarray) -> None:
    frame = pd.DataFrame(matrix, columns=["f0", "f1", "f2"])
    frame.to_csv(tmp_path / "with_index.csv")  # pandas writes an "Unnamed: 0" index column
    np.testing.assert_array_equal(load_embeddings(tmp_path / "with_index.csv"), matrix)
    frame.insert(0, "label", [3, 1, 2, 1, 3])
    frame.insert(0, "id", ["a", "b", "c", "d", "e"])
    frame.to_parquet(tmp_path / "with_label.parquet")
    np.testing.assert_array_equal(load_embeddings(tmp_path / "with_label.parquet"), matrix)
