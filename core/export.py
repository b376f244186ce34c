"""Exports: score and kept-index CSVs plus a JSON manifest, written atomically and reproducibly."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import platform
import re
import stat
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.io.data import Dataset

if TYPE_CHECKING:
    from core.prune.select import Selection
    from core.scores.distributed import ScoredBlocks
    from core.scores.metrics import Scores

#: Header of every score / kept-index CSV.
CSV_COLUMNS = ("index", "id", "score", "cluster", "label")
SCORE_ORIENTATION = "higher = harder"
MANIFEST_FORMAT = "prunescope-manifest/1"
#: How text cells of exported CSVs are kept from running as spreadsheet formulas (recorded in
#: every manifest): OWASP's advice, a leading ``'`` on cells starting with one of
#: :data:`FORMULA_PREFIXES`. Only the text columns (id, label) are touched, never numbers.
CSV_FORMULA_GUARD = "owasp-single-quote"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Manifest fields left out of ``content_sha256``: when and on how many threads, not what.
_NOT_HASHED = ("created_at", "threads", "machine", "content_sha256")
#: Distributions whose versions a manifest records, when installed (never imported).
_VERSIONED = {
    "numpy": ("numpy",),
    "scikit-learn": ("scikit-learn",),
    "faiss": ("faiss-cpu", "faiss-gpu", "faiss"),
    "torch": ("torch",),
    "pandas": ("pandas",),
}


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never a part.

    The bytes go to a temporary file in the same directory, are flushed to disk and then moved
    over ``path`` with :func:`os.replace`. On any failure the temporary file is removed and an
    existing ``path`` is left untouched. A new file gets mode 0o644; a replaced one keeps its mode.

    Parameters
    ----------
    path : str or Path
    data : bytes

    Raises
    ------
    OSError
        When the directory does not exist or is not writable (the error names the path).
    """
    write_atomic_files([(Path(path), data)])


def write_atomic_files(files: Sequence[tuple[str | Path, bytes]]) -> None:
    """Write several files together: every one is staged before any is replaced.

    Each file's bytes go to a temporary file beside it (``.<name>.<random>.tmp``, flushed to
    disk); only when all are staged are they moved into place with :func:`os.replace`, in the
    order given. A failure or an interrupt while staging (disk full, a target that is a
    directory, Ctrl-C, SIGTERM in the CLI) removes the temporaries and leaves every existing file
    untouched. Callers list the manifest last: it records the CSV's SHA-256, so a reader that
    finds the two out of step (a run killed between the renames) can tell with
    :func:`check_export`. Temporaries of an earlier, killed run older than
    :data:`STALE_TEMP_SECONDS` are removed first.

    Parameters
    ----------
    files : sequence of (path, bytes)

    Raises
    ------
    OSError
        When a directory does not exist or is not writable, or a target is a directory.
    """
    for target, _ in files:
        remove_stale_temps(Path(target))
    staged: list[tuple[str, Path]] = []
    try:
        for target, data in files:
            path = Path(target)
            if path.is_dir():
                raise IsADirectoryError(21, "is a directory, not a file", str(path))
            try:
                mode = path.stat().st_mode & 0o777
            except FileNotFoundError:
                mode = 0o644
            handle, temp_name = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
            )
            staged.append((temp_name, path))
            with os.fdopen(handle, "wb") as temp:
                temp.write(data)
                temp.flush()
                os.fsync(temp.fileno())
            os.chmod(temp_name, mode)
        for temp_name, path in staged:
            os.replace(temp_name, path)
    except BaseException:
        for temp_name, _ in staged:
            Path(temp_name).unlink(missing_ok=True)
        raise


#: Age after which a temporary file of ours is taken for the leftover of a killed run.
STALE_TEMP_SECONDS = 3600.0


