"""core.io.coords: the (n, 2) .npy of ``python -m core project`` read back, every bad file refused
from its header or its values, and coordinates kept per dataset in core.io.store."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from core.analysis.projection import project_sampled
from core.cli.project import coords_npy_bytes
from core.io import store
from core.io.coords import coords_digest, read_coords
from core.validate import check_coords


def _save(path: Path, array: np.ndarray) -> Path:
    np.save(path, array)  # np.save pickles object arrays by default: the reader must refuse them
    return path


def test_the_project_cli_bytes_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    embeddings = (rng.normal(size=(3, 6))[np.arange(90) % 3] + rng.normal(size=(90, 6))).astype(
        np.float32
    )
    projection = project_sampled(embeddings, method="pca", seed=0)
    path = tmp_path / "xy.npy"
    path.write_bytes(coords_npy_bytes(projection))
    coords = read_coords(path, n_rows=90)
    assert coords.dtype == np.float32
    assert coords.flags.c_contiguous
    assert coords.tobytes() == projection.coords.tobytes()


def test_other_real_dtypes_and_fortran_order_come_back_as_c_float32(tmp_path: Path) -> None:
    values = np.array([[1.5, -2.0], [3.0, 4.25], [0.0, 7.0]])
    for array in (values, np.asfortranarray(values), values.astype(np.int16)):
        coords = read_coords(_save(tmp_path / "xy.npy", array), n_rows=3)
        assert coords.dtype == np.float32
        assert coords.flags.c_contiguous
        np.testing.assert_array_equal(coords, np.asarray(array, dtype=np.float32))


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((4, 3), dtype=np.float32), r"should have 2 columns \(x, y\), shape \(4, 2\); "
         r"got shape \(4, 3\)"),
        (np.zeros(8, dtype=np.float32), r"should be 2-D with shape \(4, 2\), got 1-D shape \(8,\)"),
        (np.zeros((4, 2, 1), dtype=np.float32), r"should be 2-D .* got 3-D shape \(4, 2, 1\)"),
        (np.zeros((5, 2), dtype=np.float32), r"has shape \(5, 2\) but the dataset has n=4 rows: "
         r"expected shape \(4, 2\)"),
        (np.zeros((3, 2), dtype=np.float32), r"has shape \(3, 2\) .* expected shape \(4, 2\)"),
        (np.array([[1, 2]] * 4, dtype=object), r"holds objects \(dtype object\)"),
        (np.zeros((4, 2), dtype=bool), r"should hold real numbers, got dtype bool"),
        (np.zeros((4, 2), dtype=np.complex64), r"should hold real numbers, got dtype complex64"),
        (np.array([["a", "b"]] * 4), r"should hold real numbers, got dtype <U1"),
    ],
)  # fmt: skip
def test_bad_arrays_are_refused_from_the_header(
    tmp_path: Path, array: np.ndarray, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _save(tmp_path / "xy.npy", array)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("np.load ran before the header was checked")

    monkeypatch.setattr(np, "load", never)
    with pytest.raises(ValueError, match=r"^coordinates xy\.npy " + message):
        read_coords(path, n_rows=4)


def test_non_finite_rows_are_named(tmp_path: Path) -> None:
    array = np.zeros((10, 2), dtype=np.float64)
    array[3, 0] = np.nan
    array[7, 1] = np.inf
    array[8, 0] = 1e300  # finite in float64, inf once cast to float32
    with pytest.raises(ValueError, match=r"has 3 row\(s\) with NaN or inf .* first rows: 3, 7, 8$"):
        read_coords(_save(tmp_path / "xy.npy", array), n_rows=10)


def test_a_pickle_is_never_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "xy.npy"
    path.write_bytes(pickle.dumps(np.zeros((4, 2))))
    with pytest.raises(ValueError, match="pickled data is not accepted"):
        read_coords(path, n_rows=4)


def test_truncated_and_foreign_files_are_refused(tmp_path: Path) -> None:
    path = _save(tmp_path / "xy.npy", np.zeros((100, 2), dtype=np.float32))
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(ValueError, match=r"truncated: its header declares shape \(100, 2\)"):
        read_coords(path, n_rows=100)
    path.write_bytes(b"x,y\n1,2\n")
    with pytest.raises(ValueError, match=r"could not read xy\.npy: bad \.npy header"):
        read_coords(path, n_rows=1)
    with pytest.raises(ValueError, match=r"unsupported coordinates file extension '\.csv'"):
        read_coords(_save(tmp_path / "xy.csv.npy", np.zeros((1, 2))).rename(tmp_path / "xy.csv"),
                    n_rows=1)  # fmt: skip
    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(ValueError, match="is empty"):
        read_coords(tmp_path / "empty.npy", n_rows=1)
    with pytest.raises(FileNotFoundError):
        read_coords(tmp_path / "missing.npy", n_rows=1)
    with pytest.raises(ValueError, match=r"n_rows=0 should be an integer >= 1"):
        read_coords(path, n_rows=0)


def test_check_coords_names_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"should have shape \(3, 2\) .* got shape \(2, 2\)"):
        check_coords(np.zeros((2, 2)), 3)
    coords = np.ones((3, 2), dtype=np.float32)
    assert check_coords(coords, 3) is coords  # already right: no copy


def test_the_digest_follows_the_values() -> None:
    coords = np.arange(8, dtype=np.float32).reshape(4, 2)
    assert coords_digest(coords) == coords_digest(coords.astype(np.float64))
    moved = coords.copy()
    moved[2, 1] += 1
    assert coords_digest(moved) != coords_digest(coords)
    assert coords_digest(coords.reshape(2, 4)) != coords_digest(coords)


def test_coordinates_are_kept_per_dataset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PRUNESCOPE_CACHE_DIR", str(tmp_path / "cache"))
    first = np.arange(8, dtype=np.float32).reshape(4, 2)
    second = first[::-1].copy()
    assert store.load_coords("sample:a:ssl", n_examples=4) is None
    assert store.save_coords("sample:a:ssl", first, name="a.npy", digest=coords_digest(first))
    kept = store.load_coords("sample:a:ssl", n_examples=4)
    assert kept is not None
    assert (kept.name, kept.digest) == ("a.npy", coords_digest(first))
    np.testing.assert_array_equal(kept.coords, first)
    assert store.load_coords("sample:b:ssl", n_examples=4) is None  # another dataset: none
    assert store.load_coords("sample:a:ssl", n_examples=5) is None  # no longer its n: dropped
    store.save_coords("sample:a:ssl", second, name="b.npy", digest=coords_digest(second))
    replaced = store.load_coords("sample:a:ssl", n_examples=4)
    assert replaced is not None
    np.testing.assert_array_equal(replaced.coords, second)  # the newer file wins
    store.forget_coords("sample:a:ssl")
    assert store.load_coords("sample:a:ssl", n_examples=4) is None
