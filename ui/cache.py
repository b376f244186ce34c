"""Every cached wrapper of the app, keyed by small hashable values.

A dataset is named by a *dataset key* string:

- ``"sample:<name>:<embedding>"`` a shipped sample (``core.io.samples.load_sample``),
- ``"upload:<sha256>"`` built from uploaded bytes in this session (see :mod:`ui.uploads`),
- ``"synthetic:<n>:<d>:<n_classes>:<seed>"`` Gaussian blobs (``core.io.samples.make_synthetic``),
  for tests and benchmarks.

Datasets are kept with ``st.cache_resource`` (shared, never copied: the arrays are large and only
read). Scores, projections and map subsamples use ``st.cache_data`` keyed by the dataset key and the
settings, so moving a slider never recomputes k-means or UMAP. Selecting the kept examples for one
slider position is cheap and deliberately not cached.

Every wrapper is bounded (``max_entries``; the ``st.cache_data`` ones also expire after
:data:`CACHE_TTL_S`), so a long-running server's memory stops growing with the number of
datasets and settings tried; ``tests/pages/test_cache_bounds.py`` checks every cache decorator
under ``ui/``, ``pages/`` and ``app.py``. Per-session data (``st.session_state``, which holds
uploaded datasets, see :func:`register_upload`) is freed by Streamlit: a disconnected session is
kept for reconnection for ``server.disconnectedSessionTTL`` seconds (120 by default, at most 128
such sessions) and then dropped with its state.

Long computations report progress through :class:`LiveProgress`, which draws an ``st.status`` only
when the cached function actually runs (a cache miss), so cache hits show nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import in_cached_function

from core.io.coords import PRECOMPUTED  # the Map's projection of coordinates from a file

if TYPE_CHECKING:
    from core.analysis.compare import Comparison
    from core.analysis.curve import CurveResult
    from core.analysis.projection import Projection
    from core.analysis.stability import Stability
    from core.analysis.theory import FrontierResult, TheoryResult
    from core.io.data import Dataset
    from core.prune.semdedup import DedupResult
    from core.scores.metrics import Scores


# --- progress -------------------------------------------------------------------------------


@contextmanager
def _not_recorded() -> Iterator[None]:
    # Streamlit records st.* calls made inside a cached function and replays them on every cache
    # hit. Progress belongs to this one computation, so draw it without recording it.
    token = in_cached_function.set(False)
    try:
        yield
    finally:
        in_cached_function.reset(token)


class LiveProgress:
    """A core ``progress(fraction, message)`` callback drawing an ``st.status`` on first use.

    Pass it to a cached wrapper as ``_progress``: on a cache hit core never calls it, so nothing
    is drawn. ``on_start`` runs once, just before the box is drawn: only on a cache miss. Call :meth:`done` after the wrapper returns to collapse the box.
    """

    def __init__(
        self, label: str, *, note: str = "", on_start: Callable[[], None] | None = None
    ) -> None:
        self.label = label
        self.note = note
        self.on_start = on_start
        self._status: Any = None
        self._bar: Any = None

    def __call__(self, fraction: float, message: str) -> None:
        with _not_recorded():
            if self._status is None:
                if self.on_start is not None:  # e.g. the Map draws its PCA preview
                    self.on_start()
                self._status = st.status(self.label, expanded=True)
                if self.note:
                    self._status.caption(self.note)
                self._bar = self._status.progress(0.0)
            self._bar.progress(min(1.0, max(0.0, float(fraction))), text=message)

    def done(self) -> None:
        """Mark the status complete (no-op when nothing was computed)."""
        if self._status is not None:
            self._status.update(label=f"{self.label} done", state="complete", expanded=False)

    def failed(self) -> None:
        """Mark the status failed, so a rejected input never reads "done" above its error."""
        if self._status is not None:
            self._status.update(label=f"{self.label} failed", state="error", expanded=False)


#: Seconds an ``st.cache_data`` entry lives (recomputed after that on the next request).
CACHE_TTL_S = 3600


# --- datasets -------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading sample data…", max_entries=8)
def _sample_dataset(name: str, embedding: str) -> Dataset:
    from core.io.samples import load_sample

    return load_sample(name, embedding=embedding)


@st.cache_resource(show_spinner=False, max_entries=4)
def _synthetic_dataset(n: int, d: int, n_classes: int, seed: int) -> Dataset:
    from core.io.samples import make_synthetic

    return make_synthetic(n, d, n_classes, seed)


def register_upload(dataset_key: str, dataset: Dataset) -> None:
    """Keep an uploaded dataset in this session so :func:`get_dataset` finds it by key."""
    st.session_state["uploaded"][dataset_key] = dataset


def get_dataset(dataset_key: str) -> Dataset:
    """The dataset named by ``dataset_key`` (see the module docstring for the key forms).

    Raises
    ------
    ValueError
        For an unknown key, or an upload from another session.
    """
    kind, _, rest = dataset_key.partition(":")
    if kind == "sample":
        name, _, embedding = rest.rpartition(":")
        return _sample_dataset(name, embedding or "ssl")
    if kind == "synthetic":
        try:
            n, d, n_classes, seed = (int(part) for part in rest.split(":"))
        except ValueError:
            raise ValueError(
                f"synthetic dataset key {dataset_key!r} should be synthetic:<n>:<d>:<classes>:<seed>"
            ) from None
        return _synthetic_dataset(n, d, n_classes, seed)
    if kind == "upload":
        uploaded = st.session_state.get("uploaded", {})
        if dataset_key not in uploaded:
            raise ValueError("this uploaded dataset is no longer in memory; upload it again")
        return uploaded[dataset_key]
    raise ValueError(f"unknown dataset key {dataset_key!r}")


def dataset_label(dataset_key: str) -> str:
    """A short human name for a dataset key, for pickers."""
    kind, _, rest = dataset_key.partition(":")
    if kind == "sample":
        name, _, embedding = rest.rpartition(":")
        from core.io.samples import SAMPLES

        title = SAMPLES[name].title if name in SAMPLES else name
        return f"{title} sample ({'SSL' if embedding == 'ssl' else embedding} embeddings)"
    if kind == "upload":
        uploaded = st.session_state.get("uploaded", {})
        dataset = uploaded.get(dataset_key)
        return f"upload: {dataset.name}" if dataset is not None else "upload"
    if kind == "synthetic":
        return f"synthetic blobs ({rest.replace(':', ', ')}: n, d, classes, seed)"
    return dataset_key


def sample_keys() -> list[str]:
    """Dataset keys of every shipped sample, each with its SSL and pixel embeddings."""
    from core.io.samples import list_samples

    names = [getattr(item, "name", item) for item in list_samples()]
    return [f"sample:{name}:{embedding}" for name in names for embedding in ("ssl", "pixels")]


def default_k(dataset_key: str) -> int:
    """``core.scores.metrics.default_k`` for the dataset (the number of classes when labelled)."""
    from core.scores.metrics import default_k as _default_k

    dataset = get_dataset(dataset_key)
    return int(_default_k(dataset.n, dataset.n_classes or None))


# --- scores, projections ------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32, ttl=CACHE_TTL_S)
def scores_cached(
    dataset_key: str,
    metric: str,
    k: int,
    distance: str,
    backend: str,
    seed: int,
    _progress: LiveProgress | None = None,
) -> Scores:
    """``core.scores.metrics.compute_scores`` for a dataset and settings, computed once per key.

    Called with the same arguments as ``python -m core score/prune`` (labels always passed, k as
    shown in the sidebar), so exports match the CLI's bytes for the same parameters.
    """
    from core.scores.metrics import compute_scores

    dataset = get_dataset(dataset_key)
    return compute_scores(
        dataset.embeddings,
        metric,
        k=k,
        labels=dataset.labels,
        distance=distance,
        backend=backend,
        seed=seed,
        progress=_progress,
    )


@st.cache_data(show_spinner=False, max_entries=8, ttl=CACHE_TTL_S)
def projection_cached(
    dataset_key: str, method: str, seed: int, _progress: LiveProgress | None = None
) -> Projection:
    """The Map's 2-D coordinates of every row: ``core.analysis.projection.project_sampled``
    (UMAP fitted on a sample of at most ``DEFAULT_MAX_FIT`` rows, the rest placed), as ``python -m core
    project`` computes them; shared by every metric setting."""
    from core.analysis.projection import project_sampled

    embeddings = get_dataset(dataset_key).embeddings
    if method != "umap":  # PCA takes a second: not worth the disk
        return project_sampled(embeddings, method=method, seed=seed, progress=_progress)
    digest = umap_digest_cached(dataset_key, seed)
    stored = _stored_projection(digest, embeddings.shape[0])
    if stored is not None:
        return stored
    background = _background_umap(digest, _progress)
    if background is not None:
        return background
    stored = _stored_projection(digest, embeddings.shape[0])  # one may have finished meanwhile
    if stored is not None:
        return stored
    projection = project_sampled(embeddings, method=method, seed=seed, progress=_progress)
    _store_projection(digest, projection)
    return projection


@st.cache_data(show_spinner=False, max_entries=64, ttl=CACHE_TTL_S)
def umap_digest_cached(dataset_key: str, seed: int) -> str:
    """:func:`_projection_digest` of the dataset's UMAP map (hashing 1M rows takes a second)."""
    return _projection_digest(get_dataset(dataset_key).embeddings, "umap", seed)