def remove_stale_temps(path: Path, *, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove ``.<name>.<random>.tmp`` files beside ``path`` (ours) older than ``older_than`` s.

    Returns the removed paths. Files of any other name, and recent ones (a run still writing),
    are left alone.
    """
    pattern = re.compile(re.escape(f".{path.name}.") + r"[A-Za-z0-9_]{8}\.tmp")
    removed = []
    now = time.time()
    try:
        candidates = list(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    except OSError:
        return []
    for candidate in candidates:
        try:
            info = candidate.lstat()
            if (
                pattern.fullmatch(candidate.name)
                and stat.S_ISREG(info.st_mode)
                and now - info.st_mtime > older_than
            ):
                candidate.unlink()
                removed.append(candidate)
        except OSError:
            continue  # gone already, or not ours to remove
    return removed


def check_export(csv_path: str | Path) -> dict[str, Any]:
    """Read ``<stem>.manifest.json`` beside a CSV and check it describes these CSV bytes.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    ValueError
        When the manifest is missing, unreadable, or records another CSV (size or SHA-256
        differ: the two files come from different runs).
    """
    csv_path = Path(csv_path)
    manifest_path = csv_path.with_name(f"{csv_path.stem}.manifest.json")
    try:
        manifest = json.loads(manifest_path.read_bytes())
        data = csv_path.read_bytes()
    except (OSError, ValueError) as exc:
        raise ValueError(f"could not read {csv_path.name} and its manifest: {exc}") from None
    output = manifest.get("output") if isinstance(manifest, dict) else None
    if not isinstance(output, dict) or output.get("sha256") != hashlib.sha256(data).hexdigest():
        raise ValueError(
            f"{manifest_path.name} does not describe {csv_path.name} (SHA-256 differs): "
            "the two files come from different runs"
        )
    return manifest


def scores_csv_bytes(dataset: Dataset, scores: Scores) -> bytes:
    """Every example's score as CSV bytes (UTF-8, ``\\n`` line endings).

    Columns are exactly ``index,id,score,cluster,label``: row number, id, score (higher =
    harder, ``%.9g``), cluster (empty when the metric has none) and original label value
    (empty without labels). Rows are in index order. Cells holding commas, quotes or line
    breaks are quoted (:func:`csv_line`), so pandas and the ``csv`` module read every cell
    back exactly; ids and labels that a spreadsheet would run as formulas get a leading ``'``
    (:func:`neutralise_formula`).

    Parameters
    ----------
    dataset : Dataset
        n examples.
    scores : Scores
        ``values`` of shape (n,); ``clusters`` of shape (n,) or None.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        When the scores do not have one value per example.
    """
    _check_scores_match(dataset, scores)
    return _csv_bytes(dataset, np.arange(dataset.n), scores.values, scores.clusters)


def kept_csv_bytes(dataset: Dataset, scores: Scores, selection: Selection) -> bytes:
    """The kept examples as CSV bytes, same columns as :func:`scores_csv_bytes`, by index.

    Parameters
    ----------
    dataset : Dataset
        n examples.
    scores : Scores
        ``values`` of shape (n,).
    selection : Selection
        ``kept_indices`` of shape (m,), indices into the n examples.

    Returns
    -------
    bytes
        Header plus m rows sorted by index.

    Raises
    ------
    ValueError
        When scores or selection do not match the dataset's n.
    """
    _check_scores_match(dataset, scores)
    kept = _checked_kept(dataset, selection)
    clusters = None if scores.clusters is None else np.asarray(scores.clusters)[kept]
    return _csv_bytes(dataset, kept, np.asarray(scores.values)[kept], clusters)


def kept_rows_csv_bytes(
    dataset: Dataset, selection: Selection, values: np.ndarray, clusters: np.ndarray | None
) -> bytes:
    """:func:`kept_csv_bytes` from the kept rows' own scores and clusters (in
    ``selection.kept_indices`` order), as a Dask selection brings them back.

    Raises
    ------
    ValueError
        When the selection does not match the dataset or the rows do not match the selection.
    """
    kept = _checked_kept(dataset, selection)
    if not np.array_equal(kept, selection.kept_indices):
        raise ValueError("kept_indices should be sorted ascending, one per kept row")
    for name, column in (("values", values), ("clusters", clusters)):
        if column is not None and np.shape(column) != kept.shape:
            raise ValueError(f"{name} should have one entry per kept row ({kept.shape[0]})")
    return _csv_bytes(dataset, kept, values, clusters)


def _check_scores_match(dataset: Dataset, scores: Scores) -> None:
    n_values = int(np.shape(scores.values)[0])
    if n_values != dataset.n:
        raise ValueError(f"scores have {n_values} values but the dataset has n={dataset.n}")
    if scores.clusters is not None and int(np.shape(scores.clusters)[0]) != dataset.n:
        raise ValueError(
            f"scores have {np.shape(scores.clusters)[0]} cluster entries but n={dataset.n}"
        )


def _checked_kept(dataset: Dataset, selection: Selection) -> np.ndarray:
    if selection.n_total != dataset.n:
        raise ValueError(
            f"selection was made for n_total={selection.n_total} examples "
            f"but the dataset has n={dataset.n}"
        )
    kept = np.sort(np.asarray(selection.kept_indices, dtype=np.int64))
    if kept.size and (kept[0] < 0 or kept[-1] >= dataset.n):
        raise ValueError(f"kept_indices should lie in [0, {dataset.n}), got {kept[0]}..{kept[-1]}")
    return kept


def neutralise_formula(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would run it as a formula (OWASP).

    Cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return get the quote, so an
    id such as ``=HYPERLINK(...)`` (or ``-5``) is shown as text; every other cell is unchanged.
    """
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _csv_bytes(
    dataset: Dataset, indices: np.ndarray, values: np.ndarray, clusters: np.ndarray | None
) -> bytes:
    """Rows ``indices`` of the dataset with ``values`` / ``clusters`` (one per index): the
    lines :func:`csv_line` writes, built column by column (a label's cell once per class),
    one block of rows at a time (the cells of a block are the only temporaries)."""
    ids = np.asarray(dataset.ids)
    values = np.asarray(values, np.float64) + 0.0  # + 0.0 writes -0.0 as 0
    codes = None if dataset.labels is None else np.asarray(dataset.labels)
    label_cells = _text_cells(np.asarray(dataset.class_names, dtype=str).tolist())
    blocks = [csv_line(CSV_COLUMNS)]
    for lo in range(0, indices.shape[0], _CSV_BLOCK_ROWS):
        rows = indices[lo : lo + _CSV_BLOCK_ROWS]
        index_cells = rows.tolist()
        id_cells = _text_cells(ids[rows].astype(str).tolist())
        score_cells = [f"{value:.9g}" for value in values[lo : lo + rows.shape[0]].tolist()]
        if clusters is None:
            cluster_cells: list[object] = [""] * rows.shape[0]
        else:
            cluster_cells = np.asarray(clusters[lo : lo + rows.shape[0]], np.int64).tolist()
        if codes is None:
            labels = [""] * rows.shape[0]
        else:
            labels = [label_cells[code] for code in codes[rows].tolist()]
        blocks.append(
            "".join(
                f"{index},{id_cell},{score},{cluster},{label}\n"
                for index, id_cell, score, cluster, label in zip(
                    index_cells, id_cells, score_cells, cluster_cells, labels, strict=True
                )
            )
        )
    return "".join(blocks).encode("utf-8")


