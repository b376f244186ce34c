"""Tests for core.scores.registry: every metric computes with its documented orientation, and
the CLI choices and the sidebar list exactly the registered metrics."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from core.cli import build_parser
from core.io.records import make_training_records
from core.scores.metrics import compute_scores
from core.scores.registry import METRICS, RECORD_METRICS, REGISTRY, get_metric, metric_names


def _planted() -> tuple[np.ndarray, np.ndarray, int]:
    """Three tight labelled blobs plus one far point labelled like the first blob (row 30)."""
    rng = np.random.default_rng(0)
    centres = np.array([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]])
    x = np.concatenate([c + 0.1 * rng.standard_normal((10, 3)) for c in centres])
    labels = np.repeat(np.arange(3), 10)
    x = np.vstack([x, [[0.0, 6.0, 6.0]]])  # between blobs 2 and 3, labelled 0
    return x, np.append(labels, 0), 30


@pytest.mark.parametrize("name", METRICS)
def test_every_embedding_metric_scores_the_planted_point_hardest(name: str) -> None:
    x, labels, planted = _planted()
    spec = get_metric(name)
    scores = compute_scores(x, name, k=3, labels=labels, seed=0)
    assert scores.metric == name
    assert scores.values.shape == (x.shape[0],)
    assert np.isfinite(scores.values).all()
    if name == "random":  # "harder" by chance: only seeded and in [0, 1)
        assert ((scores.values >= 0) & (scores.values < 1)).all()
        return
    assert int(np.argmax(scores.values)) == planted, spec.orientation
    assert (scores.clusters is not None) == (spec.kmeans_based or spec.needs_labels)


@pytest.mark.parametrize("name", [m for m in METRICS if get_metric(m).needs_labels])
def test_label_metrics_refuse_missing_labels(name: str) -> None:
    x, _, _ = _planted()
    with pytest.raises(ValueError, match="needs labels"):
        compute_scores(x, name, k=3)


@pytest.mark.parametrize("name", RECORD_METRICS)
def test_every_records_metric_scores_the_mislabelled_example_hardest(name: str) -> None:
    labels = np.arange(12) % 3
    logits = np.zeros((4, 12, 3))
    logits[:, np.arange(12), labels] = 5.0  # confidently right every epoch...
    logits[:, 11, :] = [0.0, 5.0, 0.0]  # ...except row 11 (label 2), never learned
    records = make_training_records(logits=logits, labels=labels)
    scores = get_metric(name, input="records").score(records, epochs=None)
    assert scores.metric == name
    assert scores.values.shape == (12,)
    assert int(np.argmax(scores.values)) == 11, get_metric(name, input="records").orientation


def test_registry_names_are_unique_and_kinds_split() -> None:
    names = [spec.name for spec in REGISTRY]
    assert len(names) == len(set(names))
    assert set(METRICS) | set(RECORD_METRICS) == set(names)
    assert metric_names(runs_on_dask=True) == ("ssp", "prototype_margin")
    assert all(get_metric(m).uses_k for m in metric_names(kmeans_based=True))
    with pytest.raises(ValueError, match="not one of"):
        get_metric("el2n")  # a records metric is not an embedding metric
    with pytest.raises(ValueError, match="input="):
        metric_names(input="pixels")


def _choices(parser: argparse.ArgumentParser, command: str, option: str) -> tuple[str, ...]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices[command]._actions if option in a.option_strings)
    return tuple(action.choices)


def test_cli_choices_are_the_registry() -> None:
    parser = build_parser()
    for command in ("score", "prune", "curve"):
        assert _choices(parser, command, "--metric") == METRICS
    assert _choices(parser, "score-dynamics", "--metric") == RECORD_METRICS
