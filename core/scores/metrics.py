"""Per-example difficulty scores for data pruning; every score is oriented higher = harder."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from core._progress import ProgressFn, report, sub_progress
from core.scores.kmeans import (
    BACKENDS,
    _fit_kmeans,
    _normalize_rows,
    _resolve_backend,
)
from core.validate import check_choice, check_embeddings, check_int, check_k, check_seed

DISTANCES = ("cosine", "euclidean")

#: Neighbours used by the k-NN metrics when ``k`` is not given.
DEFAULT_NEIGHBORS = 10

_KMEANS_ITER = 20
_KNN_BLOCK_ROWS = 16384


@dataclass(frozen=True, eq=False, slots=True)
class Scores:
    """One score per example, oriented **higher = harder** (more atypical / ambiguous).

    Attributes
    ----------
    metric : str
        A :data:`core.scores.registry.REGISTRY` name.
    values : ndarray of shape (n,), float64
        The scores; higher = harder.
    clusters : ndarray of shape (n,), int64, or None
        Nearest k-means centroid (ssp, prototype_margin), class index into the sorted unique
        labels (class_prototype), else None.
    centroids : ndarray of shape (k, d), float32, or None
        k-means centroids or class means; row i belongs to cluster/class i.
    params : ScoreParams
        What produced the scores: ``k``, ``distance``, ``backend`` (resolved), ``seed``,
        ``n_iter`` and metric-specific entries (None where a metric has no such parameter).
    """

    metric: str
    values: np.ndarray
    clusters: np.ndarray | None
    centroids: np.ndarray | None
    params: ScoreParams


#: ScoreParams field -> manifest key, where they differ ("from" is a Python keyword).
_PARAM_KEYS = {"source": "from"}


@dataclass(frozen=True, slots=True)
class ScoreParams:
    """What produced a :class:`Scores`; a field is None when the metric has no such parameter.

    Embedding metrics: ``k`` (clusters, classes or neighbours), ``distance``, ``backend``
    (resolved), ``seed``; k-means ones add ``n_iter``, ``spherical``, ``inertia``, ``n_fit``
    (and ``executor="dask"`` on Dask); label ones ``classes`` (sorted unique labels).
    Training dynamics: ``source`` (el2n: "logits"/"probs"), ``correct_from`` (forgetting),
    ``score`` (aum: "-AUM"), ``epochs``, ``n_epochs``, ``never_learned_score``,
    ``n_never_learned``. SemDeDup: ``epsilon``, ``threshold``, ``order``, ``n_singletons``.
    Imported scores: ``score_file`` (its name), ``column``, ``higher_is_easier`` (flipped on
    import), ``aligned_by`` ("id", "index" or "row").
    """

    k: int | None = None
    distance: str | None = None
    backend: str | None = None
    seed: int | None = None
    n_iter: int | None = None
    spherical: bool | None = None
    inertia: float | None = None
    n_fit: int | None = None
    executor: str | None = None
    classes: tuple[object, ...] | None = None
    source: str | None = None
    correct_from: str | None = None
    score: str | None = None
    epochs: tuple[int, ...] | None = None
    n_epochs: int | None = None
    never_learned_score: float | None = None
    n_never_learned: int | None = None
    epsilon: float | None = None
    threshold: float | None = None
    order: str | None = None
    n_singletons: int | None = None
    score_file: str | None = None
    column: str | None = None
    higher_is_easier: bool | None = None
    aligned_by: str | None = None
    n_runs: int | None = None

    def as_dict(self) -> dict[str, object]:
        """The fields that are set (not None), under their manifest names (``source`` ->
        ``"from"``); tuples become lists. The export manifest's ``score_params``."""
        out: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is not None:
                out[_PARAM_KEYS.get(name, name)] = (
                    list(value) if isinstance(value, tuple) else value
                )
        return out


@dataclass(frozen=True, eq=False, slots=True)
class ScoreRequest:
    """Checked inputs of one embedding metric, as :func:`compute_scores` hands them to the
    registered scorer (``core.scores.registry.MetricSpec.score``).

    ``x`` (n, d) finite embeddings; ``codes`` (n,) int64 label codes into ``classes`` or None;
    ``k`` as given (None = the metric's default); ``distance``, ``backend`` (unresolved, may be
    "auto") and ``seed`` already checked.
    """

    x: np.ndarray
    codes: np.ndarray | None
    classes: list[object]
    k: int | None
    distance: str
    backend: str
    seed: int
    progress: ProgressFn | None