_CSV_BLOCK_ROWS = 65536


def csv_line(cells: Sequence[object]) -> str:
    """One CSV row ending in ``\n``: a cell is quoted when it holds ``,``, ``"``, CR or LF.

    ``csv.writer`` with ``lineterminator="\n"`` leaves a lone CR unquoted, which readers then
    take for a line break; otherwise the bytes are the same as ``csv.writer``'s.
    """
    quoted = [_cell(str(cell)) for cell in cells]
    if len(quoted) == 1 and quoted[0] == "":
        quoted = ['""']  # as csv.writer: a row of one empty cell is not a blank line
    return ",".join(quoted) + "\n"


_QUOTED = (",", '"', "\r", "\n")


def _text_cells(texts: list[str]) -> list[str]:
    """``_cell(neutralise_formula(text))`` of each text; the common case, no text that needs
    either, found by one search of the joined texts instead of one test per text."""
    joined = "\0" + "\0".join(texts)
    if any(c in joined for c in _QUOTED) or any("\0" + p in joined for p in FORMULA_PREFIXES):
        return [_cell(neutralise_formula(text)) for text in texts]
    return texts


def _cell(text: str) -> str:
    """A cell as :func:`csv_line` writes it: quoted when it holds ``,``, ``"``, CR or LF."""
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in _QUOTED) else text


