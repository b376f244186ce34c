"""Exports as one unit: staged writes, the manifest last, stale temporaries and SIGTERM."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from core import export
from core.cli import main
from core.export import check_export, remove_stale_temps, write_atomic_files


def _inputs(tmp_path: Path) -> Path:
    path = tmp_path / "emb.npy"
    np.save(path, np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32))
    return path


def test_manifest_is_written_last_and_describes_its_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emb = _inputs(tmp_path)
    out = tmp_path / "kept.csv"
    order: list[str] = []
    real_replace = os.replace

    def recording_replace(source: str, target: Path) -> None:
        order.append(Path(target).name)
        real_replace(source, target)

    monkeypatch.setattr(export.os, "replace", recording_replace)
    assert main(["prune", str(emb), "--keep", "0.5", "--k", "3", "--out", str(out)]) == 0
    monkeypatch.undo()
    assert order == ["kept.csv", "kept.manifest.json"]
    assert check_export(out)["n_kept"] == 20
    out.write_bytes(out.read_bytes() + b"39,39,0.5,0,\n")  # a CSV from another run
    with pytest.raises(ValueError, match="come from different runs"):
        check_export(out)


def test_stale_temporaries_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "kept.csv"
    stale = tmp_path / ".kept.csv.ab12cd_9.tmp"
    recent = tmp_path / ".kept.csv.zz99yy00.tmp"
    other = tmp_path / ".other.csv.ab12cd_9.tmp"
    unrelated = tmp_path / ".kept.csv.not-ours-at-all.tmp"
    for path in (stale, recent, other, unrelated):
        path.write_bytes(b"partial")
    old = time.time() - 2 * export.STALE_TEMP_SECONDS
    for path in (stale, other, unrelated):
        os.utime(path, (old, old))
    write_atomic_files([(target, b"new\n")])
    assert target.read_bytes() == b"new\n"
    assert not stale.exists()
    assert all(path.exists() for path in (recent, other, unrelated))
    assert remove_stale_temps(target, older_than=0) == [recent]


def test_sigterm_while_writing_removes_temporaries_and_keeps_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emb = _inputs(tmp_path)
    out = tmp_path / "kept.csv"
    out.write_bytes(b"old results\n")

    def killed_during_fsync(fd: int) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` would, mid-write
        raise AssertionError("the SIGTERM handler should have raised KeyboardInterrupt")

    monkeypatch.setattr(export.os, "fsync", killed_during_fsync)
    previous = signal.getsignal(signal.SIGTERM)
    code = main(["prune", str(emb), "--keep", "0.5", "--k", "3", "--out", str(out)])
    assert code == 130
    assert capsys.readouterr().err.endswith("error: interrupted\n")
    assert out.read_bytes() == b"old results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emb.npy", "kept.csv"]
    assert signal.getsignal(signal.SIGTERM) == previous  # restored after the command