# ----------------------------------------------------------------------------- public functions


def default_k(n: int, n_classes: int | None = None) -> int:
    """Default number of k-means clusters for ``n`` examples.

    The SSP paper (Sorscher et al. 2022) found results hold when k is within an order of
    magnitude of the number of classes, so with labels k = ``n_classes`` (at least 2). Without
    labels the heuristic is ``round(sqrt(n / 2))`` (the classic rule of thumb, giving clusters of
    about ``sqrt(2 n)`` examples), clipped to [2, 1000]. Either way the result is at most ``n``.

    Parameters
    ----------
    n : int
        Number of examples, >= 1.
    n_classes : int or None
        Number of distinct labels, >= 1, when labels exist.

    Returns
    -------
    int
        k in [1, min(n, max(2, ...))]; 1 only when ``n == 1``.

    Raises
    ------
    ValueError
        If ``n`` < 1 or ``n_classes`` < 1 or either is not an int.
    """
    n = check_int("n", n, low=1)
    if n_classes is not None:
        n_classes = check_int("n_classes", n_classes, low=1)
        return min(n, max(2, n_classes))
    heuristic = round(math.sqrt(n / 2))
    return min(n, max(2, min(1000, heuristic)))


def resolve_k(k: int | None, n: int, n_classes: int | None = None) -> int:
    """The k-means ``k`` to use: :func:`default_k` when ``k`` is None, else ``k`` checked to be
    in [1, n] (``core.validate.check_k``). The one place k is defaulted.

    Raises
    ------
    ValueError
        If ``k`` is not an int in [1, n] (or ``n``/``n_classes`` are bad, for the default).
    """
    if k is None:
        return default_k(n, n_classes)
    return check_k(k, n)


