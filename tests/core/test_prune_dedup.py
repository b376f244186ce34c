"""Tests for ``prune --dedup-epsilon``: SemDeDup first, then keep a fraction of what is left."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from core.cli import main
from core.prune.select import kept_count
from core.prune.semdedup import semdedup


def test_dedup_then_prune(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    base = np.concatenate([c + rng.standard_normal((20, 6)) for c in 6 * np.eye(6)[:3]])
    copies = base[:12] + 1e-4 * rng.standard_normal((12, 6))  # 12 planted near-duplicates
    embeddings = np.concatenate([base, copies]).astype(np.float32)
    np.save(tmp_path / "emb.npy", embeddings)
    out = tmp_path / "kept.csv"
    args = ["prune", str(tmp_path / "emb.npy"), "--keep", "0.5", "--k", "3", "--seed", "0"]
    assert main([*args, "--dedup-epsilon", "0.002", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    removed = ~semdedup(embeddings, k=3, epsilon=0.002, seed=0).keep_mask
    assert removed.sum() == 12
    n_dedup = 72 - 12
    kept = pd.read_csv(out)
    assert len(kept) == kept_count(n_dedup, 0.5) == 30
    assert not removed[kept["index"]].any()
    assert "30 kept: 0.5 of the 60 left after removing 12 near-duplicates from 72" in printed
    manifest = json.loads(out.with_name("kept.manifest.json").read_text())
    record = manifest["extra"]["dedup_then_prune"]
    assert record["n_original"] == 72
    assert record["n_deduplicated"] == 60
    assert record["dedup"]["epsilon"] == 0.002
    assert record["dedup"]["k"] == 3
    assert manifest["n_kept"] == 30
    assert manifest["keep_fraction"] == 0.5
    # The kept rows are the hardest of the survivors under the full-data SSP scores.
    full = tmp_path / "all.csv"
    assert main(["score", str(tmp_path / "emb.npy"), "--k", "3", "--out", str(full)]) == 0
    scores = pd.read_csv(full)["score"].to_numpy()
    survivors = np.flatnonzero(~removed)
    best = survivors[np.argsort(-scores[survivors], kind="stable")[:30]]
    np.testing.assert_array_equal(np.sort(best), kept["index"])


def test_dedup_flag_errors(tmp_path: Path, capsys) -> None:
    np.save(tmp_path / "emb.npy", np.random.default_rng(0).random((10, 3)))
    out = str(tmp_path / "k.csv")
    assert (
        main(
            [
                "prune",
                str(tmp_path / "emb.npy"),
                "--keep",
                "0.5",
                "--dedup-epsilon",
                "1.5",
                "--out",
                out,
            ]
        )
        == 2
    )
    assert "--dedup-epsilon 1.5 should be in [0, 1)" in capsys.readouterr().err
    assert (
        main(["prune", str(tmp_path / "emb.npy"), "--keep", "0.5", "--dedup-k", "3", "--out", out])
        == 2
    )
    assert "--dedup-k needs --dedup-epsilon" in capsys.readouterr().err
