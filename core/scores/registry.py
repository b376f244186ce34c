"""The metric registry: one frozen record per metric that the CLI, the app and core all read.

Which metric takes k, needs labels, fits k-means or runs on Dask, its sidebar label, help text and
orientation note live here and nowhere else. Adding a metric = one :class:`MetricSpec` in
:data:`REGISTRY` plus its scoring function. Every score is oriented **higher = harder**.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.scores import distributed, dynamics, metrics

#: What a metric scores: an embeddings matrix, or per-example training records.
INPUTS = ("embeddings", "records")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """Everything the rest of prunescope needs to know about one metric.

    Attributes
    ----------
    name : str
        The identifier used by the CLI (``--metric``), the app and exports.
    label : str
        Short name that fits the sidebar.
    help : str
        One line saying what the score measures.
    orientation : str
        Why a high value means harder (every score leaving core is higher = harder).
    input : {"embeddings", "records"}
        Embedding metrics go through :func:`core.scores.metrics.compute_scores` with a
        :class:`core.scores.metrics.ScoreRequest`; record metrics take
        ``(TrainingRecords, epochs)`` (``python -m core score-dynamics``).
    uses_k : bool
        k means something: k-means clusters, or neighbours for the k-NN metrics.
    needs_labels : bool
        Scoring fails without one label per example.
    kmeans_based : bool
        The score comes from a k-means fit (clusters are k-means clusters, not classes).
    score : callable
        The scoring function for validated input (see ``input``).
    dask_score : callable or None
        The chunked Dask version (same scores), when there is one.
    """

    name: str
    label: str
    help: str
    orientation: str
    input: str
    uses_k: bool
    needs_labels: bool
    kmeans_based: bool
    score: Callable[..., Any]
    dask_score: Callable[..., Any] | None = None

    @property
    def runs_on_dask(self) -> bool:
        """True when ``python -m core score --dask`` can compute it."""
        return self.dask_score is not None


def _embedding(
    name: str,
    label: str,
    help: str,
    orientation: str,
    score: Callable[..., Any],
    *,
    uses_k: bool = False,
    needs_labels: bool = False,
    kmeans_based: bool = False,
    dask_score: Callable[..., Any] | None = None,
) -> MetricSpec:
    return MetricSpec(
        name, label, help, orientation, "embeddings", uses_k, needs_labels, kmeans_based,
        score, dask_score,
    )  # fmt: skip


def _records(name: str, label: str, help: str, orientation: str) -> MetricSpec:
    return MetricSpec(
        name, label, help, orientation, "records", False, True, False,
        dynamics.RECORD_SCORERS[name],
    )  # fmt: skip


#: Every metric, in the order the CLI and the sidebar list them.
REGISTRY: tuple[MetricSpec, ...] = (
    _embedding(
        "ssp",
        "Self-supervised prototype",
        "distance to the nearest k-means centroid (Sorscher et al. 2022)",
        "far from every prototype = atypical = harder",
        metrics._run_ssp,
        uses_k=True,
        kmeans_based=True,
        dask_score=distributed.score_ssp_dask,
    ),
    _embedding(
        "prototype_margin",
        "Prototype margin",
        "nearest minus second-nearest centroid distance (between two = harder)",
        "d1 - d2 <= 0; near 0 = between two prototypes = harder",
        metrics._run_prototype_margin,
        uses_k=True,
        kmeans_based=True,
        dask_score=distributed.score_prototype_margin_dask,
    ),
    _embedding(
        "class_prototype",
        "Class prototype (labels)",
        "distance to the mean embedding of the example's own class",
        "far from its class mean = atypical or mislabelled = harder",
        metrics._run_class_prototype,
        needs_labels=True,
    ),
    _embedding(
        "knn_density",
        "k-NN density",
        "mean distance to the k nearest neighbours (sparse = harder)",
        "sparse neighbourhood = atypical = harder",
        metrics._run_knn_density,
        uses_k=True,
    ),
    _embedding(
        "knn_disagreement",
        "k-NN disagreement (labels)",
        "share of the k nearest neighbours with another label (possible mislabels)",
        "in [0, 1]; more neighbours with another label = harder",
        metrics._run_knn_disagreement,
        uses_k=True,
        needs_labels=True,
    ),
    _embedding(
        "random",
        "Random (baseline)",
        "seeded uniform scores: the baseline to beat",
        'uniform [0, 1): "harder" by chance',
        metrics._run_random,
    ),
    _records(
        "el2n",
        "EL2N",
        "|softmax(f(x)) - onehot(y)|, averaged over training records (Paul et al. 2021)",
        "large error = harder",
    ),
    _records(
        "forgetting",
        "Forgetting",
        "correct -> wrong transitions between records (Toneva et al. 2019)",
        "forgotten often, or never learned (n_epochs + 1) = harder",
    ),
    _records(
        "aum",
        "-AUM",
        "minus the area under the margin (Pleiss et al. 2020)",
        "exported as -AUM: low margin (possible mislabel) = harder",
    ),
)
_BY_NAME = {spec.name: spec for spec in REGISTRY}


def metric_names(
    *,
    input: str = "embeddings",
    uses_k: bool | None = None,
    needs_labels: bool | None = None,
    kmeans_based: bool | None = None,
    runs_on_dask: bool | None = None,
) -> tuple[str, ...]:
    """Names of the registered metrics of one ``input`` kind, in registry order.

    Every other argument, when not None, keeps only metrics whose field has that value.

    Raises
    ------
    ValueError
        If ``input`` is not one of :data:`INPUTS`.
    """
    if input not in INPUTS:
        raise ValueError(f"input={input!r} should be one of {', '.join(INPUTS)}")
    wanted = {
        "uses_k": uses_k,
        "needs_labels": needs_labels,
        "kmeans_based": kmeans_based,
        "runs_on_dask": runs_on_dask,
    }
    return tuple(
        spec.name
        for spec in REGISTRY
        if spec.input == input
        and all(value is None or getattr(spec, key) == value for key, value in wanted.items())
    )


def get_metric(name: object, *, input: str = "embeddings") -> MetricSpec:
    """The :class:`MetricSpec` called ``name`` among the metrics of ``input`` kind.

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid ones).
    """
    spec = _BY_NAME.get(name) if isinstance(name, str) else None
    if spec is None or spec.input != input:
        raise ValueError(f"metric={name!r} is not one of {', '.join(metric_names(input=input))}")
    return spec


#: Embedding metric names (``python -m core score --metric``), in registry order.
METRICS = metric_names(input="embeddings")
#: Training-records metric names (``python -m core score-dynamics --metric``).
RECORD_METRICS = metric_names(input="records")
