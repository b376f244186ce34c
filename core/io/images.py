"""Image input: a folder or a ``.zip`` of images (plus an optional labels CSV) as uint8 arrays.

Rules, in the order they are applied:

* Zip archives larger than :data:`MAX_ZIP_BYTES` on disk, with more than :data:`MAX_MEMBERS`
  entries, or whose members would decompress to more than :data:`MAX_UNCOMPRESSED_BYTES` in total
  (a zip bomb) are rejected with ``ValueError``. Members are read in memory with :mod:`zipfile`;
  nothing is ever extracted to disk. A member name that is absolute (``/x``, ``C:x``) or has a
  ``..`` component is rejected with ``ValueError`` (path traversal), as are duplicate names.
* Files whose extension is not one of :data:`IMAGE_EXTENSIONS` are skipped and counted
  (``n_skipped_non_image``), except a top-level ``labels.csv`` which is used as the labels file
  when none is given. Hidden files and macOS ``__MACOSX/`` entries count as non-image too.
* Images that fail to decode, or have more than :data:`MAX_IMAGE_PIXELS` pixels, are skipped and
  counted (``n_skipped_corrupt``). GIFs contribute their first frame.
* Colour: when every image is gray (equal R, G and B everywhere) the result is (n, h, w),
  otherwise (n, h, w, 3). Transparent pixels are composited over black.
* Size: when every image has the same size and no side above :data:`MAX_KEEP_SIDE` they are kept
  as they are; otherwise every image is resized (bilinear, aspect ratio not kept) to
  ``size x size`` with ``size=DEFAULT_SIZE`` (32) unless given.
* Labels CSV: columns ``file,label`` or ``id,label``; a value matches an image's relative path
  (``sub/dir/a.png``) or, when base names are unique, its base name. Every kept image needs a
  label; rows naming skipped or absent files are ignored.
* ImageFolder layout (torchvision ``ImageFolder``, Hugging Face ``imagefolder``): without a labels
  CSV, images laid out as ``class_name/image.png`` take their class folder as label. Folders that
  every image shares (``dataset/cat/a.png``) are skipped first; when an image lies outside the
  class folders, or there is only one folder, there are no labels. A labels CSV always wins.
* No images left -> ``ValueError``. Images are ordered by relative path.
"""

from __future__ import annotations

import functools
import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from core._progress import ProgressFn, report

if TYPE_CHECKING:  # pragma: no cover - typing only
    from core.io.data import Dataset, FileInfo

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
#: Largest zip file accepted, in bytes on disk.
MAX_ZIP_BYTES = 200 * 1024**2
#: Largest total size of all members once decompressed (zip-bomb guard).
MAX_UNCOMPRESSED_BYTES = 1024**3
#: Most entries a zip may list.
MAX_MEMBERS = 200_000
#: Largest image accepted, in pixels (larger ones are skipped as corrupt).
MAX_IMAGE_PIXELS = 40_000_000
#: Images that all share one size are kept at that size when no side exceeds this.
MAX_KEEP_SIDE = 128
#: Side of the square images are resized to otherwise.
DEFAULT_SIZE = 32
#: Name of a labels file found at the top of the folder or zip and used when none is given.
LABELS_FILE_NAME = "labels.csv"

_CHUNK = 1 << 20
#: Images with a longer side are downscaled as they are read (JPEG at decode time), so a zip of
#: huge photos never holds more than one full-size image in memory at once.
MAX_READ_SIDE = 512
#: What reading one zip member can raise when its header or stream is corrupt.
_ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
)


@dataclass(frozen=True, eq=False, slots=True)
class ImageSet:
    """Images read from a folder or zip.

    Attributes
    ----------
    images : ndarray of shape (n, h, w) or (n, h, w, 3), uint8
    names : ndarray of shape (n,), str
        Relative paths (``/``-separated) inside the folder or zip; unique; used as ids.
    labels : ndarray of shape (n,), str, or None
        Label values from the labels CSV, as strings, else the class folders (ImageFolder).
    n_skipped_non_image : int
    n_skipped_corrupt : int
    skipped : tuple of str
        Relative paths of every skipped file (non-image and corrupt), sorted.
    resized : bool
        Whether the images were resized to a common size.
    """

    images: np.ndarray
    names: np.ndarray
    labels: np.ndarray | None
    n_skipped_non_image: int
    n_skipped_corrupt: int
    skipped: tuple[str, ...]
    resized: bool

    @property
    def n(self) -> int:
        return int(self.images.shape[0])

    def summary(self) -> str:
        """One line: counts read and skipped."""
        return (
            f"{self.n} images of {self.images.shape[1]}x{self.images.shape[2]}"
            f"{' (resized)' if self.resized else ''}; skipped {self.n_skipped_non_image} non-image"
            f" and {self.n_skipped_corrupt} unreadable files"
        )


