"""Turn uploaded bytes into a Dataset registered under ``"upload:<sha256>"``.

Each function takes plain bytes (so tests call them without a browser), writes them under their
own file names in a temporary directory (core records the base name, size and SHA-256 of each
input file in export manifests), calls core, and registers the result with
:func:`ui.cache.register_upload`. Bad input raises core's ``ValueError``; pages show it with
:func:`ui.errors.user_errors`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ui.cache import register_upload
from ui.state import MAX_UPLOAD_MB

if TYPE_CHECKING:
    from core._progress import ProgressFn
    from core.io.data import Dataset


def _upload_key(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return f"upload:{digest.hexdigest()}"


def _check_size(name: str, data: bytes) -> None:
    if len(data) > MAX_UPLOAD_MB * 1024**2:
        raise ValueError(f"{name} is {len(data):,} bytes, more than the {MAX_UPLOAD_MB} MB limit")
    if not data:
        raise ValueError(f"{name} is empty")


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / Path(name).name  # base name only: never a path from the client
    path.write_bytes(data)
    return path


def _digest(dataset_key: str) -> str:
    return dataset_key.removeprefix("upload:")


def _remember(dataset_key: str, kind: str, files: dict, meta: dict) -> None:
    """Keep the upload's inputs (and computed embeddings) in the local store, so the dataset
    comes back after a reload or a server restart. Storing is best effort: a full disk or a
    read-only cache folder only means it is not kept."""
    from core.io.store import put_entry

    with contextlib.suppress(OSError, ValueError):
        put_entry(_digest(dataset_key), kind=kind, files=files, meta=meta)


def _stored_embeddings(dataset_key: str, n_rows: int) -> np.ndarray | None:
    """Embeddings computed earlier for this upload (same bytes and settings), if stored."""
    from core.io.store import get_entry, load_array

    entry = get_entry(_digest(dataset_key))
    if entry is None or "embeddings.npy" not in entry.files:
        return None
    try:
        embeddings = load_array(entry.files["embeddings.npy"])
    except (OSError, ValueError):
        return None
    return embeddings if embeddings.ndim == 2 and embeddings.shape[0] == n_rows else None


def dataset_from_embedding_upload(
    embeddings_name: str,
    embeddings_bytes: bytes,
    meta_name: str | None = None,
    meta_bytes: bytes | None = None,
    *,
    coords_name: str | None = None,
    coords_bytes: bytes | None = None,
    progress: ProgressFn | None = None,
) -> tuple[str, Dataset]:
    """Embeddings (.npy/.npz/.parquet/.csv) plus optional metadata (.csv/.parquet) -> dataset.

    ``coords_*``: optional 2-D map coordinates (``python -m core project``'s (n, 2) .npy),
    checked against the dataset's n and kept with it (``ui.coords``); they do not change the key.
    Returns ``(dataset_key, dataset)``; raises ``ValueError`` with core's message for a corrupt
    file, NaN embeddings, duplicate ids, a length mismatch, coordinates of another shape, or a
    file over the size limit. Nothing is registered when any file is refused.
    """
    from core._progress import report
    from core.io.data import load_dataset

    _check_size(embeddings_name, embeddings_bytes)
    if meta_bytes is not None and meta_name is not None:
        _check_size(meta_name, meta_bytes)
    key = _upload_key(embeddings_name, embeddings_bytes, meta_name or "", meta_bytes or b"")
    with tempfile.TemporaryDirectory(prefix="prunescope-upload-") as tmp:
        embeddings_path = _write(Path(tmp), embeddings_name, embeddings_bytes)
        meta_path = None
        if meta_bytes is not None and meta_name is not None:
            if Path(meta_name).name == embeddings_path.name:
                raise ValueError("the embeddings and metadata files have the same name")
            meta_path = _write(Path(tmp), meta_name, meta_bytes)
        report(progress, 0.0, f"reading {Path(embeddings_name).name}")
        try:
            dataset = load_dataset(embeddings_path, meta_path, name=Path(embeddings_name).stem)
        except (KeyError, TypeError, EOFError) as exc:  # parsers' own errors on corrupt files
            raise ValueError(f"could not read {embeddings_name}: {exc}") from exc
    coords = None
    if coords_bytes is not None and coords_name is not None:
        from ui.coords import coords_from_bytes

        report(progress, 0.9, f"reading {Path(coords_name).name}")
        coords = coords_from_bytes(coords_name, coords_bytes, n_rows=dataset.n)
    register_upload(key, dataset)
    files = {"input-0": embeddings_bytes}
    if meta_bytes is not None and meta_name is not None:
        files["input-1"] = meta_bytes
    _remember(key, "embeddings", files, {"names": [embeddings_name, meta_name]})
    if coords is not None:
        from ui.coords import attach

        attach(key, coords)
    return key, dataset


#: Environment variable naming the one folder whose files the app may open by path.
DATA_DIR_VARIABLE = "PRUNESCOPE_DATA_DIR"
#: The one message for any path the app will not open: the same whether or not the path exists.
REFUSED_PATH = (
    "that path is not a file inside the data folder (PRUNESCOPE_DATA_DIR); "
    "only files under it can be opened"
)


def local_files_enabled() -> bool:
    """Whether the landing page shows the "Files on this machine" tab.

    Shown unless ``PRUNESCOPE_LOCAL_FILES=0``; it opens files only when :func:`data_dir` is set.
    """
    return os.environ.get("PRUNESCOPE_LOCAL_FILES", "1") != "0"


def data_dir() -> Path | None:
    """The folder set by ``PRUNESCOPE_DATA_DIR`` (resolved), or None: opening by path is off.

    Off by default, so a served app never reads arbitrary files of the machine it runs on.
    """
    value = os.environ.get(DATA_DIR_VARIABLE, "").strip()
    if not value or not local_files_enabled():
        return None
    try:
        folder = Path(value).expanduser().resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        return None
    return folder if folder.is_dir() else None


def resolve_in_data_dir(given: str) -> Path:
    """The regular file ``given`` names inside :func:`data_dir`, symlinks resolved.

    A relative path is taken relative to the data folder. Anything else (off, outside the
    folder once symlinks are resolved, missing, not a regular file, a loop) raises the same
    ``ValueError`` (:data:`REFUSED_PATH`), which never says whether the path exists.
    """
    folder = data_dir()
    if folder is None:
        raise ValueError(
            "opening files by path is off: set PRUNESCOPE_DATA_DIR to the folder holding "
            "your data (and leave PRUNESCOPE_LOCAL_FILES unset) to turn it on"
        )
    try:
        path = (folder / Path(given.strip()).expanduser()).resolve()
        inside = path.is_relative_to(folder)
        regular = inside and stat.S_ISREG(path.stat().st_mode)
    except (OSError, RuntimeError, ValueError):
        inside = regular = False
    if not regular:
        raise ValueError(REFUSED_PATH)
    return path


def dataset_from_local_files(
    embeddings_path: str,
    meta_path: str | None = None,
    *,
    coords_path: str | None = None,
    progress: ProgressFn | None = None,
) -> tuple[str, Dataset]:
    """Embeddings (+ optional metadata) read from paths under the data folder: no size limit.

    Only files inside ``PRUNESCOPE_DATA_DIR`` open (:func:`resolve_in_data_dir`). The key hashes
    the files' SHA-256 (core records them in ``dataset.sources``), so the same files give the
    same key and exports name the real files. ``coords_path``: optional 2-D map coordinates
    (``python -m core project``'s (n, 2) .npy) in the same folder, checked against the dataset's
    n and kept with it (``ui.coords``; copied into the local store). Raises ``ValueError``: the
    one refusal for a path outside the folder, or core's message for a bad file with any quoted
    contents left out. Nothing is registered when any file is refused.
    """
    from core._progress import report
    from core.io.data import load_dataset, redacted_message

    if not local_files_enabled():
        raise ValueError("opening local files is turned off (PRUNESCOPE_LOCAL_FILES=0)")
    given = [p for p in (embeddings_path, meta_path or "") if p.strip()]
    if not given:
        raise ValueError("give the path of an embeddings file (.npy, .npz, .parquet, .csv)")
    paths = [resolve_in_data_dir(p) for p in given]
    report(progress, 0.0, f"reading {paths[0].name}")
    try:
        dataset = load_dataset(paths[0], paths[1] if len(paths) > 1 else None, name=paths[0].stem)
    except ValueError as exc:
        raise ValueError(redacted_message(exc)) from None
    coords = None
    if coords_path and coords_path.strip():
        from ui.coords import coords_from_path

        report(progress, 0.9, "reading the 2-D coordinates")
        coords = coords_from_path(coords_path, n_rows=dataset.n)
    key = _upload_key(*(source.sha256 for source in dataset.sources))
    register_upload(key, dataset)
    # Large local files are not copied: the entry records the paths, opened again on restore.
    _remember(key, "local", {}, {"paths": [embeddings_path, meta_path]})
    if coords is not None:
        from ui.coords import attach

        attach(key, coords)
    return key, dataset


def dataset_from_image_zip(
    zip_name: str,
    zip_bytes: bytes,
    *,
    embedding: str = "pixels",
    epochs: int = 5,
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> tuple[str, Dataset]:
    """A zip of images (optional ``labels.csv`` inside) embedded by pixels or a small SSL CNN.

    ``embedding="pixels"`` flattens the (resized) images scaled to [0, 1]; ``"ssl"`` trains
    ``core.embed.ssl`` for ``epochs`` on CPU with ``seed`` and embeds with its backbone.
    """
    from core._progress import report, sub_progress
    from core.io.data import file_info
    from core.io.images import image_set_to_dataset, load_image_zip, pixel_embeddings

    if embedding not in ("pixels", "ssl"):
        raise ValueError(f"embedding={embedding!r} should be 'pixels' or 'ssl'")
    _check_size(zip_name, zip_bytes)
    key = _upload_key(zip_name, zip_bytes, embedding, str(epochs), str(seed))
    # Each phase's share of the bar follows its share of the work: reading is most of the
    # pixels path; SSL training dwarfs reading and embedding.
    read_end = 0.95 if embedding == "pixels" else 0.05
    with tempfile.TemporaryDirectory(prefix="prunescope-upload-") as tmp:
        path = _write(Path(tmp), zip_name, zip_bytes)
        image_set = load_image_zip(
            path, progress=sub_progress(progress, 0.0, read_end, phase="reading the zip")
        )
        sources = (file_info(path),)
    embeddings = _stored_embeddings(key, len(image_set.images))
    if embeddings is not None:
        report(progress, 1.0, "embeddings computed earlier, from the local cache")
    elif embedding == "pixels":
        report(progress, read_end, "embedding: flattening the pixels")
        embeddings = pixel_embeddings(image_set.images)
    else:
        embeddings = _ssl_embeddings(image_set.images, epochs, seed, read_end, progress)
    dataset = image_set_to_dataset(
        image_set, embeddings, name=f"{Path(zip_name).stem} ({embedding})", sources=sources
    )
    register_upload(key, dataset)
    meta = {"names": [zip_name], "embedding": embedding, "epochs": epochs, "seed": seed}
    _remember(key, "image_zip", {"input-0": zip_bytes, "embeddings.npy": embeddings}, meta)
    return key, dataset


def _ssl_embeddings(
    images: np.ndarray, epochs: int, seed: int, start: float, progress: ProgressFn | None
) -> np.ndarray:
    """Train ``core.embed.ssl``'s encoder on the images (CPU) and embed them with it."""
    from core._progress import sub_progress
    from core.embed.ssl import embed_images, train_ssl_encoder

    training = sub_progress(progress, start, 0.95, phase="training the SSL encoder on CPU")
    encoder = train_ssl_encoder(images, epochs=epochs, seed=seed, progress=training)
    return embed_images(
        encoder,
        images,
        progress=sub_progress(progress, 0.95, 1, phase="embedding with the encoder"),
    )


def dataset_from_text_csv(
    csv_name: str,
    csv_bytes: bytes,
    *,
    text_column: str = "text",
    label_column: str = "label",
    progress: ProgressFn | None = None,
) -> tuple[str, Dataset]:
    """A CSV with a text column (optional ``id`` and label columns) embedded by ``core.embed.text``."""
    import io

    import pandas as pd

    from core.embed.text import embed_texts
    from core.io.data import FileInfo, make_dataset

    _check_size(csv_name, csv_bytes)
    try:
        table = pd.read_csv(io.BytesIO(csv_bytes))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"could not read {csv_name} as CSV: {exc}") from exc
    if text_column not in table.columns:
        raise ValueError(
            f"{csv_name} has no {text_column!r} column (columns: {', '.join(map(str, table.columns))})"
        )
    texts = table[text_column].fillna("").astype(str).to_numpy()
    key = _upload_key(csv_name, csv_bytes, text_column, label_column)
    embeddings = _stored_embeddings(key, len(texts))
    if embeddings is None:
        embeddings = embed_texts(list(texts), progress=progress)
    dataset = make_dataset(
        embeddings,
        ids=table["id"].astype(str).to_numpy() if "id" in table.columns else None,
        labels=table[label_column].to_numpy() if label_column in table.columns else None,
        media=texts,
        media_kind="text",
        name=Path(csv_name).stem,
        sources=(
            FileInfo(
                name=Path(csv_name).name,
                size=len(csv_bytes),
                sha256=hashlib.sha256(csv_bytes).hexdigest(),
            ),
        ),
    )
    register_upload(key, dataset)
    meta = {"names": [csv_name], "text_column": text_column, "label_column": label_column}
    _remember(key, "text_csv", {"input-0": csv_bytes, "embeddings.npy": embeddings}, meta)
    return key, dataset


def stored_upload_kind(dataset_key: str) -> str | None:
    """The kind of the stored entry behind an ``upload:`` key (None when not stored)."""
    from core.io.store import get_entry

    if not dataset_key.startswith("upload:"):
        return None
    entry = get_entry(_digest(dataset_key))
    return entry.kind if entry is not None else None


def restore_upload(dataset_key: str) -> Dataset | None:
    """Rebuild an upload of an earlier session from the local store and register it.

    The stored inputs go through the same function as the first upload (so the key, sources and
    exports are identical); computed embeddings are read back instead of recomputed. Returns None
    when the store does not hold it or it no longer loads (the caller says so).
    """
    from core.io.store import get_entry

    entry = get_entry(_digest(dataset_key)) if dataset_key.startswith("upload:") else None
    if entry is None:
        return None
    meta = entry.meta
    names = [n if isinstance(n, str) else None for n in meta.get("names", [])] + [None, None]
    inputs = [
        entry.files[n].read_bytes() if n in entry.files else None for n in ("input-0", "input-1")
    ]
    try:
        if entry.kind == "embeddings" and names[0] and inputs[0] is not None:
            key, dataset = dataset_from_embedding_upload(names[0], inputs[0], names[1], inputs[1])
        elif entry.kind == "image_zip" and names[0] and inputs[0] is not None:
            key, dataset = dataset_from_image_zip(
                names[0],
                inputs[0],
                embedding=str(meta.get("embedding", "pixels")),
                epochs=int(meta.get("epochs", 5)),
                seed=int(meta.get("seed", 0)),
            )
        elif entry.kind == "text_csv" and names[0] and inputs[0] is not None:
            key, dataset = dataset_from_text_csv(
                names[0],
                inputs[0],
                text_column=str(meta.get("text_column", "text")),
                label_column=str(meta.get("label_column", "label")),
            )
        elif entry.kind == "local":
            paths = [p if isinstance(p, str) else "" for p in meta.get("paths", [])] + ["", ""]
            key, dataset = dataset_from_local_files(paths[0], paths[1] or None)
        else:
            return None
    except (ValueError, OSError, ImportError, TypeError):
        return None
    return dataset if key == dataset_key else None
