"""Out-of-core and multi-machine SSP scoring on Dask (same scores as ``core.scores.metrics``).

``score_ssp_dask`` / ``score_prototype_margin_dask`` give the same :class:`core.scores.metrics.Scores`
as ``score_ssp`` / ``score_prototype_margin`` for the same seed, but never hold the (n, d)
embeddings in memory: k-means is fitted on a seeded sample of at most ``256 * k`` rows (the very
rows ``core.scores.kmeans.fit_kmeans`` samples), then the nearest-centroid search runs chunk by chunk
with ``map_blocks``-style tasks, the (k, d) centroids sent once as a single-chunk array.

Which scheduler runs the tasks is up to you: whatever Dask is configured to use (threads by
default; ``dask.config.set(scheduler="synchronous")``, ``"processes"``, or a
``distributed.Client`` made the default) is used as is.

Running on a cluster
--------------------
``dask_client("local:2")`` (``--dask-scheduler local:2``) starts two worker processes on this
machine, on loopback; for several machines:

1. ``pip install -r requirements.txt`` (dask and distributed, same version) on every machine.
2. Start a scheduler (``dask scheduler``, prints ``tcp://HOST:8786``) and workers
   (``dask worker tcp://HOST:8786 --nthreads 4``), or use dask-jobqueue / dask-kubernetes.
3. Put the ``.npy`` file where every worker can read it under the same path (NFS, a shared
   volume): chunks are read by the workers themselves from a memory map, only the path travels.
4. Run ``python -m core score emb.npy --dask --dask-scheduler tcp://HOST:8786 --k 1000
   --out scores.csv`` or, from Python::

       from distributed import Client
       from core.scores.distributed import open_npy, score_ssp_dask

       with Client("tcp://HOST:8786"):
           scores = score_ssp_dask(open_npy("/shared/emb.npy"), k=1000, seed=0)

``score_ssp_dask`` gathers the per-example results (n float64 values and n int64 clusters) on
the client, about 16 bytes per example; :func:`score_blocks_dask` leaves them in their chunks
for :func:`core.prune.select_dask.select_kept_dask`, which brings back the kept rows only.
The embeddings themselves never are gathered.
Progress is reported for the local schedulers (threads, processes, synchronous) only.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from core._progress import ProgressFn, report, sub_progress
from core.scores.kmeans import (
    BACKENDS,
    _fit_faiss,
    _fit_sklearn,
    _greedy_kmeans_plus_plus,
    _nearest_centroids,
    _normalize_rows,
    _resolve_backend,
    inertia_from_parts,
    inertia_parts,
    single_threaded,
)
from core.scores.metrics import DISTANCES, ScoreParams, Scores
from core.validate import check_choice, check_int, check_k, check_seed

if TYPE_CHECKING:
    import dask.array

    from core.io.data import Dataset

#: At most this many rows per chunk when a NumPy array or a ``.npy`` file is split into chunks
#: (and ``chunk_rows`` is not given): ``ceil(n / 65536)`` chunks of equal size, so the last
#: chunk is not a small remainder that leaves workers idle.
DEFAULT_CHUNK_ROWS = 65536
#: Version of ``distributed`` to install alongside dask for cluster runs.
DISTRIBUTED_PIN = "distributed==2026.8.0"

_POINTS_PER_CENTROID = 256  # same fitting-sample rule as core.scores.kmeans.fit_kmeans / score_ssp
_KMEANS_ITER = 20  # same as core.scores.metrics
_ASSIGN_ROWS = 65536  # row blocks inside one chunk, as in the in-memory path
# What the tasks of this module and core.prune.semdedup_dask need in a worker (light: no
# torch, scikit-learn or faiss at module level; not dask.array either: the tasks are plain
# functions on NumPy blocks, built with dask.delayed).
_WORKER_PRELOAD = ("core.scores.distributed", "core.prune.semdedup_dask")
# distributed's default ``distributed.nanny.pre-spawn-environ`` but MALLOC_TRIM_THRESHOLD_,
# which the forkserver of local:N workers needs before distributed is imported
# (tests/core/test_dask_cluster.py compares them with distributed's).
_WORKER_ENVIRON = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


# ----------------------------------------------------------------------------- public functions


def score_ssp_dask(
    embeddings: str | Path | dask.array.Array | np.ndarray,
    *,
    k: int,
    distance: str = "cosine",
    backend: str = "auto",
    seed: int = 0,
    sample_size: int | None = None,
    chunk_rows: int | None = None,
    progress: ProgressFn | None = None,
) -> Scores:
    """SSP score (distance to the nearest k-means centroid) computed with Dask.

    Higher = harder. Same definition and, for the same ``seed``, the same result as
    :func:`core.scores.metrics.score_ssp`: the fitting sample is the same rows (``numpy`` generator
    seeded by ``seed``, ``choice(n, size=min(n, 256 * k), replace=False)``, sorted), so the
    centroids are bit-identical; values and clusters are computed by the same float32 code per
    chunk, and agree with the in-memory path to float32 rounding (in practice exactly; a BLAS
    may sum a product in another order for another block shape, so a distance can move by an
    ulp and an exact tie between two centroids could in principle resolve differently).

    Parameters
    ----------
    embeddings : str, Path, dask.array.Array or array_like of shape (n, d)
        Real-valued; each chunk is used as float32. NaN/inf are found chunk by chunk.
        A path to a ``.npy`` file is opened with :func:`open_npy` (every worker must read it
        at the same path), and chunks read their rows in the task; a NumPy array's chunks
        are slices of it. For these two the client reads the fitting sample itself (from
        the memory map, block by block), so no task runs before the assignment pass and a
        cluster's workers can still be starting while the client fits k-means; a Dask
        array's sample is computed by the scheduler. Neither imports ``dask.array``.
    k : int
        Number of clusters, ``1 <= k <= n``.
    distance : {"cosine", "euclidean"}
    backend : {"auto", "faiss", "sklearn"}
        k-means backend for the fit on the sample (runs on the client).
    seed : int
        Seed of the fitting sample and of the k-means initialisation.
    sample_size : int or None
        Rows the k-means fit uses, in ``[k, n]``; None -> ``min(n, 256 * k)`` (the in-memory
        rule). Equal to ``fit_kmeans(..., max_points_per_centroid=m)`` when
        ``sample_size == min(n, m * k)``.
    chunk_rows : int or None
        Rows per chunk of the assignment pass. None keeps a Dask array's row chunks and
        splits a path or a NumPy array into ``ceil(n / 65536)`` chunks of equal size. The
        column axis is always one chunk.
    progress : callable (fraction, message) or None
        Reported while sampling, fitting and (on the local schedulers) assigning.

    Returns
    -------
    Scores
        ``metric="ssp"``, values (n,) float64 in [0, 2] for cosine, clusters (n,) int64,
        centroids (k, d) float32, params as ``score_ssp`` plus ``"executor": "dask"``.

    Raises
    ------
    ValueError
        Not 2-D, empty, non-numeric, unknown chunk sizes, k not in [1, n], bad distance /
        backend / seed / sample_size / chunk_rows, NaN/inf in any row (the message gives
        the count and the first row numbers), or a path that is not a 2-D numeric ``.npy``.
    FileNotFoundError
        When a path does not exist.
    """
    return _checked_score(
        embeddings, "ssp", k, distance, backend, seed, sample_size, chunk_rows, progress, False
    ).gather()


def score_prototype_margin_dask(
    embeddings: str | Path | dask.array.Array | np.ndarray,
    *,
    k: int,
    distance: str = "cosine",
    backend: str = "auto",
    seed: int = 0,
    sample_size: int | None = None,
    chunk_rows: int | None = None,
    progress: ProgressFn | None = None,
) -> Scores:
    """Prototype margin ``d1 - d2`` (nearest minus second-nearest centroid) computed with Dask.

    Values are <= 0, higher = harder; same fit and agreement with
    :func:`core.scores.metrics.score_prototype_margin` as :func:`score_ssp_dask` has with
    ``score_ssp``.

    Parameters
    ----------
    embeddings : str, Path, dask.array.Array or array_like of shape (n, d)
    k : int
        Number of clusters, ``2 <= k <= n``.
    distance, backend, seed, sample_size, chunk_rows, progress
        As for :func:`score_ssp_dask`.

    Returns
    -------
    Scores
        ``metric="prototype_margin"``, values (n,) float64 <= 0, clusters (n,) int64 nearest
        centroid, centroids (k, d) float32.

    Raises
    ------
    ValueError
        As :func:`score_ssp_dask`, and when ``k < 2``.
    """
    return _checked_score(
        embeddings,
        "prototype_margin",
        k,
        distance,
        backend,
        seed,
        sample_size,
        chunk_rows,
        progress,
        False,
    ).gather()


def open_npy(path: str | Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> dask.array.Array:
    """A ``.npy`` file as a Dask array read lazily, chunk by chunk, from a memory map.

    Built with ``dask.array.from_array`` on a small picklable wrapper around
    ``np.load(path, mmap_mode="r", allow_pickle=False)``: each task maps the file itself and
    copies out only its rows, so with a ``distributed`` cluster only the path is shipped (the
    file must be readable at the same path on every worker).

    Parameters
    ----------
    path : str or Path
        A 2-D numeric ``.npy`` file.
    chunk_rows : int
        Rows per chunk, >= 1; columns are one chunk.

    Returns
    -------
    dask.array.Array of shape (n, d), the file's dtype

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        Not a ``.npy`` file, a pickled/object array, not 2-D, or not real-valued.
    """
    chunk_rows = check_int("chunk_rows", chunk_rows, low=1)
    return _npy_array(_NpyRows(Path(path)), chunk_rows)


def load_npy_dataset(
    embeddings_path: str | Path,
    meta_path: str | Path | None = None,
    *,
    id_column: str = "id",
    label_column: str = "label",
) -> Dataset:
    """Ids, labels and provenance of a ``.npy`` + metadata pair, embeddings left on disk.

    The returned :class:`core.io.data.Dataset` holds a read-only memory map as ``embeddings``
    (not validated, not cast: :func:`score_ssp_dask` checks it chunk by chunk), so ``n``,
    ``d`` and the exports work without loading the matrix. Ids and labels are validated as
    :func:`core.io.data.load_dataset` does.

    Parameters
    ----------
    embeddings_path : str or Path
        A 2-D numeric ``.npy`` file.
    meta_path : str or Path, optional
        Metadata ``.csv``/``.parquet`` with one row per embedding.
    id_column, label_column : str
        As for :func:`core.io.data.load_dataset`.

    Returns
    -------
    Dataset

    Raises
    ------
    FileNotFoundError
        When a file does not exist.
    ValueError
        Bad ``.npy`` file or metadata (see :func:`open_npy`, :func:`core.io.data.load_metadata`).
    """
    from core.io.data import _optional_column, file_info, load_metadata, make_dataset

    embeddings_path = Path(embeddings_path)
    matrix = _NpyRows(embeddings_path).open()
    n = int(matrix.shape[0])
    sources = [file_info(embeddings_path)]
    ids = labels = None
    if meta_path is not None:
        meta = load_metadata(meta_path, n_rows=n)
        sources.append(file_info(meta_path))
        columns = [str(column) for column in meta.columns]
        where = f"metadata {Path(meta_path).name}"
        ids = _optional_column(meta, id_column, "id", where, columns)
        labels = _optional_column(meta, label_column, "label", where, columns)
    # make_dataset validates ids and labels; a one-column placeholder stands in for the matrix.
    placeholder = np.zeros((n, 1), dtype=np.float32)
    try:
        dataset = make_dataset(
            placeholder, ids=ids, labels=labels, name=embeddings_path.stem, sources=sources
        )
    except ValueError as exc:
        if meta_path is None:
            raise ValueError(f"embeddings in {embeddings_path.name}: {exc}") from None
        raise ValueError(f"metadata {Path(meta_path).name}: {exc}") from None
    return replace(dataset, embeddings=matrix)


@contextmanager
def dask_client(address: str) -> Iterator[Any]:
    """Connect to (or start) a ``distributed`` cluster and make it Dask's default while open.

    ``"local"`` or ``"local:N"`` starts a ``LocalCluster`` of N worker processes (default 2)
    with one thread each, on loopback only (``127.0.0.1``, no dashboard: nothing else
    listens), and closes it on exit, also when the block raises. It yields once the
    scheduler is up; the workers join in the background (``client.wait_for_workers(N)``
    waits for them), so the caller's own work overlaps their start-up. Any other address
    joins a running scheduler, which is left running.

    Parameters
    ----------
    address : str
        ``"local"``, ``"local:N"`` (1 <= N <= 256) or a scheduler address such as
        ``tcp://10.0.0.5:8786``.

    Yields
    ------
    distributed.Client

    Raises
    ------
    ValueError
        When ``distributed`` is not installed (the message says what to install), or when
        the address is empty or ``local:N`` has a bad N.
    OSError
        When the scheduler cannot be reached.
    """
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"scheduler address={address!r} should be like tcp://HOST:8786 or local")
    address = address.strip()
    n_workers = _local_workers(address)
    method = "spawn"  # distributed's default
    if n_workers is not None and importlib.util.find_spec("distributed") is not None:
        # Now, before this process imports distributed: the forkserver imports it meanwhile.
        method = _start_forkserver()
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError(
            "connecting to a Dask scheduler needs the 'distributed' package, which is not "
            f"installed: pip install {DISTRIBUTED_PIN}"
        ) from None
    if n_workers is None:
        with Client(address, set_as_default=True) as client:
            yield client
        return
    with (
        dask.config.set({"distributed.worker.multiprocessing-method": method}),
        LocalCluster(
            n_workers=0,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # No dashboard; the scheduler's small HTTP server (health checks) on a free
            # loopback port rather than 8787, which a user's own cluster may hold.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            # Imported as a worker starts, not at its first task (already there when forked).
            preload=list(_WORKER_PRELOAD),
        ) as cluster,
    ):
        # Workers start in the background while the caller goes on; tasks wait on the
        # scheduler until they join. Scoring reads and fits its k-means sample on the
        # client meanwhile (see _score_dask).
        cluster.scale(n_workers)
        # By address: a Client given the cluster object would wait for the workers.
        with Client(cluster.scheduler_address, set_as_default=True) as client:
            yield client


def _start_forkserver() -> str:
    """Start the forkserver that ``dask_client("local:N")``'s worker processes are forked from.

    A spawned worker is a fresh interpreter that imports distributed itself (about half a
    CPU-second each); the forkserver imports it once, with our task modules, and every worker
    is forked from that. It is started here rather than by the first worker, so that it
    imports while the client imports distributed and starts the scheduler (on two cores,
    workers were ready 0.2-0.3 s sooner). It lives until this process exits. Returns the
    start method for the workers: ``"forkserver"``, or ``"spawn"`` where there is none
    (Windows). No-op when it already runs.

    It gets the BLAS settings distributed gives its workers (``_WORKER_ENVIRON``; a variable
    already set in the environment wins, as in distributed); numpy reads them on import in
    the forkserver, so they must be there when it starts. Not distributed's
    ``MALLOC_TRIM_THRESHOLD_=65536``: it makes glibc hand every large buffer back to the OS
    and fault it in again on the next allocation (the assignment's blocks ran about a
    quarter slower), and these workers live for one command.
    """
    import multiprocessing
    import multiprocessing.forkserver

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return "spawn"
    multiprocessing.get_context("forkserver").set_forkserver_preload(
        ["distributed", *_WORKER_PRELOAD]
    )
    added = [name for name in _WORKER_ENVIRON if name not in os.environ]
    os.environ.update({name: _WORKER_ENVIRON[name] for name in added})
    try:
        multiprocessing.forkserver.ensure_running()
    finally:  # this process's own environment as it was
        for name in added:
            os.environ.pop(name, None)
    return "forkserver"


def _local_workers(address: str) -> int | None:
    """N of ``local`` / ``local:N`` (default 2), None for a scheduler address."""
    name, _, count = address.partition(":")
    if name != "local":
        return None
    if not count:
        return 2
    if not count.isdigit() or not 1 <= int(count) <= 256:
        raise ValueError(f"scheduler address={address!r}: local:N needs N in [1, 256]")
    return int(count)


# ----------------------------------------------------------------------------- private helpers


class _NpyRows:
    """Array-like over a ``.npy`` file that pickles as its path and layout.

    Every read maps the file, copies the rows out and unmaps it again: pages of a mapping
    that stays open count as the process's resident memory once touched, so a long-lived
    map would grow a worker (or the client) towards the file size.
    """

    __slots__ = ("_map", "dtype", "ndim", "offset", "order", "path", "shape")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._map: np.ndarray | None = None
        matrix = self.open()
        self.shape: tuple[int, ...] = tuple(int(s) for s in matrix.shape)
        self.dtype = matrix.dtype
        self.ndim = 2
        self.offset = int(getattr(matrix, "offset", 0))
        fortran = matrix.flags.f_contiguous and not matrix.flags.c_contiguous
        self.order = "F" if fortran else "C"

    def open(self) -> np.ndarray:
        """The memory map, opened (and checked) once per process."""
        if self._map is None:
            self._map = _open_npy(self.path)
        return self._map

    def token(self) -> str:
        from dask.base import tokenize

        stat = self.path.stat()
        return tokenize(str(self.path.resolve()), stat.st_size, stat.st_mtime_ns, self.shape)

    def __dask_tokenize__(self) -> str:
        return self.token()

    def __getitem__(self, key: Any) -> np.ndarray:
        mapped = np.memmap(  # type: ignore[call-overload]
            self.path,
            dtype=self.dtype,
            mode="r",
            offset=self.offset,
            shape=self.shape,
            order=self.order,
        )
        return np.array(mapped[key])  # a copy: the map is unmapped when `mapped` goes

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("path", "shape", "dtype", "offset", "order")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self.ndim = 2
        self._map = None


def _npy_array(rows: _NpyRows, chunk_rows: int) -> dask.array.Array:
    import dask.array as da

    return da.from_array(rows, chunks=(chunk_rows, rows.shape[1]), name=f"npy-{rows.token()}")


def _open_npy(path: Path) -> np.ndarray:
    from core.io.guards import MAX_DIMENSIONS, checked_regular_file, read_npy_header

    checked_regular_file(path, "embeddings")  # a FIFO or device must never block the read below
    if path.suffix.lower() != ".npy":
        raise ValueError(
            f"Dask scoring reads a memory-mapped .npy file; got {path.name} "
            "(convert it with numpy.save, or score without --dask)"
        )
    with path.open("rb") as handle:
        magic = handle.read(6)
    if magic != b"\x93NUMPY":
        raise ValueError(f"could not read {path.name}: not a NumPy .npy file")
    with path.open("rb") as handle:
        shape, _ = read_npy_header(handle, path.name)
    if len(shape) == 2 and shape[1] > MAX_DIMENSIONS:
        raise ValueError(
            f"{path.name} declares {shape[1]:,} columns, more than the limit of "
            f"d={MAX_DIMENSIONS:,} embedding dimensions"
        )
    try:
        matrix = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:  # object dtype cannot be memory-mapped
        raise ValueError(f"{path.name}: pickled/object arrays are not accepted ({exc})") from None
    if matrix.ndim != 2:
        raise ValueError(f"embeddings in {path.name} should be 2-D (n, d), got {matrix.shape}")
    if matrix.dtype == np.bool_ or matrix.dtype.kind not in "fiu":
        raise ValueError(f"embeddings in {path.name} should be real numbers, got {matrix.dtype}")
    return matrix


def _check_args(
    embeddings: object,
    k: object,
    distance: object,
    backend: object,
    seed: object,
    sample_size: object,
    chunk_rows: object,
) -> tuple[_Chunked, int, str, str, int, int]:
    """Validate everything that can be checked without reading the data; split it in chunks."""
    if chunk_rows is not None:
        chunk_rows = check_int("chunk_rows", chunk_rows, low=1)
    # A Dask array can only come from a caller that imported dask.array: the other inputs
    # never import it (about 0.25 s here, and again in every worker process).
    array_module = sys.modules.get("dask.array")
    if array_module is not None and isinstance(embeddings, array_module.Array):
        data = _dask_array_chunks(embeddings, chunk_rows)
    else:
        if isinstance(embeddings, str | Path):
            source: _NpyRows | np.ndarray = _NpyRows(Path(embeddings))
        else:
            source = np.asarray(embeddings)
        if source.ndim != 2:
            raise ValueError(f"embeddings should be 2-D (n, d), got shape {source.shape}")
        data = _Chunked(source, _row_bounds(int(source.shape[0]), chunk_rows))
    n, d = data.shape
    if n < 1 or d < 1:
        raise ValueError(f"embeddings should have at least one row and column, got {(n, d)}")
    if data.dtype == np.bool_ or data.dtype.kind not in "fiu":
        raise ValueError(
            f"embeddings should be a real-valued numeric array, got dtype {data.dtype}"
        )
    k_ = check_k(k, n)
    distance_ = check_choice("distance", distance, DISTANCES)
    backend_ = _resolve_backend(check_choice("backend", backend, BACKENDS))
    seed_ = check_seed(seed)
    if sample_size is None:
        n_fit = min(n, _POINTS_PER_CENTROID * k_)
    else:
        n_fit = check_int("sample_size", sample_size, low=k_, high=n)
    return data, k_, distance_, backend_, seed_, n_fit


class _Chunked(NamedTuple):
    """The embeddings and the row ranges of their chunks.

    ``source`` is a ``.npy`` file (:class:`_NpyRows`) or a NumPy array, which the client can
    read its k-means sample from without running a task, with the ``[lo, hi)`` row ranges of
    its chunks in ``bounds``; or a Dask array with one column chunk, which brings its own
    chunks (``bounds`` empty).
    """

    source: Any
    bounds: tuple[tuple[int, int], ...]

    @property
    def shape(self) -> tuple[int, int]:
        n, d = self.source.shape
        return int(n), int(d)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.source.dtype)

    @property
    def local(self) -> bool:
        """True when the client reads the rows itself (a file or a NumPy array)."""
        return isinstance(self.source, _NpyRows | np.ndarray)

    @property
    def row_bounds(self) -> tuple[tuple[int, int], ...]:
        """The ``[lo, hi)`` rows of every chunk, in order."""
        if self.bounds or self.local:
            return self.bounds
        edges = np.cumsum([0, *self.source.chunks[0]]).tolist()
        return tuple(itertools.pairwise(int(e) for e in edges))

    def nodes(self) -> list[Any]:
        """One ``dask.delayed`` node per chunk, evaluating to its rows (a NumPy array).

        A file's chunk is a task that reads its rows (only the path travels); a NumPy
        array's chunk is the slice itself; a Dask array's are its blocks.
        """
        import dask

        if not self.local:
            return list(self.source.to_delayed().ravel())
        if isinstance(self.source, _NpyRows):
            name = f"npy-rows-{self.source.token()}"
            return [
                dask.delayed(_read_block, pure=True)(self.source, lo, hi, dask_key_name=(name, i))
                for i, (lo, hi) in enumerate(self.bounds)
            ]
        name = f"array-rows-{uuid.uuid4().hex}"  # not a hash of the whole array
        return [
            dask.delayed(self.source[lo:hi], name=f"{name}-{i}")
            for i, (lo, hi) in enumerate(self.bounds)
        ]


def _row_bounds(n: int, chunk_rows: int | None) -> tuple[tuple[int, int], ...]:
    """``[lo, hi)`` row ranges: ``chunk_rows`` each (the last may be shorter), or for None
    ``ceil(n / DEFAULT_CHUNK_ROWS)`` ranges whose sizes differ by at most one row."""
    if chunk_rows is None:
        count = max(1, -(-n // DEFAULT_CHUNK_ROWS))
        edges = [n * i // count for i in range(count + 1)]
    else:
        edges = [*range(0, n, chunk_rows), n]
    return tuple((lo, hi) for lo, hi in itertools.pairwise(edges) if hi > lo)


def _dask_array_chunks(x: dask.array.Array, chunk_rows: int | None) -> _Chunked:
    """A Dask array with one column chunk (rows rechunked to ``chunk_rows`` if given)."""
    if x.ndim != 2:
        raise ValueError(f"embeddings should be 2-D (n, d), got shape {x.shape}")
    if any(math.isnan(size) for size in x.shape):
        raise ValueError(
            f"embeddings have unknown chunk sizes (shape {x.shape}); call "
            "compute_chunk_sizes() on the Dask array first"
        )
    row_chunks: int | tuple[int, ...] = x.chunks[0] if chunk_rows is None else int(chunk_rows)
    if x.numblocks[1] != 1 or chunk_rows is not None:
        x = x.rechunk((row_chunks, -1))
    return _Chunked(x, ())


def _read_block(source: _NpyRows, lo: int, hi: int) -> np.ndarray:
    return source[lo:hi]


@dataclass(frozen=True, eq=False)
class ScoredBlocks:
    """Scores that stay in their Dask chunks (on the workers of a cluster).

    Attributes
    ----------
    metric : str
        ``"ssp"`` or ``"prototype_margin"``.
    params : ScoreParams
        As the in-memory scores' (``inertia`` summed exactly over every chunk), plus
        ``executor="dask"``.
    centroids : ndarray of shape (k, d), float32
    bounds : tuple of (int, int)
        The ``[lo, hi)`` rows of each chunk, in row order.
    blocks : tuple
        One persisted ``dask.delayed`` per chunk (or its computed value), evaluating to
        ``(values, clusters, ...)`` of its rows ((m,) float64 and (m,) int64; then what the
        client checks once).
    """

    metric: str
    params: ScoreParams
    centroids: np.ndarray
    bounds: tuple[tuple[int, int], ...]
    blocks: tuple[Any, ...]

    @property
    def n(self) -> int:
        return self.bounds[-1][1] if self.bounds else 0

    def gather(self) -> Scores:
        """All n values and clusters on the client, as the in-memory :class:`Scores`."""
        parts = _compute(*self.blocks)
        values = np.concatenate([part[0] for part in parts])
        clusters = np.concatenate([part[1] for part in parts])
        return Scores(self.metric, values, clusters, self.centroids, self.params)


def score_blocks_dask(
    embeddings: str | Path | dask.array.Array | np.ndarray,
    *,
    metric: str = "ssp",
    k: int,
    distance: str = "cosine",
    backend: str = "auto",
    seed: int = 0,
    sample_size: int | None = None,
    chunk_rows: int | None = None,
    progress: ProgressFn | None = None,
) -> ScoredBlocks:
    """:func:`score_ssp_dask` or :func:`score_prototype_margin_dask` (``metric``) without
    gathering: the scores stay in their chunks for :func:`core.prune.select_dask.select_kept_dask`.

    Parameters and errors as :func:`score_ssp_dask` (``metric`` is ``"ssp"`` or
    ``"prototype_margin"``, which needs ``k >= 2``).
    """
    metric = check_choice("metric", metric, ("ssp", "prototype_margin"))
    return _checked_score(
        embeddings, metric, k, distance, backend, seed, sample_size, chunk_rows, progress, True
    )


def _checked_score(
    embeddings: Any,
    metric: str,
    k: int,
    distance: str,
    backend: str,
    seed: int,
    sample_size: int | None,
    chunk_rows: int | None,
    progress: ProgressFn | None,
    persist: bool,
) -> ScoredBlocks:
    """The public scorers' checks (``prototype_margin`` needs two centroids), then the run."""
    data, k, distance, backend, seed, n_fit = _check_args(
        embeddings, k, distance, backend, seed, sample_size, chunk_rows
    )
    if metric == "prototype_margin" and k < 2:
        raise ValueError(f"prototype_margin needs k >= 2 (two nearest centroids), got k={k}")
    return _score_dask(data, metric, k, distance, backend, seed, n_fit, progress, persist=persist)


