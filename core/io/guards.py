"""Resource guards: refuse oversized or hostile inputs from their headers, before reading them.

Every check raises one ``ValueError`` whose message is a single line naming the file, the
declared size and the limit, so the CLI exits 2 with one line and the app shows one error box:

* :func:`checked_regular_file`: the path is a regular file (never a FIFO, device, folder or a
  symlink loop, so nothing can hang on ``open``) that we may read.
* :func:`check_npy_header` / :func:`check_npz_members`: the shape a ``.npy`` header (or each
  ``.npz`` member's zip entry and header) declares is checked against :data:`MAX_DIMENSIONS`
  and the memory limit before ``np.load`` allocates anything.
* :func:`check_memory`: planned work (bytes) against the memory limit, which defaults to
  :data:`DEFAULT_MEMORY_SHARE` of the machine's physical memory (``os.sysconf``) and can be set
  for a block of code with :func:`memory_limit_set` (the CLI's ``--max-memory``).
"""

from __future__ import annotations

import errno
import os
import stat
import tokenize
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import IO

import numpy as np

#: Largest embedding dimension accepted (columns of an embeddings file).
MAX_DIMENSIONS = 65_536
#: Share of physical memory that planned work may use unless a limit is set.
DEFAULT_MEMORY_SHARE = 0.5
#: Memory limit when the machine's physical memory cannot be read (8 GiB).
FALLBACK_MEMORY_BYTES = 8 * 1024**3

_memory_limit: ContextVar[int | None] = ContextVar("prunescope_memory_limit", default=None)


# ----------------------------------------------------------------------------- memory


def physical_memory() -> int | None:
    """Bytes of physical memory (``os.sysconf``), or None where it cannot be read."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        page_size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None
    return int(pages) * int(page_size) if pages > 0 and page_size > 0 else None


def memory_limit() -> int:
    """The memory limit in bytes: the one set by :func:`memory_limit_set`, else the default."""
    limit = _memory_limit.get()
    if limit is not None:
        return limit
    total = physical_memory()
    return FALLBACK_MEMORY_BYTES if total is None else int(total * DEFAULT_MEMORY_SHARE)


@contextmanager
def memory_limit_set(limit_bytes: int | None) -> Iterator[None]:
    """Use ``limit_bytes`` as the memory limit inside the block (None: the default)."""
    token = _memory_limit.set(limit_bytes)
    try:
        yield
    finally:
        _memory_limit.reset(token)


def parse_size(text: str) -> int:
    """``"512M"``, ``"4G"``, ``"1.5GiB"`` or a plain number of bytes, as an int > 0."""
    units = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = cleaned[-1:] if cleaned[-1:] in units else ""
    try:
        value = float(cleaned[: len(cleaned) - len(unit)]) * units[unit]
    except ValueError:
        raise ValueError(f"memory size {text!r} should be like 512M, 4G or 1.5GiB") from None
    if not value >= 1 or value == float("inf"):
        raise ValueError(f"memory size {text!r} should be at least 1 byte")
    return int(value)


def format_bytes(n_bytes: float) -> str:
    """``1.5 GiB``-style size for messages."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(n_bytes) < 1024 or unit == "TiB":
            return f"{n_bytes:,.0f} {unit}" if unit == "bytes" else f"{n_bytes:,.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:,.1f} PiB"  # pragma: no cover - the loop always returns


def check_memory(estimate_bytes: float, what: str) -> None:
    """Refuse planned work whose memory estimate exceeds :func:`memory_limit`.

    Raises
    ------
    ValueError
        ``"<what> needs about X, more than the memory limit of Y (--max-memory)"``.
    """
    limit = memory_limit()
    if estimate_bytes > limit:
        raise ValueError(
            f"{what} needs about {format_bytes(estimate_bytes)}, more than the memory limit of "
            f"{format_bytes(limit)} (raise it with --max-memory)"
        )