# One background UMAP at a time; each entry is the job's future and a one-slot list holding its
# latest (fraction, message), which the script thread waiting for it relays to its LiveProgress.
_PREFETCH_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prunescope-umap-prefetch")
_PREFETCH: dict[str, tuple[Future[Projection], list[tuple[float, str]]]] = {}
_PREFETCH_LOCK = threading.Lock()


def prefetch_umap(dataset_key: str, seed: int) -> bool:
    """Start the Map's UMAP for ``dataset_key`` and ``seed`` in a background thread, so that it
    is ready (or under way) when the user opens the Map; the result goes to the local store.

    Nothing starts when the map is stored already, when it is being computed, or where the
    numba warm-up is off (``PRUNESCOPE_WARMUP=0``, or PCA as the default projection: tests).
    Returns True when a computation was started.
    """
    from core.io.store import has_entry

    warmup = start_umap_warmup()
    if warmup is None:
        return False
    digest = umap_digest_cached(dataset_key, seed)
    with _PREFETCH_LOCK:
        if digest in _PREFETCH or has_entry(digest):
            return False
        for other, (queued, _) in list(_PREFETCH.items()):
            if queued.cancel():  # not started yet: the user has moved on to this dataset
                del _PREFETCH[other]
        embeddings = get_dataset(dataset_key).embeddings
        latest: list[tuple[float, str]] = [(0.0, "waiting for the numba warm-up")]
        future = _PREFETCH_POOL.submit(_prefetch_job, embeddings, seed, digest, warmup, latest)
        _PREFETCH[digest] = (future, latest)
    return True