def _score_dask(
    data: _Chunked,
    metric: str,
    k: int,
    distance: str,
    backend: str,
    seed: int,
    n_fit: int,
    progress: ProgressFn | None,
    *,
    persist: bool = True,
) -> ScoredBlocks:
    """ssp / prototype_margin on validated, chunked embeddings; the scores stay in chunks on
    the workers (``persist``) or come to the client in one pass (for :meth:`ScoredBlocks.gather`
    right after)."""
    import dask

    n = data.shape[0]
    spherical = distance == "cosine"

    report(progress, 0.0, f"gathering {n_fit} of {n} examples for k-means (k={k})")
    # Exactly core.scores.kmeans._fit_kmeans's sample, so the centroids match the in-memory path.
    rows = None
    if n_fit < n:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=n_fit, replace=False))
    if data.local:
        # Read here rather than by tasks: nothing waits for a cluster's workers (still
        # starting, with dask_client("local:N")) before the assignment pass.
        sample = _read_rows(data.source, np.arange(n) if rows is None else rows)
    else:
        with _dask_progress(sub_progress(progress, 0.0, 0.1)):
            (sample,) = _compute(data.source if rows is None else data.source[rows])
    with np.errstate(over="ignore"):  # beyond float32 becomes inf, reported below
        sample = np.ascontiguousarray(sample, dtype=np.float32)
    if not np.isfinite(sample).all():
        _raise_non_finite(data, progress)

    centroids_np, n_iter = _fit_centroids(sample, k, backend, spherical, seed, progress)
    del sample
    # One node: a cluster ships the centroids to each worker once, not with every task.
    centroids = dask.delayed(centroids_np, name=f"centroids-{uuid.uuid4().hex}")
    score = dask.delayed(_score_block, pure=True)
    tasks = [score(block, centroids, metric=metric, distance=distance) for block in data.nodes()]
    report(progress, 0.3, f"assigning {n} examples in {len(tasks)} chunks")
    with _dask_progress(sub_progress(progress, 0.3, 0.98)):
        blocks = _persist(*tasks) if persist else _compute(*tasks)
    if persist:
        summary = dask.delayed(_block_summary, pure=True)
        summaries = _compute(*[summary(block) for block in blocks])
    else:
        summaries = tuple(_block_summary(block) for block in blocks)
    bounds = data.row_bounds
    bad = np.concatenate([lo + rows for (lo, _), (rows, _) in zip(bounds, summaries, strict=True)])
    if bad.size:
        raise _non_finite_error(bad)
    # Summed exactly, as core.scores.kmeans._fit_kmeans does over the whole (n,) array.
    inertia = inertia_from_parts(sum(parts for _, parts in summaries), spherical)
    params = ScoreParams(
        k=k,
        distance=distance,
        backend=backend,
        seed=seed,
        n_iter=n_iter,
        spherical=spherical,
        inertia=inertia,
        n_fit=n_fit,
        executor="dask",
    )
    report(progress, 1.0, f"{metric} scores done")
    return ScoredBlocks(metric, params, centroids_np, bounds, tuple(blocks))


