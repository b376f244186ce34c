"""Resource guards (core.io.guards): hostile inputs are one-line ValueErrors, exit 2 from the CLI."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from core.cli import main
from core.io import guards
from core.io.data import load_embeddings
from core.io.images import MAX_READ_SIDE, _decode, load_image_zip


def _header_only_npy(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """A .npy header declaring ``shape`` followed by no data at all."""
    buffer = io.BytesIO()
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    npy_format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _under_declared(zip_bytes: bytes, size: int = 10) -> bytes:
    """The zip with its one member's uncompressed size rewritten to ``size`` in both headers."""
    data = bytearray(zip_bytes)
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 22 : local + 26] = size.to_bytes(4, "little")
    data[central + 24 : central + 28] = size.to_bytes(4, "little")
    return bytes(data)


def _one_member_zip(name: str, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, payload)
    return buffer.getvalue()


def _cli_error(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> str:
    """Run the CLI, assert exit 2 with exactly one line on stderr, return that line."""
    code = main([str(arg) for arg in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1, err
    return err


def test_npy_header_declaring_a_huge_shape_is_refused_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.npy"
    path.write_bytes(_header_only_npy((10**12, 128)))
    with pytest.raises(ValueError, match=r"huge.npy \(declared shape \(1000000000000, 128\).*"):
        load_embeddings(path)
    err = _cli_error(capsys, "score", path, "--out", tmp_path / "s.csv")
    assert "more than the memory limit" in err
    assert not (tmp_path / "s.csv").exists()


def test_too_many_dimensions_are_refused(tmp_path: Path) -> None:
    (tmp_path / "wide.npy").write_bytes(_header_only_npy((10, 100_000)))
    with pytest.raises(ValueError, match="100,000 columns, more than the limit of d=65,536"):
        load_embeddings(tmp_path / "wide.npy")
    line = ",".join(str(i) for i in range(100_000))
    (tmp_path / "wide.csv").write_text(f"{line}\n{line}\n{line}\n")
    with pytest.raises(ValueError, match="100,000 columns, more than the limit of d=65,536"):
        load_embeddings(tmp_path / "wide.csv")


def test_npz_members_are_checked_by_declared_size_and_header(tmp_path: Path) -> None:
    huge = tmp_path / "huge.npz"
    huge.write_bytes(_one_member_zip("embeddings.npy", _header_only_npy((10**11, 64))))
    with pytest.raises(ValueError, match=r"huge.npz\[embeddings.npy\].*memory limit"):
        load_embeddings(huge)
    with guards.memory_limit_set(1000):
        payload = _npy_bytes(np.ones((100, 8), dtype=np.float32))
        (tmp_path / "big.npz").write_bytes(_one_member_zip("embeddings.npy", payload))
        with pytest.raises(ValueError, match=r"3,328 bytes unpacked.*memory limit of 1,000 bytes"):
            load_embeddings(tmp_path / "big.npz")


def test_zip_header_under_declaring_a_member_is_a_value_error(tmp_path: Path) -> None:
    payload = _npy_bytes(np.arange(200, dtype=np.float32).reshape(20, 10))
    (tmp_path / "lying.npz").write_bytes(_under_declared(_one_member_zip("a.npy", payload)))
    with pytest.raises(ValueError, match=r"lying.npz"):
        load_embeddings(tmp_path / "lying.npz")
    png = io.BytesIO()
    from PIL import Image

    Image.new("L", (16, 16), 90).save(png, format="PNG")
    (tmp_path / "lying.zip").write_bytes(_under_declared(_one_member_zip("a.png", png.getvalue())))
    with pytest.raises(ValueError, match=r"lying.zip: corrupt member 'a.png'"):
        load_image_zip(tmp_path / "lying.zip")


def test_large_images_are_downscaled_as_they_are_read() -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (3000, 1500), (10, 200, 30)).save(buffer, format="PNG")
    array = _decode(buffer.getvalue())
    assert array is not None
    assert max(array.shape[:2]) == MAX_READ_SIDE
    assert array.shape[:2] == (MAX_READ_SIDE // 2, MAX_READ_SIDE)
    jpeg = io.BytesIO()
    Image.new("RGB", (4000, 4000), (200, 0, 0)).save(jpeg, format="JPEG")
    array = _decode(jpeg.getvalue())
    assert array is not None
    assert array.shape[:2] == (MAX_READ_SIDE, MAX_READ_SIDE)


@pytest.mark.parametrize("dask", [False, True])
def test_fifo_input_never_hangs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dask: bool
) -> None:
    fifo = tmp_path / "emb.npy"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        load_embeddings(fifo)
    argv = ["score", fifo, "--out", tmp_path / "s.csv", *(["--dask"] if dask else [])]
    assert "not a regular file" in _cli_error(capsys, *argv)


def test_folders_and_symlink_loops_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loop = tmp_path / "loop.npy"
    loop.symlink_to(loop)
    with pytest.raises(ValueError, match="is a symlink loop"):
        load_embeddings(loop)
    assert "symlink loop" in _cli_error(capsys, "score", loop, "--out", tmp_path / "s.csv")
    zip_loop = tmp_path / "loop.zip"
    zip_loop.symlink_to(zip_loop)
    assert "symlink loop" in _cli_error(capsys, "embed", zip_loop, "--out", tmp_path / "e.npy")
    (tmp_path / "dir.npy").mkdir()
    assert "not a file" in _cli_error(
        capsys, "score", tmp_path / "dir.npy", "--out", tmp_path / "s.csv"
    )


def test_permission_denied_is_a_value_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "emb.npy"
    np.save(path, np.ones((3, 2), dtype=np.float32))
    monkeypatch.setattr(guards.os, "access", lambda *args: False)  # root could read anything
    with pytest.raises(ValueError, match=r"emb\.npy: permission denied"):
        load_embeddings(path)


def test_max_memory_refuses_planned_scoring_naming_estimate_and_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "emb.npy"
    np.save(path, np.random.default_rng(0).normal(size=(200, 8)).astype(np.float32))
    out = tmp_path / "s.csv"
    err = _cli_error(capsys, "score", path, "--k", "5", "--max-memory", "20K", "--out", out)
    assert "scoring 200 x 8 embeddings with k=5 needs about 20.3 KiB" in err
    assert "more than the memory limit of 20.0 KiB" in err
    assert main(["score", str(path), "--k", "5", "--max-memory", "1G", "--out", str(out)]) == 0
    capsys.readouterr()
    err = _cli_error(capsys, "score", path, "--max-memory", "lots", "--out", out)
    assert "memory size 'lots' should be like 512M" in err


def test_memory_limit_defaults_to_a_share_of_physical_memory() -> None:
    total = guards.physical_memory()
    assert total is not None
    assert guards.memory_limit() == int(total * guards.DEFAULT_MEMORY_SHARE)
    with guards.memory_limit_set(123):
        assert guards.memory_limit() == 123
    assert guards.parse_size("1.5GiB") == 3 * 1024**3 // 2
    assert guards.parse_size("512M") == 512 * 1024**2
    assert guards.parse_size("4096") == 4096
    for bad in ("", "0", "-3G", "inf", "G"):
        with pytest.raises(ValueError, match="memory size"):
            guards.parse_size(bad)
