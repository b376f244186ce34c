"""The machine-wide cache directory, and umap-learn imported so its numba kernels are cached there.

umap-learn and pynndescent compile their numba kernels on first use: 20-45 s in every fresh
process (minutes on a busy machine). numba can keep compiled kernels on disk, in
``NUMBA_CACHE_DIR``, for functions decorated with ``cache=True``; pynndescent marks most of its
kernels so, umap-learn 0.5 few of its own. :func:`import_umap` points numba at
``<cache_dir()>/numba`` and imports umap-learn with ``cache=True`` as the default of
``numba.njit``, so the kernels compile once per machine instead of once per process.
pynndescent's ``nn_descent`` cannot be cached (it takes a numba function as an argument), so
prunescope gives UMAP exact neighbours instead (``core.analysis.projection.exact_knn``) and never
runs it: a new process then loads every kernel it needs from disk in about 3.5 s.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

#: Environment variable naming the cache directory (default ``~/.cache/prunescope``).
ENV_CACHE_DIR = "PRUNESCOPE_CACHE_DIR"

_IMPORT_LOCK = threading.Lock()


def cache_dir() -> Path:
    """The directory prunescope caches in: ``$PRUNESCOPE_CACHE_DIR`` or ``~/.cache/prunescope``.

    Not created here; see :func:`configure_numba_cache`.
    """
    configured = os.environ.get(ENV_CACHE_DIR, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "prunescope"


def configure_numba_cache() -> Path | None:
    """Point numba's on-disk kernel cache at ``<cache_dir()>/numba``; return it (None if unusable).

    An explicit ``NUMBA_CACHE_DIR`` in the environment wins. numba reads that variable when it is
    first imported, so the setting is also copied into ``numba.config`` when numba is already
    loaded. A directory that cannot be created leaves numba's default (no error: caching is an
    optimisation).
    """
    path = Path(os.environ.get("NUMBA_CACHE_DIR") or cache_dir() / "numba")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    import sys

    numba = sys.modules.get("numba")
    if numba is not None:
        numba.config.CACHE_DIR = str(path)
    return path


def import_umap() -> ModuleType:
    """``import umap`` with its numba kernels cached on disk (see the module docstring)."""
    with _IMPORT_LOCK:
        import sys

        if "umap" in sys.modules:
            return sys.modules["umap"]
        if configure_numba_cache() is None:
            import umap

            return umap
        import numba
        from numba.core.errors import NumbaWarning

        # Kernels that use dynamic globals cannot be cached; numba says so once each. Expected.
        warnings.filterwarnings(
            "ignore", message=".*Cannot cache compiled function", category=NumbaWarning
        )
        real_njit = numba.njit
        numba.njit = _caching(real_njit)
        try:
            import umap
        finally:
            numba.njit = real_njit
        return umap


def _caching(njit: Any) -> Any:
    """``njit`` with ``cache=True`` as its default, in both decorator forms."""

    def caching_njit(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cache", True)
        if len(args) == 1 and callable(args[0]) and not isinstance(args[0], str):
            return njit(**kwargs)(args[0])
        return njit(*args, **kwargs)

    return caching_njit