# --------------------------------------------------------------------------------------------
# public API


def load_images(
    path: str | Path,
    *,
    labels_path: str | Path | None = None,
    size: int | None = None,
    progress: ProgressFn | None = None,
) -> ImageSet:
    """Read a folder or a ``.zip`` of images; see the module docstring for the rules.

    Parameters
    ----------
    path : path to a directory or a ``.zip`` file
    labels_path : path to a CSV with columns ``file,label`` or ``id,label``, optional
    size : int, optional
        Force every image to ``size x size``.
    progress : callable (fraction, message), optional

    Raises
    ------
    ValueError
        Unsafe or oversized zip, unreadable labels, or no images.
    FileNotFoundError
        ``path`` does not exist.
    """
    path = Path(path)
    if path.is_dir():
        return load_image_folder(path, labels_path=labels_path, size=size, progress=progress)
    from core.io.guards import checked_regular_file

    checked_regular_file(path, "images")  # missing, a loop, a FIFO: one clear error, no hang
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        return load_image_zip(path, labels_path=labels_path, size=size, progress=progress)
    raise ValueError(f"{path.name}: expected a folder or a .zip of images")


def load_image_folder(
    path: str | Path,
    *,
    labels_path: str | Path | None = None,
    size: int | None = None,
    progress: ProgressFn | None = None,
) -> ImageSet:
    """Read every image under a folder (recursively, symlinked folders not followed).

    Parameters and rules as :func:`load_images`.
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder")
    entries: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            full = Path(dirpath) / filename
            if full.is_file():
                entries.append((full.relative_to(root).as_posix(), full))
    entries.sort()
    labels_bytes = _read_labels_file(labels_path)
    members = ((name, full.read_bytes) for name, full in entries)
    return _load(
        members,
        len(entries),
        labels_bytes=labels_bytes,
        size=size,
        progress=progress,
        source=root.name,
    )


def load_image_zip(
    path: str | Path,
    *,
    labels_path: str | Path | None = None,
    size: int | None = None,
    max_bytes: int | None = None,
    max_uncompressed_bytes: int | None = None,
    progress: ProgressFn | None = None,
) -> ImageSet:
    """Read every image in a zip archive, in memory (nothing is extracted to disk).

    Parameters
    ----------
    path : path to the ``.zip``
    labels_path, size, progress : as :func:`load_images`
    max_bytes : int, optional
        Largest archive accepted; default :data:`MAX_ZIP_BYTES`.
    max_uncompressed_bytes : int, optional
        Largest total decompressed size; default :data:`MAX_UNCOMPRESSED_BYTES`.

    Raises
    ------
    ValueError
        ``"... is N bytes, more than the limit of M bytes"``, ``"unsafe member name ..."``,
        ``"... would decompress to more than ..."``, not a zip, or no images.
    """
    path = Path(path)
    max_bytes = MAX_ZIP_BYTES if max_bytes is None else int(max_bytes)
    max_total = MAX_UNCOMPRESSED_BYTES if max_uncompressed_bytes is None else max_uncompressed_bytes
    from core.io.guards import checked_regular_file

    checked_regular_file(path, "image zip")  # a FIFO or device must never block ZipFile()
    file_size = path.stat().st_size
    if file_size > max_bytes:
        raise ValueError(
            f"{path.name} is {file_size} bytes, more than the limit of {max_bytes} bytes"
        )
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path.name}: not a valid zip file ({exc})") from exc
    with archive:
        files = _zip_files(archive, path.name, max_total)
        budget = [max_total]

        def name_of(info: zipfile.ZipInfo) -> str:
            return info.filename[:80]

        def reader(info: zipfile.ZipInfo) -> bytes:
            # Headers can lie about sizes: count the bytes actually decompressed.
            chunks = []
            try:
                with archive.open(info) as handle:
                    while chunk := handle.read(_CHUNK):
                        budget[0] -= len(chunk)
                        if budget[0] < 0:
                            raise ValueError(
                                f"{path.name} decompresses to more than the limit of "
                                f"{max_total} bytes"
                            )
                        chunks.append(chunk)
            except _ZIP_READ_ERRORS as exc:  # a lying header, a bad CRC, a broken stream
                detail = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
                raise ValueError(
                    f"{path.name}: corrupt member {name_of(info)!r} ({detail})"
                ) from None
            return b"".join(chunks)

        labels_bytes = _read_labels_file(labels_path)
        names = sorted(files)
        members = ((name, functools.partial(reader, files[name])) for name in names)
        return _load(
            members,
            len(names),
            labels_bytes=labels_bytes,
            size=size,
            progress=progress,
            source=path.name,
        )


def _zip_files(archive: zipfile.ZipFile, source: str, max_total: int) -> dict[str, zipfile.ZipInfo]:
    """The archive's file members by safe name, after checking their count, names and declared
    total size (headers can lie: the reader counts the bytes actually decompressed too)."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ValueError(f"{source} has {len(infos)} entries, more than the limit of {MAX_MEMBERS}")
    files: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = _safe_member_name(info.filename)
        if info.is_dir():
            continue
        if name in files:
            raise ValueError(f"{source}: duplicate member name {name!r}")
        files[name] = info
    declared = sum(info.file_size for info in files.values())
    if declared > max_total:
        raise ValueError(
            f"{source} would decompress to {declared} bytes, more than the limit of "
            f"{max_total} bytes"
        )
    return files


