"""Check an exported CSV against the ``<stem>.manifest.json`` written beside it.

The manifest (``core.export.build_manifest``) already records what is needed: the CSV's size and
SHA-256 (``output``), the row count (``n_kept``, or ``n`` for a score export), the inputs' names,
sizes and SHA-256, and every parameter. :func:`verify_export` compares them; given a ``rerun``
function (the CLI's ``core.cli.verify.rerun_export`` re-runs ``prune``/``score`` with the recorded
parameters on the recorded input files found beside the CSV) it also compares the re-run's bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.export import CSV_COLUMNS, MANIFEST_FORMAT, machine_description

#: How far a re-run's scores may differ from the export's when the export was made on another
#: platform (CPU architecture, BLAS build or package versions): the k-means fit runs in float32,
#: and another BLAS kernel set may round its products differently (README, "Reproducibility").
RECOMPUTE_TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False, slots=True)
class VerifyReport:
    """What :func:`verify_export` found.

    Attributes
    ----------
    problems : tuple of str
        One sentence per difference, most basic first; empty when the export checks out.
    checks : tuple of str
        What was checked, in order (e.g. ``"csv sha256"``, ``"input emb.npy"``).
    """

    problems: tuple[str, ...]
    checks: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def manifest_path_for(csv_path: str | Path) -> Path:
    """``<dir>/<stem>.manifest.json`` for ``<dir>/<stem>.csv``."""
    path = Path(csv_path)
    return path.with_name(f"{path.stem}.manifest.json")


#: ``(folder, manifest) -> CSV bytes``: re-create an export from its manifest and the inputs in
#: ``folder``.
Rerun = Callable[[Path, dict[str, Any]], bytes]


def verify_export(csv_path: str | Path, *, rerun: Rerun | None = None) -> VerifyReport:
    """Check a CSV against its manifest: bytes, rows, order, inputs and (optionally) a re-run.

    Parameters
    ----------
    csv_path : str or Path
        An exported CSV with ``<stem>.manifest.json`` beside it.
    rerun : callable (folder, manifest) -> bytes, optional
        When given (and nothing else differs), re-create the export from the manifest and the
        inputs beside the CSV and compare the bytes; ``core.cli.verify.rerun_export`` re-runs the
        recorded ``prune``/``score`` command.

    Returns
    -------
    VerifyReport

    Raises
    ------
    FileNotFoundError
        When the CSV or its manifest does not exist.
    ValueError
        When the manifest is not a prunescope manifest, or ``rerun`` cannot re-create the export
        (inputs missing, a command that cannot be re-run).
    """
    path = Path(csv_path)
    data = path.read_bytes()
    manifest = _read_manifest(manifest_path_for(path))
    problems: list[str] = []
    checks: list[str] = []
    _check_rows(data, manifest, path.name, problems, checks)
    _check_bytes(data, manifest, path.name, problems, checks)
    _check_inputs(path.parent, manifest, problems, checks)
    if rerun is not None and not problems:
        checks.append("recompute")
        again = rerun(path.parent, manifest)
        if again != data:
            problem = _compare_rerun(again, data, manifest, checks)
            if problem:
                problems.append(problem)
    return VerifyReport(tuple(problems), tuple(checks))


# ----------------------------------------------------------------------------- private helpers


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.name} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{path.name} is not a {MANIFEST_FORMAT} manifest")
    return manifest


def _content_sha256(manifest: dict[str, Any]) -> str:
    """The documented rule of ``core.export.manifest_bytes``."""
    fields = {
        k: v
        for k, v in manifest.items()
        if k not in ("created_at", "threads", "machine", "content_sha256")
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _check_rows(
    data: bytes, manifest: dict[str, Any], name: str, problems: list[str], checks: list[str]
) -> None:
    checks.append("csv header, rows and order")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8", errors="replace"))))
    if not rows or tuple(rows[0]) != CSV_COLUMNS:
        problems.append(f"{name}: header should be {','.join(CSV_COLUMNS)}")
        return
    body = rows[1:]
    expected = manifest.get("n_kept")
    expected = manifest.get("n") if expected is None else expected
    if expected is not None and len(body) != expected:
        what = "n_kept" if manifest.get("n_kept") is not None else "n"
        problems.append(f"{name}: {len(body)} rows but the manifest records {what}={expected}")
    try:
        indices = [int(row[0]) for row in body]
    except (ValueError, IndexError):
        problems.append(f"{name}: the index column holds a non-integer")
        return
    unsorted = next((i for i in range(1, len(indices)) if indices[i] <= indices[i - 1]), None)
    if unsorted is not None:
        problems.append(f"{name}: index not strictly increasing at data row {unsorted}")
    n = manifest.get("n")
    if n is not None and indices and (min(indices) < 0 or max(indices) >= n):
        problems.append(f"{name}: an index lies outside [0, {n})")


def _check_bytes(
    data: bytes, manifest: dict[str, Any], name: str, problems: list[str], checks: list[str]
) -> None:
    checks.append("manifest content_sha256")
    if manifest.get("content_sha256") != _content_sha256(manifest):
        problems.append("the manifest was edited: its content_sha256 does not match its fields")
    output = manifest.get("output")
    if not isinstance(output, dict):
        problems.append("the manifest records no output file (size and sha256) to check")
        return
    checks.append("csv size and sha256")
    if output.get("name") not in (None, name):
        problems.append(f"the manifest describes {output.get('name')}, not {name}")
    if output.get("size") != len(data):
        problems.append(f"{name}: {len(data)} bytes but the manifest records {output.get('size')}")
    elif output.get("sha256") != hashlib.sha256(data).hexdigest():
        problems.append(f"{name}: sha256 differs from the manifest's (same size, other bytes)")


def _check_inputs(
    folder: Path, manifest: dict[str, Any], problems: list[str], checks: list[str]
) -> None:
    for entry in manifest.get("inputs") or []:
        path = folder / str(entry.get("name"))
        if not path.is_file():
            continue  # inputs are checked only when they lie beside the export
        checks.append(f"input {path.name}")
        if path.stat().st_size != entry.get("size"):
            problems.append(f"input {path.name}: size differs from the manifest's")
        elif _sha256(path) != entry.get("sha256"):
            problems.append(f"input {path.name}: sha256 differs from the manifest's")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _compare_rerun(
    rerun: bytes, data: bytes, manifest: dict[str, Any], checks: list[str]
) -> str | None:
    """The problem with a re-run's different bytes, or None when they are within tolerance.

    Bytes must match on the platform that made the export. On another platform the same rows,
    ids, clusters and labels must come back, each score within :data:`RECOMPUTE_TOLERANCE`.
    """
    from core.export import _versions

    different = f"different bytes ({len(rerun)} vs {len(data)} bytes)"
    here = {"machine": machine_description(), "versions": _versions()}
    if all(manifest.get(key) == value for key, value in here.items()):
        return f"re-running the recorded parameters on the recorded inputs gives {different}"
    ours = list(csv.reader(io.StringIO(rerun.decode("utf-8"))))
    theirs = list(csv.reader(io.StringIO(data.decode("utf-8", errors="replace"))))
    same_rows = len(ours) == len(theirs) and all(
        a[:2] + a[3:] == b[:2] + b[3:] for a, b in zip(ours, theirs, strict=True)
    )
    if not same_rows:
        return (
            f"re-running on this platform gives other rows, ids, clusters or labels ({different})"
        )
    worst = max((abs(float(a[2]) - float(b[2])) for a, b in zip(ours[1:], theirs[1:])), default=0)
    if worst > RECOMPUTE_TOLERANCE:
        return f"re-running on this platform changes a score by {worst:.3g} > {RECOMPUTE_TOLERANCE}"
    checks.append(f"recompute within {RECOMPUTE_TOLERANCE} (exported on another platform)")
    return None