def _fit_centroids(
    sample: np.ndarray,
    k: int,
    backend: str,
    spherical: bool,
    seed: int,
    progress: ProgressFn | None,
) -> tuple[np.ndarray, int]:
    """Centroids (k, d) float32 and iterations of the k-means fit on the drawn sample.

    The fitting steps of ``core.scores.kmeans._fit_kmeans`` for a sample it would not subsample
    again, without its last step (assigning every sample row, which the chunked pass redoes for
    all rows anyway: at 256 k sample rows that was up to a third of the assignment work, run on
    the client alone). tests/core/test_dask_cluster.py and test_distributed.py check that the
    centroids stay bit-identical to the in-memory fit.
    """
    if spherical:
        _normalize_rows(sample)
    with single_threaded():  # as _fit_kmeans: one reduction order on any machine
        if backend == "faiss":
            report(progress, 0.12, f"k-means++ seeding (k={k})")
            init = _greedy_kmeans_plus_plus(sample, k, seed)
            report(progress, 0.15, f"fitting k-means with faiss (k={k}, {_KMEANS_ITER} iterations)")
            centroids, n_iter = _fit_faiss(sample, init, spherical, seed, _KMEANS_ITER)
        else:
            report(progress, 0.12, f"fitting k-means with scikit-learn (k={k})")
            centroids, n_iter = _fit_sklearn(sample, k, seed, _KMEANS_ITER)
    centroids = np.ascontiguousarray(centroids, dtype=np.float32)
    if spherical:
        _normalize_rows(centroids)
    return centroids, n_iter


