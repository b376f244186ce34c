"""Tests for core.export: CSV bytes, the manifest and atomic writes."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.export import (
    build_manifest,
    kept_csv_bytes,
    manifest_bytes,
    scores_csv_bytes,
    write_atomic,
    write_prune_outputs,
)
from core.io.data import Dataset, FileInfo, make_dataset
from core.prune.select import select_kept
from core.scores.metrics import ScoreParams, Scores


@pytest.fixture
def dataset() -> Dataset:
    embeddings = np.arange(12, dtype=np.float32).reshape(6, 2)
    return make_dataset(
        embeddings,
        ids=["a", "b,c", "d", "e", "f", "g"],  # "b,c" must be quoted in the CSV
        labels=["cat", "dog", "cat", "dog", "cat", "dog"],
        name="six",
        sources=(FileInfo("emb.npy", 224, "ab" * 32), FileInfo("meta.csv", 40, "cd" * 32)),
    )


@pytest.fixture
def scores() -> Scores:
    return Scores(
        metric="ssp",
        values=np.array([0.5, 1 / 3, 2.0, -0.25, 1e-12, 0.75]),
        clusters=np.array([0, 1, 0, 1, 2, 2], dtype=np.int64),
        centroids=None,
        params=ScoreParams(k=np.int64(3), distance="cosine", backend="sklearn", seed=7),
    )


def test_scores_csv_is_exact(dataset: Dataset, scores: Scores) -> None:
    expected = (
        "index,id,score,cluster,label\n"
        "0,a,0.5,0,cat\n"
        '1,"b,c",0.333333333,1,dog\n'
        "2,d,2,0,cat\n"
        "3,e,-0.25,1,dog\n"
        "4,f,1e-12,2,cat\n"
        "5,g,0.75,2,dog\n"
    )
    assert scores_csv_bytes(dataset, scores) == expected.encode()


def test_absent_clusters_and_labels_are_empty_cells(scores: Scores) -> None:
    bare = make_dataset(np.zeros((6, 2)))
    no_clusters = Scores("random", scores.values, None, None, {"seed": 0})
    lines = scores_csv_bytes(bare, no_clusters).decode().splitlines()
    assert lines[0] == "index,id,score,cluster,label"
    assert lines[1] == "0,0,0.5,,"


def test_kept_csv_round_trips_through_pandas(dataset: Dataset, scores: Scores) -> None:
    selection = select_kept(scores.values, 0.5, strategy="keep_hard")  # 3 highest: rows 2, 5, 0
    data = kept_csv_bytes(dataset, scores, selection)
    assert b"\r" not in data
    table = pd.read_csv(io.BytesIO(data), keep_default_na=False, dtype={"id": str, "label": str})
    assert list(table.columns) == ["index", "id", "score", "cluster", "label"]
    assert table["index"].tolist() == [0, 2, 5] == selection.kept_indices.tolist()
    assert table["id"].tolist() == ["a", "d", "g"]
    np.testing.assert_allclose(table["score"], scores.values[[0, 2, 5]], rtol=1e-9)
    assert table["cluster"].tolist() == [0, 0, 2]
    assert table["label"].tolist() == ["cat", "cat", "dog"]


def test_kept_csv_rejects_a_selection_for_another_dataset(dataset: Dataset, scores: Scores) -> None:
    selection = select_kept(np.arange(10.0), 0.5)
    with pytest.raises(ValueError, match=r"n_total=10 examples but the dataset has n=6"):
        kept_csv_bytes(dataset, scores, selection)


def test_scores_of_the_wrong_length_are_rejected(dataset: Dataset) -> None:
    short = Scores("random", np.zeros(4), None, None, {})
    with pytest.raises(ValueError, match=r"scores have 4 values but the dataset has n=6"):
        scores_csv_bytes(dataset, short)


def test_manifest_records_inputs_parameters_and_csv_hash(dataset: Dataset, scores: Scores) -> None:
    selection = select_kept(
        scores.values,
        0.5,
        strategy="keep_easy",
        groups=dataset.labels,
        balance_by="label",
        min_ratio=1.0,
        seed=3,
        always_keep=[1],
        always_drop=[3, 4],
    )
    data = kept_csv_bytes(dataset, scores, selection)
    manifest = build_manifest(dataset, scores, selection, csv_bytes=data, csv_name="kept.csv")
    assert manifest["inputs"] == [
        {"name": "emb.npy", "size": 224, "sha256": "ab" * 32},
        {"name": "meta.csv", "size": 40, "sha256": "cd" * 32},
    ]
    assert (manifest["n"], manifest["d"], manifest["metric"]) == (6, 2, "ssp")
    assert (manifest["k"], manifest["distance"], manifest["backend"]) == (3, "cosine", "sklearn")
    assert manifest["seed"] == 7
    assert manifest["score_orientation"] == "higher = harder"
    assert manifest["strategy"] == "keep_easy"
    assert manifest["keep_fraction"] == 0.5
    assert (manifest["balance_by"], manifest["min_ratio"]) == ("label", 1.0)
    assert manifest["selection_seed"] == 3
    assert manifest["always_keep"] == ["b,c"]  # pins are written as ids
    assert manifest["always_drop"] == ["e", "f"]
    assert manifest["n_kept"] == 3
    assert set(manifest["group_quota"]) == {"cat", "dog"}
    assert manifest["output"] == {
        "name": "kept.csv",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert manifest["versions"]["numpy"] == np.__version__
    assert "scikit-learn" in manifest["versions"]
    assert "torch" in manifest["versions"]
    assert manifest["created_at"].endswith("Z")


def test_score_manifest_has_null_selection_fields(dataset: Dataset, scores: Scores) -> None:
    manifest = build_manifest(dataset, scores, None)
    for key in ("strategy", "keep_fraction", "balance_by", "min_ratio", "always_keep", "n_kept"):
        assert manifest[key] is None


def test_content_sha256_ignores_created_at(dataset: Dataset, scores: Scores) -> None:
    first = build_manifest(dataset, scores, None, created_at="2020-01-01T00:00:00Z")
    second = build_manifest(dataset, scores, None, created_at="2031-06-30T12:00:00Z")
    assert first["created_at"] != second["created_at"]
    assert first["content_sha256"] == second["content_sha256"]
    other_seed = Scores(
        "ssp", scores.values, scores.clusters, None, dataclasses.replace(scores.params, seed=8)
    )
    third = build_manifest(dataset, other_seed, None, created_at="2020-01-01T00:00:00Z")
    assert third["content_sha256"] != first["content_sha256"]


def test_manifest_ignores_the_display_name(dataset: Dataset, scores: Scores) -> None:
    # The app names a sample "Digits (ssl)", the CLI names the same file by its stem; the
    # inputs' name, size and sha256 identify the data, so both exports must be identical.
    renamed = dataclasses.replace(dataset, name="ssl_embeddings")
    first = build_manifest(dataset, scores, None, created_at="2020-01-01T00:00:00Z")
    second = build_manifest(renamed, scores, None, created_at="2020-01-01T00:00:00Z")
    assert first == second
    assert "six" not in manifest_bytes(first).decode()


def test_content_sha256_is_documented_canonical_json(dataset: Dataset, scores: Scores) -> None:
    parsed = json.loads(manifest_bytes(build_manifest(dataset, scores, None)))
    fields = {
        k: v
        for k, v in parsed.items()
        if k not in ("created_at", "threads", "machine", "content_sha256")
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert parsed["content_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()


def test_manifest_bytes_are_sorted_json(dataset: Dataset, scores: Scores) -> None:
    manifest = build_manifest(dataset, scores, None, created_at="2020-01-01T00:00:00Z")
    data = manifest_bytes(manifest)
    assert data.endswith(b"}\n")
    keys = list(json.loads(data))
    assert keys == sorted(keys)
    assert data == manifest_bytes(
        build_manifest(dataset, scores, None, created_at="2020-01-01T00:00:00Z")
    )


def test_write_atomic_writes_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    write_atomic(target, b"first\n")
    write_atomic(target, b"second\n")
    assert target.read_bytes() == b"second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    assert target.stat().st_mode & 0o777 == 0o644


def test_write_atomic_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"old\n")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new\n")
    assert target.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_write_atomic_into_a_missing_directory_fails(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "out.csv", b"x")
    assert list(tmp_path.iterdir()) == []


def test_write_prune_outputs_writes_csv_and_manifest(
    tmp_path: Path, dataset: Dataset, scores: Scores
) -> None:
    selection = select_kept(scores.values, 0.5)
    csv_path, manifest_path = write_prune_outputs(tmp_path / "kept.csv", dataset, scores, selection)
    assert manifest_path == tmp_path / "kept.manifest.json"
    assert csv_path.read_bytes() == kept_csv_bytes(dataset, scores, selection)
    manifest = json.loads(manifest_path.read_bytes())
    assert manifest["output"]["sha256"] == hashlib.sha256(csv_path.read_bytes()).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.csv", "kept.manifest.json"]


def test_write_prune_outputs_without_selection_writes_every_score(
    tmp_path: Path, dataset: Dataset, scores: Scores
) -> None:
    csv_path, manifest_path = write_prune_outputs(tmp_path / "scores.csv", dataset, scores, None)
    assert csv_path.read_bytes() == scores_csv_bytes(dataset, scores)
    assert json.loads(manifest_path.read_bytes())["strategy"] is None


def test_write_prune_outputs_needs_an_existing_directory(
    tmp_path: Path, dataset: Dataset, scores: Scores
) -> None:
    with pytest.raises(ValueError, match=r"output directory .*missing does not exist"):
        write_prune_outputs(tmp_path / "missing" / "kept.csv", dataset, scores, None)


def test_a_failed_export_keeps_earlier_results(tmp_path: Path) -> None:
    from core.export import write_atomic_files

    (tmp_path / "kept.csv").write_text("OLD RESULTS\n")
    (tmp_path / "kept.manifest.json").mkdir()  # the manifest cannot be written there
    with pytest.raises(IsADirectoryError):
        write_atomic_files(
            [(tmp_path / "kept.csv", b"new"), (tmp_path / "kept.manifest.json", b"{}")]
        )
    assert (tmp_path / "kept.csv").read_text() == "OLD RESULTS\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.csv", "kept.manifest.json"]


def test_write_atomic_files_replaces_every_file(tmp_path: Path) -> None:
    from core.export import write_atomic_files

    (tmp_path / "a.csv").write_text("old a")
    write_atomic_files([(tmp_path / "a.csv", b"new a"), (tmp_path / "b.json", b"new b")])
    assert (tmp_path / "a.csv").read_bytes() == b"new a"
    assert (tmp_path / "b.json").read_bytes() == b"new b"
    assert not list(tmp_path.glob(".*.tmp"))


def test_negative_zero_scores_are_written_as_zero() -> None:
    from core.export import scores_csv_bytes

    dataset = make_dataset(np.eye(3))
    scores = Scores("aum", np.array([-0.0, 0.5, -1.25]), None, None, {})
    rows = scores_csv_bytes(dataset, scores).decode().splitlines()[1:]
    assert [row.split(",")[2] for row in rows] == ["0", "0.5", "-1.25"]