def _prefetch_job(
    embeddings: np.ndarray,
    seed: int,
    digest: str,
    warmup: threading.Thread,
    latest: list[tuple[float, str]],
) -> Projection:
    from core.analysis.projection import project_sampled

    warmup.join()  # the kernels compile once, in the warm-up thread
    try:
        projection = project_sampled(
            embeddings,
            method="umap",
            seed=seed,
            progress=lambda fraction, message: latest.__setitem__(0, (fraction, message)),
        )
        _store_projection(digest, projection)
        return projection
    finally:
        with _PREFETCH_LOCK:  # stored (or failed): later requests read the store or recompute
            _PREFETCH.pop(digest, None)


def _background_umap(digest: str, progress: LiveProgress | None) -> Projection | None:
    """Wait for the background computation of ``digest`` (relaying its progress), if one runs."""
    with _PREFETCH_LOCK:
        running = _PREFETCH.get(digest)
    if running is None:
        return None
    future, latest = running
    if future.cancel():  # still queued behind another map: faster to fit it here and now
        with _PREFETCH_LOCK:
            _PREFETCH.pop(digest, None)
        return None
    while not future.done():
        if progress is not None:
            fraction, message = latest[0]
            progress(fraction, f"{message} (started in the background when the data opened)")
        wait([future], timeout=0.25)
    try:
        return future.result()
    except Exception:  # the background run failed: compute in the foreground, with its error
        return None