def pixel_embeddings(images: np.ndarray) -> np.ndarray:
    """The raw-pixel embedding: each image flattened and scaled to [0, 1].

    Parameters
    ----------
    images : ndarray of shape (n, h, w) or (n, h, w, 3), uint8

    Returns
    -------
    ndarray of shape (n, h * w) or (n, h * w * 3), float32
    """
    return images.reshape(images.shape[0], -1).astype(np.float32) / 255.0


def image_set_to_dataset(
    image_set: ImageSet,
    embeddings: np.ndarray,
    *,
    name: str = "",
    sources: tuple[FileInfo, ...] = (),
) -> Dataset:
    """Combine an :class:`ImageSet` with its embeddings (n, d) into a validated ``Dataset``.

    ids are the image names, thumbnails the images, ``media_kind="image"``.
    """
    from core.io.data import make_dataset

    dataset = make_dataset(
        embeddings,
        media_kind="image",
        ids=image_set.names,
        labels=image_set.labels,
        thumbnails=image_set.images,
        name=name,
        sources=tuple(sources),
    )
    return dataset


# --------------------------------------------------------------------------------------------
# helpers

_DRIVE = re.compile(r"^[A-Za-z]:")


def _safe_member_name(raw: str) -> str:
    """Normalised member name; ``ValueError`` for absolute names or ``..`` components."""
    name = raw.replace("\\", "/")
    parts = name.split("/")
    if name.startswith("/") or _DRIVE.match(name) or ".." in parts:
        raise ValueError(f"unsafe member name {raw!r} in zip (absolute path or '..')")
    return str(PurePosixPath(*[p for p in parts if p not in ("", ".")])) if name.strip("/") else ""


def _read_labels_file(labels_path: str | Path | None) -> bytes | None:
    if labels_path is None:
        return None
    return Path(labels_path).read_bytes()


def _is_hidden(name: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))


def _load(
    members: Iterator[tuple[str, Callable[[], bytes]]],
    n_members: int,
    *,
    labels_bytes: bytes | None,
    size: int | None,
    progress: ProgressFn | None,
    source: str,
) -> ImageSet:
    if size is not None and size < 1:
        raise ValueError(f"size={size} should be >= 1")
    decoded: list[tuple[str, np.ndarray]] = []
    skipped: list[str] = []
    n_non_image = 0
    n_corrupt = 0
    for i, (name, read) in enumerate(members):
        if name == LABELS_FILE_NAME:
            if labels_bytes is None:
                labels_bytes = read()
            continue
        if _is_hidden(name) or not name.lower().endswith(IMAGE_EXTENSIONS):
            n_non_image += 1
            skipped.append(name)
            continue
        array = _decode(read())
        if array is None:
            n_corrupt += 1
            skipped.append(name)
        else:
            decoded.append((name, array))
        report(progress, (i + 1) / max(1, n_members), f"read {i + 1}/{n_members} files")
    if not decoded:
        raise ValueError(
            f"{source}: no readable images (.png/.jpg/.jpeg/.bmp/.gif) found; skipped "
            f"{n_non_image} non-image and {n_corrupt} unreadable files"
        )
    names = np.array([name for name, _ in decoded], dtype=str)
    images, resized = _stack([array for _, array in decoded], size)
    labels = _folder_labels(names) if labels_bytes is None else _match_labels(labels_bytes, names)
    return ImageSet(
        images=images,
        names=names,
        labels=labels,
        n_skipped_non_image=n_non_image,
        n_skipped_corrupt=n_corrupt,
        skipped=tuple(sorted(skipped)),
        resized=resized,
    )