def build_manifest(
    dataset: Dataset,
    scores: Scores | ScoredBlocks,
    selection: Selection | None,
    *,
    csv_bytes: bytes | None = None,
    csv_name: str | None = None,
    created_at: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Describe how an export was made: inputs, scoring and selection parameters, versions.

    Parameters
    ----------
    dataset : Dataset
        Its ``sources`` (name, size, sha256 of each input file), n and d are recorded. Its
        display ``name`` is not: the app ("Digits (ssl)") and the CLI (the file's stem) name the
        same files differently, and the inputs' hashes already identify the data.
    scores : Scores
        ``metric`` and ``params`` (k, distance, backend, seed, ...) are recorded.
    selection : Selection or None
        None for a score export: the selection fields are then null.
    csv_bytes : bytes, optional
        The exported CSV; its size and SHA-256 are recorded under ``output``.
    csv_name : str, optional
        The CSV's file name, recorded under ``output``.
    created_at : str, optional
        UTC ISO-8601 timestamp; defaults to now.
    extra : dict, optional
        JSON-serialisable additions, stored under ``extra``.

    Returns
    -------
    dict
        JSON-serialisable; ``content_sha256`` is the SHA-256 of the canonical JSON of every
        other field except ``created_at`` (see :func:`manifest_bytes`), so two exports of the
        same inputs and parameters share it.
    """
    params = scores.params.as_dict()
    pins: dict[str, list[str] | None] = {"always_keep": None, "always_drop": None}
    if selection is not None:
        _checked_kept(dataset, selection)
        for key in pins:
            indices = np.asarray(getattr(selection, key), dtype=np.int64)
            pins[key] = [str(value) for value in dataset.ids[indices]]
    group_quota = None if selection is None else selection.group_quota
    balance_by = None if selection is None else selection.balance_by
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "created_at": created_at or _utc_now(),
        "inputs": [
            {"name": info.name, "size": info.size, "sha256": info.sha256}
            for info in dataset.sources
        ],
        "n": dataset.n,
        "d": dataset.d or None,  # None: scored from records, no embeddings
        "n_classes": dataset.n_classes,
        "metric": scores.metric,
        "score_orientation": SCORE_ORIENTATION,
        "k": scores.params.k,
        "distance": scores.params.distance,
        "backend": scores.params.backend,
        "seed": scores.params.seed,
        "score_params": params,
        "strategy": None if selection is None else selection.strategy,
        "strategy_params": _strategy_params(selection),
        "keep_fraction": None if selection is None else float(selection.keep_fraction),
        "balance_by": balance_by,
        "min_ratio": None if selection is None else float(selection.min_ratio),
        "group_quota": None
        if group_quota is None
        else {_group_name(dataset, balance_by, group): int(n) for group, n in group_quota.items()},
        "selection_seed": None if selection is None else int(selection.seed),
        "always_keep": pins["always_keep"],
        "always_drop": pins["always_drop"],
        "n_kept": None if selection is None else int(np.size(selection.kept_indices)),
        "output": None
        if csv_bytes is None
        else {
            "name": csv_name,
            "size": len(csv_bytes),
            "sha256": hashlib.sha256(csv_bytes).hexdigest(),
        },
        "versions": _versions(),
        "threads": _threads(),
        "machine": machine_description(),
        "csv_formula_guard": CSV_FORMULA_GUARD,
        "extra": extra,
    }
    # Round-trip through JSON so numpy scalars in params become plain numbers once, here.
    manifest = json.loads(json.dumps(manifest, default=_json_default))
    manifest["content_sha256"] = _content_sha256(manifest)
    return manifest


def _strategy_params(selection: Selection | None) -> dict[str, Any] | None:
    """Options of the strategy beyond its name (``ccs``'s beta and strata, ``moderate``'s rule);
    None without selection."""
    if selection is None:
        return None
    if selection.strategy == "moderate":
        return {
            "moderate_distance": "Euclidean distance of the embedding to its class's element-wise "
            "median embedding (one class without labels); middle band of ranks"
        }
    if selection.strategy != "ccs":
        return {}
    return {"ccs_beta": selection.ccs_beta, "ccs_strata": selection.ccs_strata}


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Serialise a manifest as indented JSON with sorted keys, refreshing ``content_sha256``.

    ``content_sha256`` is the SHA-256 of
    ``json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` encoded as
    UTF-8, where ``fields`` is the manifest without ``created_at``, ``threads`` and ``machine``
    (thread counts and CPU, which do not change the scores on one platform) and
    ``content_sha256``.

    Parameters
    ----------
    manifest : dict
        As returned by :func:`build_manifest`.

    Returns
    -------
    bytes
        UTF-8 JSON ending in a newline.
    """
    manifest = dict(manifest)
    manifest["content_sha256"] = _content_sha256(manifest)
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False, default=_json_default)
    return (text + "\n").encode("utf-8")


def write_prune_outputs(
    out_csv: str | Path,
    dataset: Dataset,
    scores: Scores | ScoredBlocks,
    selection: Selection | None,
    *,
    extra: dict[str, Any] | None = None,
    kept_rows: tuple[np.ndarray, np.ndarray | None] | None = None,
) -> tuple[Path, Path]:
    """Write the kept-index CSV and ``<stem>.manifest.json`` beside it, together and atomically.

    With ``selection=None`` the CSV holds every example (:func:`scores_csv_bytes`) and the
    manifest's selection fields are null. Both files are staged before either replaces an
    existing file (:func:`write_atomic_files`): a failure leaves any earlier results untouched.

    Parameters
    ----------
    out_csv : str or Path
        Path of the CSV; its directory must exist.
    dataset, scores : Dataset, Scores
    selection : Selection or None
    extra : dict, optional
        Recorded under the manifest's ``extra`` key.
    kept_rows : (values, clusters), optional
        The kept rows' scores and clusters (:func:`kept_rows_csv_bytes`); then ``scores``
        only gives the metric and its parameters (a Dask run's
        :class:`core.scores.distributed.ScoredBlocks`).

    Returns
    -------
    tuple of Path
        ``(csv_path, manifest_path)``.

    Raises
    ------
    ValueError
        When scores or selection do not match the dataset, or ``out_csv``'s directory does not
        exist.
    OSError
        When a file cannot be written.
    """
    csv_path = Path(out_csv)
    if not csv_path.parent.is_dir():
        raise ValueError(f"output directory {csv_path.parent} does not exist")
    manifest_path = csv_path.with_name(f"{csv_path.stem}.manifest.json")
    if kept_rows is not None:
        if selection is None:
            raise ValueError("kept_rows need the selection they were kept by")
        data = kept_rows_csv_bytes(dataset, selection, *kept_rows)
    else:
        from core.scores.metrics import Scores

        if not isinstance(scores, Scores):
            raise ValueError("chunked scores are written from their kept rows: pass kept_rows")
        if selection is None:
            data = scores_csv_bytes(dataset, scores)
        else:
            data = kept_csv_bytes(dataset, scores, selection)
    manifest = build_manifest(
        dataset, scores, selection, csv_bytes=data, csv_name=csv_path.name, extra=extra
    )
    manifest_data = manifest_bytes(manifest)
    write_atomic_files([(csv_path, data), (manifest_path, manifest_data)])
    return csv_path, manifest_path


def _group_name(dataset: Dataset, balance_by: str | None, group: Any) -> str:
    """A balance group as written in the manifest: the label value, or the cluster number."""
    if balance_by == "label" and dataset.class_names and 0 <= int(group) < dataset.n_classes:
        return dataset.class_names[int(group)]
    return str(group)


def _content_sha256(manifest: dict[str, Any]) -> str:
    fields = {k: v for k, v in manifest.items() if k not in _NOT_HASHED}
    canonical = json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _versions() -> dict[str, str | None]:
    """Installed versions of the numeric stack, read from package metadata (nothing imported)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for key, distributions in _VERSIONED.items():
        versions[key] = None
        for distribution in distributions:
            try:
                versions[key] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    return versions


def _threads() -> dict[str, Any]:
    """Thread counts of this process: faiss's OpenMP pool (when faiss is loaded) and the BLAS.

    Recorded so a difference can be traced; scores do not depend on them: the k-means fit runs
    on one thread (``kmeans_fit``) and the nearest-centroid distances are summed in a fixed order.
    """
    import sys

    from threadpoolctl import threadpool_info

    faiss = sys.modules.get("faiss")
    blas = [int(pool["num_threads"]) for pool in threadpool_info() if pool["user_api"] == "blas"]
    return {
        "kmeans_fit": 1,
        "faiss": None if faiss is None else int(faiss.omp_get_max_threads()),
        "blas": max(blas, default=None),
        "cpus": os.cpu_count(),
    }


def machine_description() -> dict[str, str | None]:
    """The CPU architecture and the BLAS build numpy uses (library, version, kernel set).

    The k-means fit runs in float32 on one thread: on another CPU or BLAS build its kernels may
    round differently, which ``core.export_verify`` allows for within a stated tolerance.
    """
    from threadpoolctl import threadpool_info

    pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    # numpy's own BLAS when several are loaded (faiss bundles another).
    blas = next((pool for pool in pools if "numpy" in str(pool.get("filepath"))), None)
    blas = blas or (pools[0] if pools else None)
    described = None
    if blas is not None:
        described = " ".join(
            str(blas.get(key)) for key in ("internal_api", "version", "architecture")
        )
    return {"cpu": platform.machine(), "blas": described}


def _utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