def _projection_digest(embeddings: np.ndarray, method: str, seed: int) -> str:
    """What a stored projection is keyed by: the embeddings' bytes, the method, the seed, the
    sampling constants and the versions of the libraries that compute it."""
    import hashlib
    from importlib.metadata import version

    from core.analysis.projection import DEFAULT_K_PLACE, DEFAULT_MAX_FIT, UMAP_NEIGHBOURS

    hasher = hashlib.sha256()
    constants = (DEFAULT_MAX_FIT, DEFAULT_K_PLACE, UMAP_NEIGHBOURS)
    settings = (method, seed, *constants, embeddings.shape, embeddings.dtype)
    versions = tuple(version(name) for name in ("umap-learn", "pynndescent", "numba", "numpy"))
    hasher.update(repr(("projection", settings, versions)).encode())
    hasher.update(np.ascontiguousarray(embeddings).data)
    return hasher.hexdigest()


def _stored_projection(digest: str, n_rows: int) -> Projection | None:
    """A projection an earlier process computed for the same embeddings, or None."""
    from core.analysis.projection import Projection, ProjectionParams
    from core.io.store import drop_entry, get_entry, load_array

    entry = get_entry(digest)
    if entry is None:
        return None
    try:
        coords = load_array(entry.files["coords.npy"])
        params = ProjectionParams(**entry.meta["params"])
        if entry.kind != "projection" or coords.dtype != np.float32:
            raise ValueError("not a stored projection")
        if coords.shape != (n_rows, 2) or not np.isfinite(coords).all():
            raise ValueError("damaged")
    except (OSError, ValueError, TypeError, KeyError):
        drop_entry(digest)  # so that the map computed now is stored in its place
        return None
    return Projection(coords, str(entry.meta.get("method", "umap")), params)


def _store_projection(digest: str, projection: Projection) -> None:
    """Keep a computed UMAP map for later processes (best effort: caching is optional)."""
    import contextlib
    import dataclasses

    from core.io.store import put_entry

    meta = {"method": projection.method, "params": dataclasses.asdict(projection.params)}
    with contextlib.suppress(OSError, ValueError):
        put_entry(digest, kind="projection", files={"coords.npy": projection.coords}, meta=meta)


@st.cache_data(show_spinner=False, max_entries=16, ttl=CACHE_TTL_S)
def map_points_cached(
    dataset_key: str,
    metric: str,
    k: int,
    distance: str,
    backend: str,
    seed: int,
    max_points: int,
) -> np.ndarray:
    """Row indices to draw as points: all rows, or a stratified subsample keeping the extremes."""
    from core.analysis.projection import stratified_subsample

    scores = scores_cached(dataset_key, metric, k, distance, backend, seed)
    return stratified_subsample(scores.values, max_points, seed=seed)


def _map_coords(
    dataset_key: str, method: str, seed: int, coords_digest: str, coords: np.ndarray | None
) -> np.ndarray:
    """Every row's map coordinates: ``coords`` (opened from a file) for ``"precomputed"``,
    else :func:`projection_cached`'s."""
    if method == PRECOMPUTED:
        if coords is None or not coords_digest:  # a caller's mistake, never a user's
            raise ValueError("the precomputed map needs the coordinates and their digest")
        return coords
    return projection_cached(dataset_key, method, seed).coords


@st.cache_data(show_spinner=False, max_entries=8, ttl=CACHE_TTL_S)
def density_cached(
    dataset_key: str,
    method: str,
    seed: int,
    bins: int,
    coords_digest: str = "",
    _coords: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``core.analysis.map_regions.density_grid`` of every row's map coordinates.

    ``method="precomputed"``: of ``_coords`` (not hashed), the coordinates opened from a file;
    ``coords_digest`` (``core.io.coords.coords_digest``) keys the cache instead, so another file
    opened for the same dataset never gets this one's raster.
    """
    from core.analysis.map_regions import density_grid

    return density_grid(_map_coords(dataset_key, method, seed, coords_digest, _coords), bins=bins)


@st.cache_data(show_spinner=False, max_entries=16, ttl=CACHE_TTL_S)
def centroid_coords_cached(
    method: str,
    dataset_key: str,
    metric: str,
    k: int,
    distance: str,
    backend: str,
    seed: int,
    coords_digest: str = "",
    _coords: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each cluster's 2-D marker: the median of its members' map coordinates.

    Returns ``(cluster_ids (c,), coords (c, 2))`` for the non-empty clusters
    (``core.analysis.inspection.cluster_medians``: no stored model needed, works for PCA and UMAP alike).
    ``method="precomputed"``: ``_coords`` keyed by ``coords_digest``, as in :func:`density_cached`.
    """
    from core.analysis.inspection import cluster_medians

    scores = scores_cached(dataset_key, metric, k, distance, backend, seed)
    if scores.clusters is None:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 2), dtype=np.float32)
    coords = _map_coords(dataset_key, method, seed, coords_digest, _coords)
    return cluster_medians(coords, scores.clusters)