def planned_scoring_bytes(n: int, d: int, *, k: int = 0, block_rows: int = 65_536) -> int:
    """Memory estimate of scoring n x d embeddings against k centroids, chunk by chunk.

    The float32 matrix, a normalised copy, and one (block_rows, k) float32 distance block
    with its sorted copy.
    """
    return 4 * (2 * n * d + 2 * min(n, block_rows) * max(k, 1))


# ----------------------------------------------------------------------------- files


def checked_regular_file(path: str | Path, what: str) -> Path:
    """``path`` if it is a regular file we can read; stat first, so nothing can hang on open.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        A folder, FIFO, socket or device; a symlink loop; no permission to read it.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"{what} file not found", str(path)) from None
    except PermissionError:
        raise ValueError(f"{what} file {path}: permission denied") from None
    except (OSError, RuntimeError) as exc:
        if getattr(exc, "errno", None) == errno.ELOOP or isinstance(exc, RuntimeError):
            raise ValueError(f"{what} path {path} is a symlink loop") from None
        raise ValueError(f"{what} path {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise ValueError(f"{what} path {path} is not a file (it is a folder)")
    if not stat.S_ISREG(mode):
        raise ValueError(f"{what} path {path} is not a regular file (a FIFO, socket or device)")
    if not os.access(path, os.R_OK):
        raise ValueError(f"{what} file {path}: permission denied")
    return path


def read_npy_header(handle: IO[bytes], name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype a ``.npy`` header declares, read without touching the data.

    Raises
    ------
    ValueError
        Not a ``.npy`` header, or an unsupported version.
    """
    from numpy.lib import format as npy_format

    try:
        version = npy_format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = npy_format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _, dtype = npy_format.read_array_header_2_0(handle)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except (ValueError, OSError, EOFError, SyntaxError, TypeError, tokenize.TokenError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise ValueError(f"could not read {name}: bad .npy header ({detail[:200]})") from None
    return tuple(int(s) for s in shape), np.dtype(dtype)


def check_declared_array(shape: tuple[int, ...], dtype: np.dtype, name: str) -> None:
    """Refuse a declared embedding array that is too wide or would not fit in memory.

    Only 2-D shapes are checked for width (other shapes fail validation later, after a cheap
    read); the memory check counts the array as stored plus its float32 copy.
    """
    if len(shape) == 2 and shape[1] > MAX_DIMENSIONS:
        raise ValueError(
            f"{name} declares {shape[1]:,} columns, more than the limit of "
            f"d={MAX_DIMENSIONS:,} embedding dimensions"
        )
    n_values = int(np.prod(shape, dtype=object)) if shape else 1
    itemsize = dtype.itemsize if dtype.kind != "O" else 8
    check_memory(n_values * (itemsize + 4), f"{name} (declared shape {shape}, {dtype})")


def check_npy_header(path: Path) -> None:
    """Check the shape and dtype a ``.npy`` file declares (see :func:`check_declared_array`)."""
    with path.open("rb") as handle:
        shape, dtype = read_npy_header(handle, path.name)
    check_declared_array(shape, dtype, path.name)


def check_npz_members(path: Path) -> None:
    """Check each ``.npz`` member: its declared uncompressed size and its ``.npy`` header.

    Raises
    ------
    ValueError
        Not a zip, a member over the memory limit, a member with a bad header, or a member
        whose header declares a shape that is too wide or too large.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                member = f"{path.name}[{info.filename[:80]}]"
                check_memory(info.file_size, f"{member} ({info.file_size:,} bytes unpacked)")
                with archive.open(info) as handle:
                    shape, dtype = read_npy_header(handle, member)
                check_declared_array(shape, dtype, member)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as exc:
        raise ValueError(f"could not read {path.name} as .npz: {_one_line(exc)}") from None
    except (RuntimeError, NotImplementedError) as exc:  # encrypted / unsupported compression
        raise ValueError(f"could not read {path.name} as .npz: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return text[:200]