def score_ssp(
    embeddings: np.ndarray,
    *,
    k: int,
    distance: str = "cosine",
    backend: str = "auto",
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> Scores:
    """Self-supervised prototype score: distance to the nearest k-means centroid.

    Higher = harder (far from every prototype = atypical). ``distance="cosine"`` is the paper's
    reference: L2-normalise the embeddings, spherical k-means, score ``1 - x.c/|c|`` in [0, 2].
    ``distance="euclidean"``: plain k-means on the raw embeddings, score ``|x - c|``; within a
    cluster it ranks like cosine, across clusters tight clusters score lower.

    Parameters
    ----------
    embeddings : array_like of shape (n, d)
    k : int
        Number of clusters, ``1 <= k <= n``.
    distance : {"cosine", "euclidean"}
    backend : {"auto", "faiss", "sklearn"}
    seed : int
    progress : callable (fraction, message) or None

    Returns
    -------
    Scores
        values (n,) float64, clusters (n,) nearest centroid, centroids (k, d) float32.

    Raises
    ------
    ValueError
        Bad embeddings, k, distance, backend or seed.
    """
    x, k, distance, backend, seed = _check_kmeans_args(embeddings, k, distance, backend, seed)
    return _score_kmeans(x, "ssp", k, distance, backend, seed, progress)


def score_prototype_margin(
    embeddings: np.ndarray,
    *,
    k: int,
    distance: str = "cosine",
    backend: str = "auto",
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> Scores:
    """Prototype margin ``d1 - d2``: nearest minus second-nearest centroid distance.

    Values are <= 0; higher = harder: near 0 means the example lies between two prototypes
    (ambiguous), very negative means it clearly belongs to one. The k-means fit is the same as
    ``score_ssp`` for the same arguments.

    Parameters
    ----------
    embeddings : array_like of shape (n, d)
    k : int
        Number of clusters, ``2 <= k <= n``.
    distance : {"cosine", "euclidean"}
    backend : {"auto", "faiss", "sklearn"}
    seed : int
    progress : callable (fraction, message) or None

    Returns
    -------
    Scores
        values (n,) float64 <= 0, clusters (n,) nearest centroid, centroids (k, d) float32.

    Raises
    ------
    ValueError
        Bad embeddings, distance, backend or seed; k not in [2, n].
    """
    x, k, distance, backend, seed = _check_kmeans_args(embeddings, k, distance, backend, seed)
    if k < 2:
        raise ValueError(f"prototype_margin needs k >= 2 (two nearest centroids), got k={k}")
    return _score_kmeans(x, "prototype_margin", k, distance, backend, seed, progress)


def score_class_prototype(
    embeddings: np.ndarray, labels: np.ndarray, *, distance: str = "cosine"
) -> Scores:
    """Supervised prototype score: distance to the mean embedding of the example's own class.

    Higher = harder (atypical for its class, or mislabeled). For cosine the embeddings are
    L2-normalised first and the score is ``1 - x.m/|m|`` with m the class mean of normalised
    embeddings; for Euclidean, ``|x - m|`` on the raw embeddings.

    Parameters
    ----------
    embeddings : array_like of shape (n, d)
    labels : array_like of shape (n,)
        Any label values (ints or strings); classes are their sorted unique values.
    distance : {"cosine", "euclidean"}

    Returns
    -------
    Scores
        values (n,) float64, clusters (n,) int64 class index into the sorted unique labels,
        centroids (n_classes, d) float32 class means.

    Raises
    ------
    ValueError
        Bad embeddings, labels not 1-D of length n, or unknown distance.
    """
    x = check_embeddings(embeddings)
    codes, classes = _encode_labels(labels, x.shape[0])
    distance = check_choice("distance", distance, DISTANCES)
    return _score_class_prototype(x, codes, classes, distance)


def score_random(n: int, *, seed: int = 0) -> Scores:
    """Seeded uniform [0, 1) scores: the random-pruning baseline (higher = "harder" by chance).

    Parameters
    ----------
    n : int
        Number of examples, >= 1.
    seed : int

    Returns
    -------
    Scores
        values (n,) float64, no clusters or centroids.

    Raises
    ------
    ValueError
        If ``n`` < 1 or the seed is not an int in [0, 2**31 - 1].
    """
    n = check_int("n", n, low=1)
    seed = check_seed(seed)
    values = np.random.default_rng(seed).random(n)
    return Scores("random", values, None, None, ScoreParams(seed=seed))


def score_knn_density(
    embeddings: np.ndarray,
    *,
    n_neighbors: int = DEFAULT_NEIGHBORS,
    distance: str = "cosine",
    backend: str = "auto",
) -> Scores:
    """k-NN sparsity: mean distance to the ``n_neighbors`` nearest other examples.

    Higher = harder (sparse neighbourhood = atypical). Exact brute-force search in blocks
    (faiss flat index, or scikit-learn), O(n^2 d) time: intended for n up to ~1e5.

    Parameters
    ----------
    embeddings : array_like of shape (n, d)
    n_neighbors : int
        ``1 <= n_neighbors <= n - 1``.
    distance : {"cosine", "euclidean"}
    backend : {"auto", "faiss", "sklearn"}

    Returns
    -------
    Scores
        values (n,) float64, no clusters or centroids.

    Raises
    ------
    ValueError
        Bad embeddings, distance, backend, or n_neighbors out of range.
    """
    x = check_embeddings(embeddings)
    n_neighbors, distance, backend = _check_knn_args(x, n_neighbors, distance, backend)
    return _score_knn(x, "knn_density", None, [], n_neighbors, distance, backend)


def score_knn_disagreement(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    n_neighbors: int = DEFAULT_NEIGHBORS,
    distance: str = "cosine",
    backend: str = "auto",
) -> Scores:
    """k-NN label disagreement: fraction of the ``n_neighbors`` nearest examples with another label.

    Higher = harder (a high value flags a likely mislabel or a point deep in another class).
    Values are in [0, 1]. Same search as ``score_knn_density``.

    Parameters
    ----------
    embeddings : array_like of shape (n, d)
    labels : array_like of shape (n,)
    n_neighbors : int
        ``1 <= n_neighbors <= n - 1``.
    distance : {"cosine", "euclidean"}
    backend : {"auto", "faiss", "sklearn"}

    Returns
    -------
    Scores
        values (n,) float64 in [0, 1], clusters = class index into the sorted unique labels.

    Raises
    ------
    ValueError
        Bad embeddings or labels, distance, backend, or n_neighbors out of range.
    """
    x = check_embeddings(embeddings)
    codes, classes = _encode_labels(labels, x.shape[0])
    n_neighbors, distance, backend = _check_knn_args(x, n_neighbors, distance, backend)
    return _score_knn(x, "knn_disagreement", codes, classes, n_neighbors, distance, backend)


def compute_scores(
    embeddings: np.ndarray,
    metric: str,
    *,
    k: int | None = None,
    labels: np.ndarray | None = None,
    distance: str = "cosine",
    backend: str = "auto",
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> Scores:
    """Compute one embedding metric of :data:`core.scores.registry.REGISTRY` (the dispatcher
    used by the CLI and the app).

    Every returned score is oriented higher = harder.

    Parameters
    ----------
    embeddings : array_like of shape (n, d)
        2-D, finite, real-valued.
    metric : str
        One of :data:`core.scores.registry.METRICS`.
    k : int or None
        Clusters for ssp / prototype_margin (None -> ``default_k(n, n_classes)``, using the
        number of distinct labels when ``labels`` is given); neighbours for the knn metrics
        (None -> ``min(10, n - 1)``); ignored by class_prototype and random.
    labels : array_like of shape (n,) or None
        Required by class_prototype and knn_disagreement.
    distance : {"cosine", "euclidean"}
    backend : {"auto", "faiss", "sklearn"}
    seed : int
    progress : callable (fraction, message) or None

    Returns
    -------
    Scores

    Raises
    ------
    ValueError
        Unknown metric (the message lists the valid ones), bad embeddings, labels of the wrong
        length, missing labels for a label metric, or a bad k / distance / backend / seed.
    """
    from core.scores.registry import get_metric

    spec = get_metric(metric)
    x = check_embeddings(embeddings)
    codes: np.ndarray | None = None
    classes: list[object] = []
    if labels is not None:
        codes, classes = _encode_labels(labels, x.shape[0])
    elif spec.needs_labels:
        raise ValueError(
            f"metric={metric!r} needs labels (one per example); none were given — load a "
            "metadata file with a label column, or pick a label-free metric"
        )
    request = ScoreRequest(
        x=x,
        codes=codes,
        classes=classes,
        k=k,
        distance=check_choice("distance", distance, DISTANCES),
        backend=check_choice("backend", backend, BACKENDS),
        seed=check_seed(seed),
        progress=progress,
    )
    scores: Scores = spec.score(request)
    return scores


# ----------------------------------------------------------------------------- registered scorers
# One per embedding metric, each taking a ScoreRequest (see core.scores.registry.REGISTRY).


def _run_random(request: ScoreRequest) -> Scores:
    report(request.progress, 1.0, "random scores")
    return score_random(request.x.shape[0], seed=request.seed)


def _run_class_prototype(request: ScoreRequest) -> Scores:
    if request.codes is None:  # unreachable from compute_scores: it checks needs_labels
        raise ValueError("metric='class_prototype' needs labels")
    report(request.progress, 0.0, "class means")
    scores = _score_class_prototype(request.x, request.codes, request.classes, request.distance)
    report(request.progress, 1.0, "class prototype scores done")
    return scores


def _run_knn(request: ScoreRequest, metric: str) -> Scores:
    n = request.x.shape[0]
    n_neighbors = min(DEFAULT_NEIGHBORS, n - 1) if request.k is None else request.k
    n_neighbors, distance, resolved = _check_knn_args(
        request.x, n_neighbors, request.distance, request.backend
    )
    report(request.progress, 0.0, f"{n_neighbors}-NN search")
    scores = _score_knn(
        request.x, metric, request.codes, request.classes, n_neighbors, distance, resolved
    )
    report(request.progress, 1.0, "k-NN scores done")
    return scores


def _run_knn_density(request: ScoreRequest) -> Scores:
    return _run_knn(request, "knn_density")


def _run_knn_disagreement(request: ScoreRequest) -> Scores:
    return _run_knn(request, "knn_disagreement")


def _run_kmeans(request: ScoreRequest, metric: str) -> Scores:
    n = request.x.shape[0]
    k = resolve_k(request.k, n, len(request.classes) if request.codes is not None else None)
    if metric == "prototype_margin" and k < 2:
        raise ValueError(f"prototype_margin needs k >= 2 (two nearest centroids), got k={k}")
    backend = _resolve_backend(request.backend)
    return _score_kmeans(
        request.x, metric, k, request.distance, backend, request.seed, request.progress
    )


def _run_ssp(request: ScoreRequest) -> Scores:
    return _run_kmeans(request, "ssp")


def _run_prototype_margin(request: ScoreRequest) -> Scores:
    return _run_kmeans(request, "prototype_margin")


# ----------------------------------------------------------------------------- private helpers


def _check_kmeans_args(
    embeddings: object, k: object, distance: object, backend: object, seed: object
) -> tuple[np.ndarray, int, str, str, int]:
    x = check_embeddings(embeddings)
    k_ = check_k(k, x.shape[0])
    distance_ = check_choice("distance", distance, DISTANCES)
    backend_ = _resolve_backend(check_choice("backend", backend, BACKENDS))
    return x, k_, distance_, backend_, check_seed(seed)


def _check_knn_args(
    x: np.ndarray, n_neighbors: object, distance: object, backend: object
) -> tuple[int, str, str]:
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"k-NN metrics need at least 2 examples, got n_examples={n}")
    n_neighbors_ = check_int("k (neighbours)", n_neighbors, low=1)
    if n_neighbors_ > n - 1:
        raise ValueError(f"k={n_neighbors_} neighbours should be <= n_examples - 1 = {n - 1}")
    distance_ = check_choice("distance", distance, DISTANCES)
    backend_ = _resolve_backend(check_choice("backend", backend, BACKENDS))
    return n_neighbors_, distance_, backend_


def _encode_labels(labels: object, n: int) -> tuple[np.ndarray, list[object]]:
    """Return int64 codes into the sorted unique labels, and those labels as Python values."""
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"labels should be 1-D, got shape {array.shape}")
    if array.shape[0] != n:
        raise ValueError(f"labels has length {array.shape[0]} but n_examples={n}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError("labels contain NaN or inf")
    classes, codes = np.unique(array, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), classes.tolist()


def _score_kmeans(
    x: np.ndarray,
    metric: str,
    k: int,
    distance: str,
    backend: str,
    seed: int,
    progress: ProgressFn | None,
) -> Scores:
    """ssp or prototype_margin from one k-means fit; assumes validated input."""
    n_nearest = 2 if metric == "prototype_margin" else 1
    result, dist, idx = _fit_kmeans(
        x,
        k=k,
        backend=backend,
        spherical=distance == "cosine",
        seed=seed,
        n_iter=_KMEANS_ITER,
        max_points_per_centroid=256,
        n_nearest=n_nearest,
        progress=sub_progress(progress, 0.0, 0.98),
    )
    if metric == "ssp":
        values = dist[:, 0].astype(np.float64)
    else:
        values = dist[:, 0].astype(np.float64) - dist[:, 1].astype(np.float64)
    params = ScoreParams(
        k=k,
        distance=distance,
        backend=result.backend,
        seed=seed,
        n_iter=result.n_iter,
        spherical=result.spherical,
        inertia=result.inertia,
        n_fit=min(x.shape[0], 256 * k),
    )
    report(progress, 1.0, f"{metric} scores done")
    return Scores(metric, values, idx[:, 0].copy(), result.centroids, params)


def _score_class_prototype(
    x: np.ndarray, codes: np.ndarray, classes: list[object], distance: str
) -> Scores:
    n, d = x.shape
    n_classes = len(classes)
    sums = np.zeros((n_classes, d), dtype=np.float64)
    for start in range(0, n, _KNN_BLOCK_ROWS):
        block = np.array(x[start : start + _KNN_BLOCK_ROWS], dtype=np.float32, copy=True)
        if distance == "cosine":
            _normalize_rows(block)
        np.add.at(sums, codes[start : start + _KNN_BLOCK_ROWS], block)
    counts = np.bincount(codes, minlength=n_classes).astype(np.float64)
    means = (sums / counts[:, None]).astype(np.float32)
    values = np.empty(n, dtype=np.float64)
    if distance == "cosine":
        unit_means = _normalize_rows(means.copy())
    for start in range(0, n, _KNN_BLOCK_ROWS):
        stop = min(n, start + _KNN_BLOCK_ROWS)
        block = x[start:stop].astype(np.float64)
        own = means[codes[start:stop]].astype(np.float64)
        if distance == "cosine":
            norms = np.maximum(np.linalg.norm(block, axis=1), 1e-12)
            unit_own = unit_means[codes[start:stop]].astype(np.float64)
            cos = np.einsum("ij,ij->i", block, unit_own) / norms
            values[start:stop] = np.clip(1.0 - cos, 0.0, 2.0)
        else:
            values[start:stop] = np.linalg.norm(block - own, axis=1)
    params = ScoreParams(k=n_classes, distance=distance, classes=tuple(classes))
    return Scores("class_prototype", values, codes, means, params)


def _score_knn(
    x: np.ndarray,
    metric: str,
    codes: np.ndarray | None,
    classes: list[object],
    n_neighbors: int,
    distance: str,
    backend: str,
) -> Scores:
    """knn_density, or knn_disagreement (needs ``codes``), from one exact k-NN search; assumes
    validated input."""
    dist, neighbors = _knn(x, n_neighbors, distance, backend)
    params = ScoreParams(k=n_neighbors, distance=distance, backend=backend)
    if metric == "knn_density":
        return Scores(metric, dist.mean(axis=1, dtype=np.float64), None, None, params)
    if codes is None:  # unreachable from the public functions: they reject missing labels
        raise ValueError(f"metric={metric!r} needs labels")
    params = replace(params, classes=tuple(classes))
    return Scores(metric, _disagreement(codes, neighbors), codes, None, params)


def _disagreement(codes: np.ndarray, neighbors: np.ndarray) -> np.ndarray:
    """Fraction of each row's neighbours whose label code differs from its own, float64."""
    return (codes[neighbors] != codes[:, None]).mean(axis=1, dtype=np.float64)


def _knn(
    x: np.ndarray, n_neighbors: int, distance: str, backend: str
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``n_neighbors`` nearest other rows: distances (n, n_neighbors) float64 ascending,
    indices (n, n_neighbors) int64. Assumes validated input."""
    n, d = x.shape
    base = np.array(x, dtype=np.float32, order="C", copy=True)
    if distance == "cosine":
        _normalize_rows(base)
    want = n_neighbors + 1  # one extra, since each row usually finds itself first
    dist = np.empty((n, want), dtype=np.float64)
    idx = np.empty((n, want), dtype=np.int64)
    if backend == "faiss":
        import faiss

        index = faiss.IndexFlatIP(d) if distance == "cosine" else faiss.IndexFlatL2(d)
        index.add(base)
        for start in range(0, n, _KNN_BLOCK_ROWS):
            stop = min(n, start + _KNN_BLOCK_ROWS)
            raw, found = index.search(base[start:stop], want)
            if distance == "cosine":
                dist[start:stop] = np.clip(1.0 - raw.astype(np.float64), 0.0, 2.0)
            else:
                dist[start:stop] = np.sqrt(np.maximum(raw.astype(np.float64), 0.0))
            idx[start:stop] = found
    else:
        from sklearn.neighbors import NearestNeighbors

        model = NearestNeighbors(
            n_neighbors=want, algorithm="brute", metric="cosine" if distance == "cosine" else "l2"
        )
        model.fit(base)
        for start in range(0, n, _KNN_BLOCK_ROWS):
            stop = min(n, start + _KNN_BLOCK_ROWS)
            found_dist, found = model.kneighbors(base[start:stop])
            dist[start:stop] = found_dist
            idx[start:stop] = found
    # Drop each row's own entry; when duplicates pushed it out of the list, drop the farthest.
    is_self = idx == np.arange(n)[:, None]
    no_self = ~is_self.any(axis=1)
    is_self[no_self, -1] = True
    keep = ~is_self
    return dist[keep].reshape(n, n_neighbors), idx[keep].reshape(n, n_neighbors)