@st.cache_resource(show_spinner=False, max_entries=1)
def start_umap_warmup() -> threading.Thread | None:
    """Compile UMAP's numba kernels in a background thread, once per server process.

    Off when ``PRUNESCOPE_WARMUP=0`` or when the default projection is PCA (the page tests and the
    browser test), so tests never pay a compilation they do not use.
    """
    from core.analysis.projection import warm_up_umap

    if os.environ.get("PRUNESCOPE_WARMUP", "1") == "0":
        return None
    if os.environ.get("PRUNESCOPE_PROJECTION", "umap").strip().lower() == "pca":
        return None
    thread = threading.Thread(target=warm_up_umap, name="prunescope-umap-warmup", daemon=True)
    thread.start()
    return thread


#: The landing page measures k-NN accuracy on at most this many examples (seeded sample).
KNN_MAX_EXAMPLES = 20_000


@st.cache_data(show_spinner="Measuring k-NN label accuracy…", max_entries=16, ttl=CACHE_TTL_S)
def knn_accuracy_cached(dataset_key: str, seed: int) -> float | None:
    """Held-out k-NN label accuracy of the embeddings (None without labels or classes < 2)."""
    dataset = get_dataset(dataset_key)
    if dataset.labels is None or dataset.n_classes < 2:
        return None
    from core.analysis.knn import (
        knn_accuracy,  # torch is imported lazily, so this needs only sklearn
    )

    return float(
        knn_accuracy(dataset.embeddings, dataset.labels, seed=seed, max_examples=KNN_MAX_EXAMPLES)
    )


# --- Validate & Theory ---


@st.cache_data(show_spinner=False, max_entries=8, ttl=CACHE_TTL_S)
def curve_cached(
    dataset_key: str,
    metric: str,
    k: int,
    distance: str,
    backend: str,
    fractions: tuple[float, ...],
    seeds: tuple[int, ...],
    balance: str,
    min_ratio: float,
    compare_unbalanced: bool,
    compare_metrics: tuple[str, ...] = (),
    always_keep: tuple[int, ...] = (),
    always_drop: tuple[int, ...] = (),
    strategies: tuple[str, ...] = ("keep_hard", "keep_easy", "random"),
    imported_digest: str = "",
    probe: str = "logistic",
    _progress: LiveProgress | None = None,
    _imported: Mapping[str, np.ndarray] | None = None,
) -> CurveResult:
    """``core.analysis.curve.pruning_curve`` for the dataset and settings, computed once per key.

    ``_imported`` (not hashed) holds the imported scores (``"imported:<column>"`` -> values over
    all rows) that ``metric`` or ``compare_metrics`` name; ``imported_digest`` is their hash
    (``ui.imported.values_digest``), which keys the cache instead.

    ``k`` is passed when the metric or a compare metric uses it (k-means clusters, k-NN
    neighbours), as in :func:`scores_cached`. Scores are computed on each seed's train split.
    ``always_keep``/``always_drop`` are the Map page's pins (sorted row-index tuples).
    ``probe`` is ``"logistic"`` (the linear probe) or ``"knn"`` (the k-NN check).
    """
    from core.analysis.curve import pruning_curve
    from core.scores.registry import METRICS, get_metric

    # k means clusters (ssp, prototype_margin) or neighbours (k-NN metrics); None for the others
    # keeps their results (and params) independent of an unused sidebar value.
    uses_k = any(get_metric(m).uses_k for m in (metric, *compare_metrics) if m in METRICS)

    dataset = get_dataset(dataset_key)
    if dataset.labels is None:
        raise ValueError("the pruning curve trains a linear probe and needs labels; none loaded")
    return pruning_curve(
        dataset.embeddings,
        dataset.labels,
        metric=metric,
        compare_metrics=compare_metrics,
        strategies=strategies,
        fractions=fractions,
        seeds=seeds,
        k=k if uses_k else None,
        distance=distance,
        backend=backend,
        balance=balance,
        min_ratio=min_ratio,
        compare_unbalanced=compare_unbalanced,
        always_keep=always_keep,
        always_drop=always_drop,
        probe=probe,
        imported=_imported,
        progress=_progress,
    )


