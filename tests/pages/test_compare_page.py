"""AppTest of pages/7_Compare.py, the stability check on Prune & export, imported scores as a
metric, and the in-app export verification."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.analysis.compare import compare_scores
from core.export import build_manifest, kept_csv_bytes, manifest_bytes
from core.io.imported_scores import import_scores, read_score_table
from core.prune.select import select_kept
from core.scores.metrics import compute_scores
from tests.pages.conftest import DATASET_KEY, page_path
from ui.cache import _synthetic_dataset
from ui.imported import read_columns
from ui.verify_panel import verify_uploaded

METRICS = ["ssp", "prototype_margin", "knn_density"]


def _dataset():
    return _synthetic_dataset(*(int(p) for p in DATASET_KEY.split(":")[1:]))


def _core_scores(metric: str) -> np.ndarray:
    dataset = _dataset()
    return compute_scores(dataset.embeddings, metric, k=4, labels=dataset.labels, seed=0).values


def _run(page: str = "7_Compare.py", at: AppTest | None = None) -> AppTest:
    if at is None:  # an AppTest that has not run yet is empty, so falsy
        at = AppTest.from_file(page_path(page), default_timeout=180)
    at.run()
    assert not at.exception
    return at


def _heatmap_z(at: AppTest, index: int) -> np.ndarray:
    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    return np.array(spec["data"][0]["z"], dtype=np.float64)


def test_matrices_and_jaccard_equal_core() -> None:
    at = _run()
    assert not at.error
    expected = compare_scores(
        {m: _core_scores(m) for m in METRICS}, keep_fraction=0.8, strategy="keep_hard", seed=0
    )
    np.testing.assert_allclose(_heatmap_z(at, 0), expected.spearman, atol=1e-12)
    shown = at.dataframe[0].value
    for column in ("spearman", "kendall", "jaccard"):
        np.testing.assert_allclose(shown[column], expected.pairs[column], atol=1e-12)
    kendall = np.eye(3)
    kendall[np.triu_indices(3, 1)] = expected.pairs["kendall"]
    np.testing.assert_allclose(_heatmap_z(at, 1), np.maximum(kendall, kendall.T), atol=1e-12)


def test_jaccard_follows_the_shared_keep_fraction_and_strategy() -> None:
    at = AppTest.from_file(page_path("7_Compare.py"), default_timeout=180)
    at.session_state["keep_fraction"] = 0.3
    at.session_state["strategy"] = "keep_easy"
    at.session_state["compare_metrics"] = ["ssp", "knn_density"]
    _run(at=at)
    assert not at.error, at.error[0].value
    a, b = _core_scores("ssp"), _core_scores("knn_density")
    kept_a = select_kept(a, 0.3, strategy="keep_easy", seed=0).mask()
    kept_b = select_kept(b, 0.3, strategy="keep_easy", seed=0).mask()
    expected = (kept_a & kept_b).sum() / (kept_a | kept_b).sum()
    assert at.dataframe[0].value["jaccard"].iloc[0] == pytest.approx(expected, abs=1e-12)


def test_one_metric_says_pick_two() -> None:
    at = AppTest.from_file(page_path("7_Compare.py"), default_timeout=180)
    at.session_state["compare_metrics"] = ["ssp"]
    at.run()
    assert not at.exception
    assert "at least two" in at.error[0].value


def test_stability_run_charts_jaccard_against_k() -> None:
    at = _run()
    at.text_input(key="stability_ks").set_value("2, 4").run()
    at.button(key="stability_run").click().run()
    assert not at.exception
    assert not at.error
    table = at.dataframe[-1].value
    assert list(table["k"]) == [2, 4]
    # Four separated blobs: at k = 4 every seed finds them, so the kept set never moves.
    assert table["jaccard"].iloc[-1] == pytest.approx(1.0)
    assert any("kept in all 5 seeds" in c.value for c in at.caption)


def test_the_consensus_becomes_the_metric_as_the_cli_reads_it(tmp_path) -> None:
    from core.analysis.stability import score_stability, stability_csv_bytes

    at = _run()
    at.text_input(key="stability_ks").set_value("3").run()
    at.button(key="stability_run").click().run()
    at.button(key="stability_adopt").click().run()
    assert not at.exception
    assert not at.error
    assert at.session_state["metric"] == "imported:score_mean"
    assert any("stability_ssp_k3.csv" in s.value for s in at.success)
    adopted = at.session_state["imported_scores"][DATASET_KEY]["imported:score_mean"]
    # The same bytes the download offers, read as `prune --scores FILE:score_mean` reads them.
    dataset = _dataset()
    expected = score_stability(dataset.embeddings, k=3, seeds=range(5), keep_fraction=0.8)
    path = tmp_path / "stability_ssp_k3.csv"
    path.write_bytes(stability_csv_bytes(expected, dataset.ids))
    cli = import_scores(read_score_table(path, "score_mean"), ids=dataset.ids, n=dataset.n)
    np.testing.assert_array_equal(adopted.values, cli.values)
    assert adopted.params.score_file == "stability_ssp_k3.csv"
    np.testing.assert_allclose(adopted.values, expected.score_mean, rtol=1e-8)


def test_bad_k_list_is_an_error_box() -> None:
    at = _run()
    at.text_input(key="stability_ks").set_value("4, many").run()
    assert not at.exception
    assert "integers" in at.error[0].value


def test_prune_stability_summary_on_separable_blobs_is_fully_stable() -> None:
    at = _run("3_Prune_and_export.py")
    at.button(key="prune_stability_run").click().run()
    assert not at.exception
    assert at.info[-1].value.startswith("100% of the kept set is kept in all 5 seeds")


def _imported(tmp_path) -> tuple[str, np.ndarray]:
    dataset = _dataset()
    values = np.random.default_rng(3).normal(size=dataset.n)
    path = tmp_path / "scores.csv"
    pd.DataFrame({"id": dataset.ids[::-1], "loss": values[::-1]}).to_csv(path, index=False)
    scores = import_scores(read_score_table(path, "loss"), ids=dataset.ids, n=dataset.n)
    np.testing.assert_allclose(scores.values, values)
    return scores.metric, scores


def test_imported_scores_are_a_metric_on_every_page(tmp_path) -> None:
    metric, scores = _imported(tmp_path)
    at = AppTest.from_file(page_path("app.py"), default_timeout=180)
    at.session_state["imported_scores"] = {DATASET_KEY: {metric: scores}}
    at.session_state["compare_metrics"] = ["ssp", metric]
    _run(at=at)
    assert metric in at.sidebar.selectbox(key="metric").options
    at.switch_page("pages/7_Compare.py").run()
    assert not at.exception
    assert not at.error
    assert at.title[0].value == "Compare"
    expected = compare_scores(
        {"ssp": _core_scores("ssp"), metric: scores.values}, keep_fraction=0.8, seed=0
    )
    np.testing.assert_allclose(at.dataframe[0].value["spearman"], expected.pairs["spearman"])
    at.sidebar.selectbox(key="metric").set_value(metric).run()
    pages = {
        "3_Prune_and_export": "Prune & export",
        "1_Map": "Map",
        "2_Clusters": "Clusters",
        "6_Deduplicate": "Deduplicate (SemDeDup)",
        "4_Validate": "Validate a pruning choice",
    }
    for page, title in pages.items():
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, page
        assert at.title[0].value == title
        assert not at.error, page
        assert at.session_state["metric"] == metric, page
    # Validate takes imported scores too: it waits for Run like with any metric.
    assert any("press **Run**" in info.value for info in at.info)


def test_score_file_columns_and_errors(tmp_path) -> None:
    assert read_columns("s.csv", b"id,loss,margin\na,1,2\n") == ["loss", "margin"]
    with pytest.raises(ValueError, match="should be one of"):
        read_columns("s.txt", b"1\n")


def test_verify_passes_the_app_export_and_names_a_tampered_byte() -> None:
    dataset = _dataset()
    scores = compute_scores(dataset.embeddings, "ssp", k=4, labels=dataset.labels, seed=0)
    selection = select_kept(scores.values, 0.5, strategy="keep_hard", seed=0)
    csv = kept_csv_bytes(dataset, scores, selection)
    manifest = build_manifest(dataset, scores, selection, csv_bytes=csv, csv_name="kept.csv")
    report = verify_uploaded("kept.csv", csv, manifest_bytes(manifest))
    assert report.ok, report.problems
    tampered = csv.replace(b"\n1,", b"\n2,", 1) if b"\n1," in csv else csv[:-2] + b"9\n"
    bad = verify_uploaded("kept.csv", tampered, manifest_bytes(manifest))
    assert not bad.ok
