"""Tests for core.scores.dynamics and core.io.records: orientation on planted training records, exact values, validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.export import write_prune_outputs
from core.io.demo_records import make_demo_records, precision_at_k
from core.io.records import (
    load_training_records,
    make_training_records,
    records_dataset,
    save_training_records,
)
from core.scores.dynamics import (
    score_aum,
    score_el2n,
    score_forgetting,
    score_records,
)
from core.scores.registry import RECORD_METRICS as DYNAMICS_METRICS

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "sample_data" / "demo_training_records.npz"
MISLABELED = 7  # planted row: confidently predicted as a class other than its label
N, C, EPOCHS = 12, 3, 4


def planted_logits() -> tuple[np.ndarray, np.ndarray]:
    """12 examples, 3 classes, 4 epochs; every example confidently predicted as (row % 3), and
    labelled so except row 7, which is labelled (row + 1) % 3. Margins grow with the epoch."""
    rng = np.random.default_rng(0)
    predicted = np.arange(N) % C
    labels = predicted.copy()
    labels[MISLABELED] = (predicted[MISLABELED] + 1) % C
    logits = rng.normal(0, 0.1, (EPOCHS, N, C))
    for epoch in range(EPOCHS):
        logits[epoch, np.arange(N), predicted] += 2.0 + epoch
    return logits, labels


def planted_correct() -> np.ndarray:
    """(6 presentations, 5 examples): row 0 always right, row 1 learned then forgotten 3 times,
    row 2 forgotten once, row 3 never learned, row 4 learned late and kept."""
    return np.array(
        [
            [1, 1, 0, 0, 0],
            [1, 0, 1, 0, 0],
            [1, 1, 0, 0, 0],
            [1, 0, 1, 0, 1],
            [1, 1, 1, 0, 1],
            [1, 0, 1, 0, 1],
        ],
        dtype=bool,
    )


# ----------------------------------------------------------------------------- orientation


def test_el2n_mislabeled_example_scores_highest() -> None:
    logits, labels = planted_logits()
    scores = score_el2n(logits, labels)
    assert scores.metric == "el2n"
    assert scores.values.dtype == np.float64
    assert scores.values.shape == (N,)
    assert scores.clusters is None
    assert scores.centroids is None
    assert int(np.argmax(scores.values)) == MISLABELED
    assert scores.params.source == "logits"
    assert ((scores.values >= 0) & (scores.values <= np.sqrt(2))).all()


def test_aum_exports_minus_aum_and_mislabeled_example_scores_highest() -> None:
    logits, labels = planted_logits()
    scores = score_aum(logits, labels)
    assert int(np.argmax(scores.values)) == MISLABELED
    assert scores.values[MISLABELED] > 0  # AUM negative: the label is not the model's choice
    assert (np.delete(scores.values, MISLABELED) < 0).all()
    assert scores.params.score == "-AUM"


def test_forgetting_orders_never_learned_then_repeatedly_forgotten() -> None:
    scores = score_forgetting(planted_correct())
    np.testing.assert_array_equal(scores.values, [0, 3, 1, 7, 0])
    assert scores.params.never_learned_score == 7.0  # n_epochs + 1
    assert scores.params.n_never_learned == 1
    assert np.argsort(-scores.values, kind="stable").tolist()[:3] == [3, 1, 2]


def test_never_learned_outranks_the_most_forgetting_possible() -> None:
    # 1,0,1,0,... forgets floor(E / 2) times, the most E presentations allow.
    epochs = 7
    alternating = (np.arange(epochs) % 2 == 0)[:, None]
    correct = np.hstack([alternating, np.zeros((epochs, 1), dtype=bool)])
    scores = score_forgetting(correct)
    np.testing.assert_array_equal(scores.values, [3, epochs + 1])
    assert np.isfinite(scores.values).all()


# ----------------------------------------------------------------------------- exact values


def test_el2n_matches_the_definition_and_probs_equal_logits() -> None:
    logits, labels = planted_logits()
    exp = np.exp(logits - logits.max(axis=2, keepdims=True))
    probs = exp / exp.sum(axis=2, keepdims=True)
    expected = np.linalg.norm(probs - np.eye(C)[labels][None], axis=2).mean(axis=0)
    np.testing.assert_allclose(score_el2n(logits, labels).values, expected, rtol=1e-12)
    from_probs = score_el2n(probs, labels)
    assert from_probs.params.source == "probs"
    np.testing.assert_allclose(from_probs.values, expected, rtol=1e-12)
    np.testing.assert_allclose(
        score_el2n(probs, labels, kind="logits").values,
        np.linalg.norm(
            np.exp(probs) / np.exp(probs).sum(axis=2, keepdims=True) - np.eye(C)[labels][None],
            axis=2,
        ).mean(axis=0),
        rtol=1e-12,
    )


def test_epochs_selects_first_n_or_given_indices() -> None:
    logits, labels = planted_logits()
    first_two = score_el2n(logits, labels, epochs=2)
    np.testing.assert_allclose(first_two.values, score_el2n(logits[:2], labels).values)
    assert first_two.params.epochs == (0, 1)
    picked = score_aum(logits, labels, epochs=[3, 1])
    np.testing.assert_allclose(picked.values, score_aum(logits[[1, 3]], labels).values)
    assert picked.params.n_epochs == 2


def test_aum_matches_the_definition_and_log_probs_give_the_same_margins() -> None:
    logits = np.array([[[2.0, 0.5, 1.0], [0.0, 3.0, 1.0]], [[1.0, 1.5, 0.0], [0.0, 1.0, 2.0]]])
    labels = np.array([0, 1])
    # row 0: margins 2-1=1, 1-1.5=-0.5 -> AUM 0.25; row 1: 3-1=2, 1-2=-1 -> AUM 0.5
    np.testing.assert_allclose(score_aum(logits, labels).values, [-0.25, -0.5])
    log_probs = logits - np.log(np.exp(logits).sum(axis=2, keepdims=True))
    np.testing.assert_allclose(score_aum(log_probs, labels).values, [-0.25, -0.5])


def test_score_records_derives_correct_from_logits() -> None:
    logits, labels = planted_logits()
    records = make_training_records(logits=logits, labels=labels)
    scores = score_records(records, "forgetting")
    assert scores.params.correct_from == "argmax(logits)"
    assert int(np.argmax(scores.values)) == MISLABELED  # never learned
    assert scores.values[MISLABELED] == EPOCHS + 1


def test_score_records_prefers_recorded_probs_and_correct() -> None:
    logits, labels = planted_logits()
    probs = np.full_like(logits, 1 / C)
    correct = np.ones((EPOCHS, N), dtype=bool)
    records = make_training_records(logits=logits, probs=probs, correct=correct, labels=labels)
    assert score_records(records, "el2n").params.source == "probs"
    assert score_records(records, "forgetting").params.correct_from == "correct"
    assert set(DYNAMICS_METRICS) == {"el2n", "forgetting", "aum"}


# ----------------------------------------------------------------------------- files and export


def _save(path: Path, **arrays: object) -> Path:
    np.savez(path, **arrays)
    return path


def test_load_round_trip_and_reproducible_save(tmp_path: Path) -> None:
    logits, labels = planted_logits()
    ids = np.array([f"ex{i}" for i in range(N)])
    path = _save(tmp_path / "r.npz", logits=logits.astype(np.float32), labels=labels, ids=ids)
    records = load_training_records(path)
    assert records.keys == ("logits", "labels", "ids")
    assert (records.n_epochs, records.n, records.n_classes) == (EPOCHS, N, C)
    assert records.sources[0].name == "r.npz"
    save_training_records(tmp_path / "a.npz", records)
    save_training_records(tmp_path / "b.npz", records)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    again = load_training_records(tmp_path / "a.npz")
    np.testing.assert_array_equal(again.logits, records.logits)
    np.testing.assert_array_equal(again.ids, ids)


def test_records_dataset_and_outputs_have_no_embedding_placeholder(tmp_path: Path) -> None:
    logits, labels = planted_logits()
    records = make_training_records(logits=logits, labels=labels)
    dataset = records_dataset(records)
    assert dataset.embeddings.shape == (N, 0)
    assert dataset.ids.tolist() == [str(i) for i in range(N)]
    assert dataset.class_names == ("0", "1", "2")
    scores = score_records(records, "aum")
    csv_path, manifest_path = write_prune_outputs(
        tmp_path / "s.csv", dataset, scores, None, extra={"scored_from": "training records"}
    )
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "index,id,score,cluster,label"
    assert lines[1 + MISLABELED].split(",")[4] == str(labels[MISLABELED])
    manifest = json.loads(manifest_path.read_text())
    assert manifest["d"] is None
    assert manifest["n"] == N
    assert manifest["metric"] == "aum"
    assert manifest["score_params"]["score"] == "-AUM"


def test_records_dataset_checks_metadata_ids_against_records() -> None:
    logits, labels = planted_logits()
    ids = np.array([f"ex{i}" for i in range(N)])
    records = make_training_records(logits=logits, labels=labels, ids=ids)
    assert records_dataset(records, ids=ids).ids.tolist() == ids.tolist()
    with pytest.raises(ValueError, match=r"differ from the training records' ids in 2 of 12"):
        records_dataset(records, ids=ids[[1, 0, *range(2, N)]])
    only_correct = make_training_records(correct=planted_correct())
    dataset = records_dataset(only_correct, labels=["b", "a", "a", "c", "b"])
    assert dataset.class_names == ("a", "b", "c")


# ----------------------------------------------------------------------------- the demo


def test_demo_records_are_seeded_and_find_flipped_labels() -> None:
    rng = np.random.default_rng(1)
    centres = 3 * rng.normal(size=(3, 5))
    labels = np.repeat(np.arange(3), 40)
    x = centres[labels] + rng.normal(size=(120, 5))
    records, flipped = make_demo_records(x, labels, epochs=5, flip_fraction=0.1, seed=0)
    again, _ = make_demo_records(x, labels, epochs=5, flip_fraction=0.1, seed=0)
    np.testing.assert_array_equal(records.logits, again.logits)
    assert flipped.sum() == 12
    assert (records.labels[flipped] != labels[flipped]).all()
    for metric in DYNAMICS_METRICS:
        assert precision_at_k(score_records(records, metric).values, flipped) >= 0.75, metric


def test_shipped_demo_file_loads_and_its_flipped_labels_rank_hardest() -> None:
    import pandas as pd

    records = load_training_records(DEMO)
    assert DEMO.stat().st_size < 1_000_000
    assert (records.n_epochs, records.n, records.n_classes) == (10, 1797, 10)
    assert records.keys == ("logits", "correct", "labels", "ids")
    meta = pd.read_csv(REPO_ROOT / "sample_data" / "digits" / "metadata.csv", dtype=str)
    assert records.ids.tolist() == meta["id"].tolist()
    flipped = records.labels != meta["label"].astype(int).to_numpy()
    assert flipped.sum() == 90  # 5% of 1797
    for metric in DYNAMICS_METRICS:
        assert precision_at_k(score_records(records, metric).values, flipped) >= 0.85, metric


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({}, r"at least one of 'logits', 'probs' or 'correct'"),
        ({"logits": np.zeros((2, 3))}, r"logits should be 3-D \(n_epochs, n, c\), got shape"),
        ({"logits": np.zeros((0, 3, 2))}, r"at least 1 epoch, got n_epochs=0"),
        ({"correct": np.zeros((0, 3), dtype=bool)}, r"correct should hold at least 1 epoch"),
        ({"logits": np.zeros((2, 1, 2))}, r"at least 2 examples, got n=1"),
        ({"logits": np.zeros((2, 3, 1))}, r"at least 2 classes, got c=1"),
        ({"logits": np.array([[["a", "b"]] * 3])}, r"logits should be real numbers, got dtype"),
        (
            {"logits": np.zeros((2, 3, 2)), "probs": np.full((2, 4, 2), 0.5)},
            r"logits has shape \(2, 3, 2\) but probs has shape \(2, 4, 2\)",
        ),
        (
            {"logits": np.zeros((2, 3, 2)), "correct": np.ones((3, 3), dtype=bool)},
            r"correct has shape \(3, 3\) but logits has shape \(2, 3, 2\)",
        ),
        (
            {"logits": np.zeros((2, 3, 2)), "labels": np.zeros(4, dtype=int)},
            r"labels has 4 entries but the records have n=3",
        ),
        (
            {"logits": np.zeros((2, 3, 2)), "ids": np.array(["a", "b"])},
            r"ids has 2 entries but the records have n=3",
        ),
        (
            {"logits": np.zeros((2, 3, 2)), "ids": np.array(["a", "b", "a"])},
            r"ids should be unique; 1 ids repeat: 'a'",
        ),
        (
            {"logits": np.zeros((2, 3, 2)), "labels": np.array([0, 2, 5])},
            r"labels should lie in \[0, c=2\); 2 of 3 are outside \(rows 1, 2; values 2, 5\)",
        ),
        (
            {"logits": np.zeros((2, 3, 2)), "labels": np.array([0.0, 1.0, 1.0])},
            r"labels should be integer class indices",
        ),
        (
            {"correct": np.zeros((2, 3), dtype=bool), "labels": np.array([0, -1, 1])},
            r"labels should lie in \[0, c\); 1 of 3 are outside \(rows 1; values -1\)",
        ),
        ({"correct": np.array([[0, 1, 2], [1, 1, 1]])}, r"only 0/1 .* 1 of 3 examples .*rows 2"),
        ({"correct": np.zeros(3, dtype=bool)}, r"correct should be 2-D \(n_epochs, n\)"),
        ({"probs": np.full((1, 3, 2), 0.7)}, r"probs: 3 of 3 examples have rows that do not sum"),
        (
            {"probs": np.array([[[1.5, -0.5], [0.5, 0.5], [0.5, 0.5]]])},
            r"probs: 1 of 3 examples have values outside \[0, 1\] \(rows 0\)",
        ),
    ],
)
def test_make_training_records_rejects_bad_input(arrays: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_training_records(**arrays)


def test_nan_and_inf_are_counted_with_first_rows() -> None:
    logits = np.zeros((3, 8, 2))
    logits[1, 2, 0] = np.nan
    logits[2, 6, 1] = np.inf
    with pytest.raises(ValueError, match=r"logits: 2 of 8 examples have NaN or inf .*rows 2, 6"):
        make_training_records(logits=logits)


def test_load_rejects_bad_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_training_records(tmp_path / "missing.npz")
    np.save(tmp_path / "r.npy", np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match=r"unsupported training records file extension '.npy'"):
        load_training_records(tmp_path / "r.npy")
    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match=r"could not read bad.npz: not a NumPy .npz file"):
        load_training_records(tmp_path / "bad.npz")
    path = _save(tmp_path / "typo.npz", logit=np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match=r"typo.npz: unknown keys \['logit'\]; .* logits, probs"):
        load_training_records(path)
    path = _save(tmp_path / "obj.npz", ids=np.array(["a", None, 3], dtype=object))
    with pytest.raises(ValueError, match=r"obj.npz: pickled/object arrays are not accepted"):
        load_training_records(path)
    path = _save(tmp_path / "range.npz", logits=np.zeros((2, 3, 2)), labels=np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"^range.npz: labels should lie in \[0, c=2\)"):
        load_training_records(path)


@pytest.mark.parametrize(
    ("arrays", "metric", "match"),
    [
        ({"correct": np.ones((2, 3), dtype=bool)}, "el2n", r"'el2n' needs 'logits' or 'probs'"),
        ({"logits": np.zeros((2, 3, 2))}, "el2n", r"'el2n' needs 'labels'.*hold logits"),
        (
            {"probs": np.full((2, 3, 2), 0.5), "labels": np.zeros(3, dtype=int)},
            "aum",
            r"'aum' needs 'logits' in the training records; they hold probs, labels",
        ),
        ({"logits": np.zeros((2, 3, 2))}, "forgetting", r"'forgetting' needs 'labels' \(to derive"),
        ({"logits": np.zeros((2, 3, 2))}, "grand", r"metric='grand' is not one of el2n"),
    ],
)
def test_score_records_names_missing_keys(
    arrays: dict[str, object], metric: str, match: str
) -> None:
    records = make_training_records(**arrays)
    with pytest.raises(ValueError, match=match):
        score_records(records, metric)


@pytest.mark.parametrize(
    ("epochs", "match"),
    [
        (0, r"epochs=0 should be in \[1, n_epochs=4\]"),
        (5, r"epochs=5 should be in \[1, n_epochs=4\]"),
        ([0, 4], r"epochs 4 are outside \[0, n_epochs=4\)"),
        ([], r"should be a non-empty sequence of ints"),
        ("2", r"should be None, an int or a sequence of ints"),
    ],
)
def test_bad_epochs(epochs: object, match: str) -> None:
    logits, labels = planted_logits()
    with pytest.raises(ValueError, match=match):
        score_el2n(logits, labels, epochs=epochs)  # type: ignore[arg-type]


def test_score_functions_validate_their_arrays() -> None:
    logits, labels = planted_logits()
    with pytest.raises(ValueError, match=r"kind='softmax' is not one of auto, logits, probs"):
        score_el2n(logits, labels, kind="softmax")
    with pytest.raises(ValueError, match=r"probs: 12 of 12 examples have values outside"):
        score_el2n(logits * 10, labels, kind="probs")
    with pytest.raises(ValueError, match=r"labels has 11 entries but the records have n=12"):
        score_aum(logits, labels[:-1])
    with pytest.raises(ValueError, match=r"correct should be bool or 0/1 integers"):
        score_forgetting(np.array([["y", "n"], ["n", "y"]]))


@pytest.mark.parametrize(("n_epochs", "index"), [(1, 0), (9, 0), (10, 1), (19, 1), (200, 20)])
def test_el2n_defaults_to_the_early_checkpoint(n_epochs: int, index: int) -> None:
    from core.scores.dynamics import early_checkpoint

    assert early_checkpoint(n_epochs) == index
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(n_epochs, 6, 3))
    records = make_training_records(logits=logits, labels=np.arange(6) % 3)
    scores = score_records(records, "el2n")
    assert scores.params.epochs == (index,)
    np.testing.assert_allclose(scores.values, score_records(records, "el2n", epochs=[index]).values)


def test_score_runs_averages_runs_and_checks_they_match() -> None:
    from core.scores.dynamics import score_runs

    rng = np.random.default_rng(1)
    labels = np.arange(8) % 2
    runs = [make_training_records(logits=rng.normal(size=(5, 8, 2)), labels=labels) for _ in "ab"]
    for metric in ("el2n", "forgetting", "aum"):
        mean = (score_records(runs[0], metric).values + score_records(runs[1], metric).values) / 2
        averaged = score_runs(runs, metric)
        np.testing.assert_allclose(averaged.values, mean)
        assert averaged.params.n_runs == 2
    other = make_training_records(logits=rng.normal(size=(5, 8, 2)), labels=1 - labels)
    with pytest.raises(ValueError, match="run 1 has other labels than run 0"):
        score_runs([runs[0], other], "aum")
    with pytest.raises(ValueError, match="at least one"):
        score_runs([], "aum")