@st.cache_data(show_spinner=False, max_entries=16, ttl=CACHE_TTL_S)
def theory_cached(
    n: int,
    alpha_tot: float,
    keep_fraction: float,
    theta_deg: float,
    n_seeds: int,
    _progress: LiveProgress | None = None,
) -> TheoryResult:
    """``core.analysis.theory.theory_curve`` (both sweeps, default grids) for seeds ``0 .. n_seeds-1``."""
    from core.analysis.theory import theory_curve

    return theory_curve(
        n=n,
        alpha_tot=alpha_tot,
        keep_fraction=keep_fraction,
        theta_deg=theta_deg,
        seeds=range(n_seeds),
        progress=_progress,
    )


@st.cache_data(show_spinner=False, max_entries=16, ttl=CACHE_TTL_S)
def frontier_cached(
    n: int, theta_deg: float, n_seeds: int, _progress: LiveProgress | None = None
) -> FrontierResult:
    """``core.analysis.theory.frontier_sweep`` (default grids) for seeds ``0 .. n_seeds-1``."""
    from core.analysis.theory import frontier_sweep

    return frontier_sweep(n=n, theta_deg=theta_deg, seeds=range(n_seeds), progress=_progress)


# --- Deduplicate ---


@st.cache_data(show_spinner=False, max_entries=16, ttl=CACHE_TTL_S)
def dedup_cached(
    dataset_key: str,
    k: int,
    seed: int,
    backend: str,
    order: str,
    _progress: LiveProgress | None = None,
) -> DedupResult:
    """``core.prune.semdedup.semdedup`` at epsilon 0, computed once per key.

    Its ``max_similarity`` gives the removal at any epsilon (``core.prune.semdedup.removed_at``), so the
    page's epsilon slider never reruns k-means or the similarity pass.
    """
    from core.prune.semdedup import semdedup

    return semdedup(
        get_dataset(dataset_key).embeddings,
        k=k,
        epsilon=0.0,
        order=order,
        seed=seed,
        backend=backend,
        progress=_progress,
    )


# --- Compare ---


@st.cache_data(show_spinner="Comparing scores…", max_entries=16, ttl=CACHE_TTL_S)
def compare_cached(
    key: tuple[object, ...],
    keep_fraction: float,
    strategy: str,
    seed: int,
    _values: dict[str, np.ndarray],
) -> Comparison:
    """``core.analysis.compare.compare_scores`` of ``_values``, computed once per ``key``.

    ``key`` names the values (dataset key, metrics, score settings and the imported scores'
    digest), so the arrays themselves are never hashed.
    """
    from core.analysis.compare import compare_scores

    return compare_scores(_values, keep_fraction=keep_fraction, strategy=strategy, seed=seed)


@st.cache_data(show_spinner=False, max_entries=8, ttl=CACHE_TTL_S)
def stability_cached(
    dataset_key: str,
    metric: str,
    ks: tuple[int, ...],
    seeds: tuple[int, ...],
    keep_fraction: float,
    strategy: str,
    distance: str,
    backend: str,
    _progress: LiveProgress | None = None,
) -> dict[int, Stability]:
    """``core.analysis.stability.score_stability`` over ``seeds``, once for each k in ``ks``.

    One result per k, so each k's consensus (mean over seeds) is a score on one scale.
    """
    from core._progress import sub_progress
    from core.analysis.stability import score_stability

    embeddings = get_dataset(dataset_key).embeddings
    results: dict[int, Stability] = {}
    for i, k in enumerate(ks):
        results[int(k)] = score_stability(
            embeddings,
            metric=metric,
            k=int(k),
            seeds=seeds,
            keep_fraction=keep_fraction,
            strategy=strategy,
            distance=distance,
            backend=backend,
            progress=sub_progress(_progress, i / len(ks), (i + 1) / len(ks)),
        )
    return results