def _read_rows(source: _NpyRows | np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A copy of the sorted ``rows`` of ``source``, in its dtype.

    A ``.npy`` is read one block of ``DEFAULT_CHUNK_ROWS`` file rows at a time (each read
    maps and unmaps the file), so no more than one block's pages are resident at once.
    """
    if isinstance(source, np.ndarray):
        return np.array(source[rows])
    out = np.empty((rows.size, source.shape[1]), dtype=source.dtype)
    edges = np.searchsorted(rows, np.arange(0, source.shape[0], DEFAULT_CHUNK_ROWS))
    for lo, hi in zip(edges, [*edges[1:], rows.size], strict=True):
        if hi > lo:
            out[lo:hi] = source[rows[lo:hi]]
    return out


def _score_block(
    block: np.ndarray, centroids: np.ndarray, *, metric: str, distance: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One chunk: its scores (m,) float64, clusters (m,) int64, the rows holding NaN/inf and
    the exact parts of its inertia (:func:`core.scores.kmeans.inertia_parts`)."""
    n_nearest = 2 if metric == "prototype_margin" else 1
    with np.errstate(over="ignore"):
        x = np.ascontiguousarray(block, dtype=np.float32)
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad.size:  # the run fails afterwards; keep NaN out of the product meanwhile
        x = x.copy()
        x[bad] = 0.0
    dist, idx = _nearest_centroids(
        x,
        np.asarray(centroids, dtype=np.float32),
        distance=distance,
        n_nearest=n_nearest,
        chunk_size=_ASSIGN_ROWS,
    )
    # As core.scores.metrics: float32 distances, the score in float64.
    nearest = np.asarray(dist[:, 0], dtype=np.float32).astype(np.float64)
    if metric == "prototype_margin":
        values = nearest - np.asarray(dist[:, 1], dtype=np.float32).astype(np.float64)
    else:
        values = nearest
    parts = inertia_parts(nearest, distance == "cosine")
    return values, np.ascontiguousarray(idx[:, 0], dtype=np.int64), bad, parts


def _block_summary(block: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """A scored chunk's NaN/inf rows and the exact parts of its inertia (small, for the client)."""
    return block[2], block[3]


def _bad_rows_block(block: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = np.asarray(block, dtype=np.float32)
    return np.asarray(~np.isfinite(x).all(axis=1))


def _raise_non_finite(data: _Chunked, progress: ProgressFn | None) -> None:
    """Scan every chunk for NaN/inf rows and raise the ValueError naming them."""
    import dask

    scan = dask.delayed(_bad_rows_block, pure=True)
    report(progress, 0.1, "NaN/inf found in the sample: scanning all rows")
    flags = _compute(*[scan(block) for block in data.nodes()])
    raise _non_finite_error(np.flatnonzero(np.concatenate(flags)))


def _compute(*collections: Any) -> tuple[Any, ...]:
    """``dask.compute`` on the scheduler Dask would pick, without importing ``distributed``
    to look for a client when none can exist.

    ``dask.compute`` imports ``distributed`` (about 0.25 s) whenever it is installed, only to
    find out whether a ``Client`` is the default; none is unless ``distributed`` has been
    imported. Then, unless a scheduler is configured, this runs Dask's default for delayed
    tasks and arrays, the threads of this process, directly.
    """
    import dask

    return tuple(dask.compute(*collections, scheduler=_local_scheduler()))


def _local_scheduler() -> Any:
    """The threaded scheduler's ``get`` when no ``distributed`` client and no configured
    scheduler can be the default; None (Dask's own choice) otherwise."""
    import dask

    if "distributed" not in sys.modules and dask.config.get("scheduler", None) is None:
        import dask.threaded

        return dask.threaded.get
    return None


def _persist(*collections: Any) -> tuple[Any, ...]:
    """``dask.persist`` on the scheduler :func:`_compute` picks: results stay on a cluster's
    workers (or, on the local schedulers, in this process) for later tasks to use."""
    import dask

    return tuple(dask.persist(*collections, scheduler=_local_scheduler()))


def _non_finite_error(rows: np.ndarray) -> ValueError:
    first = ", ".join(str(int(r)) for r in rows[:5])
    return ValueError(
        f"embeddings has {rows.size} row(s) with NaN or inf values (after casting to float32); "
        f"first rows: {first}"
    )


@contextmanager
def _dask_progress(progress: ProgressFn | None) -> Iterator[None]:
    """Report finished/total tasks of computations run by the local schedulers."""
    if progress is None:
        yield
        return
    from dask.callbacks import Callback

    def posttask(key: object, result: object, dsk: object, state: dict, worker_id: object) -> None:
        done = len(state["finished"])
        total = done + sum(len(state[name]) for name in ("ready", "waiting", "running"))
        report(progress, done / max(total, 1), f"{done} of {total} dask tasks")

    with Callback(posttask=posttask):
        yield
