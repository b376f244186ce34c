"""AppTest of pages/6_Deduplicate.py: counts at each ε, planted duplicates, and the CLI's bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.cli import main as cli_main
from core.io.data import make_dataset
from core.io.samples import make_synthetic
from core.prune.semdedup import semdedup
from tests.pages.conftest import DATASET_KEY, ROOT, page_path
from tests.pages.test_prune_page import _record_downloads
from ui.cache import _synthetic_dataset

N = 600
PAGE = "6_Deduplicate.py"


def _app(**state: object) -> AppTest:
    at = AppTest.from_file(page_path(PAGE), default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _fresh_run(epsilon: float, order: str = "keep_hard"):
    dataset = _synthetic_dataset(*(int(p) for p in DATASET_KEY.split(":")[1:]))
    return semdedup(dataset.embeddings, k=4, epsilon=epsilon, order=order, seed=0)


def test_page_runs_and_shows_the_removed_count() -> None:
    at = _app()
    assert not at.error
    expected = _fresh_run(0.002).n_removed
    assert _metric(at, "Removed") == f"{expected:,}"
    assert _metric(at, "Kept") == f"{N - expected:,}"
    assert _metric(at, "Removed fraction") == f"{expected / N:.1%}"


def test_moving_epsilon_changes_the_removed_count_exactly() -> None:
    at = _app()
    counts = []
    for epsilon in (0.2, 0.03, 0.0001):
        at.select_slider(key="dedup_epsilon").set_value(epsilon).run()
        assert not at.exception
        expected = _fresh_run(epsilon).n_removed
        assert _metric(at, "Removed") == f"{expected:,}"
        counts.append(expected)
    assert counts[0] > counts[1] > 0  # the blobs give the slider something to move
    at.radio(key="dedup_order").set_value("random").run()
    assert not at.exception
    assert _metric(at, "Removed") == f"{_fresh_run(0.0001, 'random').n_removed:,}"


def test_planted_exact_duplicates_are_found_and_paired() -> None:
    blobs = make_synthetic(200, 16, 4, 0)
    copies = np.arange(0, 200, 20)  # rows 0, 20, ..., 180 copied to rows 200-209
    dataset = make_dataset(
        np.concatenate([blobs.embeddings, blobs.embeddings[copies]]),
        labels=np.concatenate([blobs.labels, blobs.labels[copies]]),
        name="planted copies",
    )
    key = "upload:planted"
    at = _app(uploaded={key: dataset}, dataset_key=key, dedup_epsilon=0.0001)
    assert not at.error
    assert _metric(at, "Removed") == "10"
    pairs = at.dataframe[0].value
    # keep_hard: an exact copy ties with its original, the lower row survives.
    assert sorted(zip(pairs["removed row"], pairs["duplicate of row"], strict=True)) == [
        (200 + i, int(row)) for i, row in enumerate(copies)
    ]
    np.testing.assert_allclose(pairs["cosine"], 1.0, atol=1e-6)


def test_k_larger_than_n_shows_an_error_not_a_traceback() -> None:
    at = _app()
    at.sidebar.number_input(key="k").set_value(N + 1).run()
    assert not at.exception
    assert at.error
    assert str(N + 1) in at.error[0].value


@pytest.mark.parametrize(
    ("epsilon", "order", "seed"), [(0.002, "keep_hard", 0), (0.01, "random", 1)]
)
def test_download_equals_cli_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, epsilon: float, order: str, seed: int
) -> None:
    sample = "digits"
    monkeypatch.setenv("PRUNESCOPE_SAMPLE", sample)
    downloads = _record_downloads(monkeypatch)
    key = f"sample:{sample}:ssl"
    at = _app(
        dataset_key=key,
        k_dataset=key,
        k=10,
        seed=seed,
        dedup_epsilon=epsilon,
        dedup_order=order,
    )
    assert not at.error

    folder = ROOT / "sample_data" / sample
    argv = ["dedup", str(folder / "ssl_embeddings.npy"), "--meta", str(folder / "metadata.csv")]
    argv += ["--k", "10", "--epsilon", str(epsilon), "--order", order, "--seed", str(seed)]
    argv += ["--out", str(tmp_path / "kept.csv")]
    assert cli_main(argv) == 0

    assert downloads["kept.csv"] == (tmp_path / "kept.csv").read_bytes()
    app_manifest = json.loads(downloads["kept.manifest.json"])
    cli_manifest = json.loads((tmp_path / "kept.manifest.json").read_bytes())
    assert app_manifest.pop("created_at")
    assert cli_manifest.pop("created_at")
    assert app_manifest == cli_manifest
    n_kept = len(downloads["kept.csv"].decode().splitlines()) - 1
    assert _metric(at, "Kept") == f"{n_kept:,}"
    assert app_manifest["n_kept"] == n_kept


def test_k_stays_editable_when_the_metric_ignores_it() -> None:
    # SemDeDup always runs k-means, so the sidebar's k must not be disabled by a k-free metric.
    at = _app(metric="random")
    k_input = at.sidebar.number_input(key="k")
    assert not k_input.disabled
    k_input.set_value(3).run()
    assert not at.exception
    expected = semdedup(
        _synthetic_dataset(*(int(p) for p in DATASET_KEY.split(":")[1:])).embeddings,
        k=3,
        epsilon=float(at.session_state["dedup_epsilon"]),
        seed=0,
    )
    assert _metric(at, "Removed") == f"{expected.n_removed:,}"