def _decode(data: bytes) -> np.ndarray | None:
    """uint8 (h, w, 3) RGB array, or None when the bytes are not a readable image."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS or width < 1 or height < 1:
                    return None
                image.seek(0)
                if max(width, height) > MAX_READ_SIDE:
                    image.draft("RGB", (MAX_READ_SIDE, MAX_READ_SIDE))  # JPEG: decode smaller
                image.load()
                if max(image.size) > MAX_READ_SIDE:
                    image.thumbnail((MAX_READ_SIDE, MAX_READ_SIDE))
                if image.mode in ("RGBA", "LA", "PA") or (
                    image.mode == "P" and "transparency" in image.info
                ):
                    rgba = image.convert("RGBA")
                    black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
                    rgb = Image.alpha_composite(black, rgba).convert("RGB")
                else:
                    rgb = image.convert("RGB")
                return np.asarray(rgb, dtype=np.uint8).copy()
    except (
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        MemoryError,
        ZeroDivisionError,
    ):
        return None


def _stack(arrays: list[np.ndarray], size: int | None) -> tuple[np.ndarray, bool]:
    from PIL import Image

    shapes = {a.shape[:2] for a in arrays}
    keep = size is None and len(shapes) == 1 and max(next(iter(shapes))) <= MAX_KEEP_SIDE
    if not keep:
        side = DEFAULT_SIZE if size is None else int(size)
        arrays = [
            a
            if a.shape[:2] == (side, side)
            else np.asarray(Image.fromarray(a).resize((side, side), Image.Resampling.BILINEAR))
            for a in arrays
        ]
    images = np.stack(arrays).astype(np.uint8, copy=False)
    if np.array_equal(images[..., 0], images[..., 1]) and np.array_equal(
        images[..., 0], images[..., 2]
    ):
        images = np.ascontiguousarray(images[..., 0])
    return images, not keep


def _folder_labels(names: np.ndarray) -> np.ndarray | None:
    """ImageFolder labels: each image's class folder, or None when the layout is not one.

    Folders every image shares (a wrapping ``dataset/``) are dropped first; the label is then
    the first remaining folder, as torchvision's ``ImageFolder`` reads ``class/xxx.png``. Images
    lying outside any class folder, or a single class folder, mean no labels.
    """
    parts = [str(name).split("/")[:-1] for name in names]
    depth = min(len(p) for p in parts)
    shared = 0
    while shared < depth and len({p[shared] for p in parts}) == 1:
        shared += 1
    if shared == depth:  # some image sits beside the class folders (or there is only one)
        return None
    return np.array([p[shared] for p in parts], dtype=str)


def _match_labels(labels_bytes: bytes, names: np.ndarray) -> np.ndarray:
    import pandas as pd

    try:
        table = pd.read_csv(io.BytesIO(labels_bytes), dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises several parser error types
        raise ValueError(f"labels CSV could not be read ({exc})") from exc
    columns = [str(c).strip() for c in table.columns]
    table.columns = columns
    key = "file" if "file" in columns else "id" if "id" in columns else None
    if key is None or "label" not in columns:
        raise ValueError(
            f"labels CSV should have columns file,label or id,label; got {','.join(columns)}"
        )
    keys = table[key].str.strip().str.replace("\\", "/", regex=False)
    if keys.duplicated().any():
        dup = keys[keys.duplicated()].iloc[0]
        raise ValueError(f"labels CSV names {dup!r} more than once")
    by_path = dict(zip(keys, table["label"].str.strip(), strict=True))
    base_names = [n.rsplit("/", 1)[-1] for n in names]
    unique_base = len(set(base_names)) == len(base_names)
    labels: list[str] = []
    missing: list[str] = []
    for name, base in zip(names, base_names, strict=True):
        value = by_path.get(str(name))
        if value is None and unique_base:
            value = by_path.get(base)
        if value is None or value == "":
            missing.append(str(name))
            labels.append("")
        else:
            labels.append(value)
    if missing:
        raise ValueError(
            f"labels CSV has no label for {len(missing)} of {len(names)} images, "
            f"first: {missing[0]}"
        )
    return np.array(labels, dtype=str)
