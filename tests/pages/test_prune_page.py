"""AppTest of pages/3_Prune_and_export.py: counts, bad k, and the exported bytes."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from core.export import build_manifest, kept_csv_bytes, manifest_bytes
from core.prune.select import kept_count, select_kept
from core.scores.metrics import compute_scores
from tests.pages.conftest import DATASET_KEY, page_path
from ui.cache import _synthetic_dataset

N = 600


def _run() -> AppTest:
    at = AppTest.from_file(page_path("3_Prune_and_export.py"), default_timeout=120)
    at.run()
    assert not at.exception
    return at


def _record_downloads(monkeypatch) -> dict[str, bytes]:
    """Record the bytes of every download button the page draws, by file name."""
    downloads: dict[str, bytes] = {}
    original = DeltaGenerator.download_button

    def spy(self, label, data, file_name=None, *args, **kwargs):
        downloads[file_name] = data() if callable(data) else data  # deferred: built on click
        return original(self, label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    return downloads


def _kept_metric(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == "Kept")


def test_page_runs_and_shows_default_kept_count() -> None:
    at = _run()
    assert not at.error
    assert _kept_metric(at) == f"{kept_count(N, 0.8):,}"


def test_moving_the_slider_changes_the_kept_count_exactly() -> None:
    at = _run()
    for fraction in (0.37, 0.05, 1.0):
        at.slider(key="keep_fraction").set_value(fraction).run()
        assert not at.exception
        assert _kept_metric(at) == f"{kept_count(N, fraction):,}"


def _chart_tables(at: AppTest) -> list[tuple[dict, pd.DataFrame]]:
    """(spec, data) of each Vega-Lite chart on the page, in page order."""
    charts = at.get("vega_lite_chart")
    return [
        (json.loads(c.proto.spec), pa.ipc.open_stream(c.proto.data.data).read_all().to_pandas())
        for c in charts
    ]


def test_the_charts_follow_the_slider_with_the_same_spec() -> None:
    at = _run()
    specs = [spec for spec, _ in _chart_tables(at)]
    for fraction in (0.37, 0.05):
        at.slider(key="keep_fraction").set_value(fraction).run()
        (hist_spec, hist), (counts_spec, counts) = _chart_tables(at)
        assert [hist_spec, counts_spec] == specs  # only the tables change on a move
        n_kept = kept_count(N, fraction)
        assert hist[hist.part == "kept"].examples.sum() == n_kept
        assert hist[hist.part == "pruned"].examples.sum() == N - n_kept
        assert counts[counts.stage == "before"].examples.sum() == N
        assert counts[counts.stage == "kept"].examples.sum() == n_kept
        # One cut line, inside the scores' range (the bins span exactly that range).
        assert hist.cut.nunique() == 1
        assert hist.start.min() <= hist.cut.iloc[0] <= hist.end.max()


def test_k_larger_than_n_shows_an_error_not_a_traceback() -> None:
    at = _run()
    at.sidebar.number_input(key="k").set_value(N + 1).run()
    assert not at.exception
    assert at.error
    assert str(N + 1) in at.error[0].value


def test_balanced_random_strategy_runs() -> None:
    at = _run()
    at.radio(key="strategy").set_value("random").run()
    at.selectbox(key="balance_by").set_value("label").run()
    assert not at.exception
    assert _kept_metric(at) == f"{kept_count(N, 0.8):,}"


def test_download_bytes_equal_core_for_the_same_parameters(monkeypatch) -> None:
    downloads = _record_downloads(monkeypatch)
    at = _run()
    at.slider(key="keep_fraction").set_value(0.3).run()
    assert not at.exception
    dataset = _synthetic_dataset(*(int(p) for p in DATASET_KEY.split(":")[1:]))
    scores = compute_scores(dataset.embeddings, "ssp", k=4, labels=dataset.labels, seed=0)
    # The app balances classes by default: the same explicit parameters give the same bytes.
    assert at.session_state["balance_by"] == "label"
    selection = select_kept(
        scores.values,
        0.3,
        strategy="keep_hard",
        seed=0,
        groups=dataset.labels,
        balance_by="label",
        min_ratio=0.5,
    )
    expected = kept_csv_bytes(dataset, scores, selection)
    assert downloads["kept.csv"] == expected
    assert len(expected.decode().splitlines()) == 1 + kept_count(N, 0.3)
    manifest = json.loads(downloads["kept.manifest.json"])
    built = build_manifest(dataset, scores, selection, csv_bytes=expected, csv_name="kept.csv")
    assert manifest["content_sha256"] == json.loads(manifest_bytes(built))["content_sha256"]


def test_pins_are_honoured_and_listed_in_the_manifest(monkeypatch) -> None:
    downloads = _record_downloads(monkeypatch)
    at = AppTest.from_file(page_path("3_Prune_and_export.py"), default_timeout=120)
    at.session_state["pins_keep"] = (0, 1)
    at.session_state["pins_drop"] = (2,)
    at.session_state["k_dataset"] = DATASET_KEY
    at.session_state["k"] = 4
    at.run()
    assert not at.exception
    assert _kept_metric(at) == f"{kept_count(N, 0.8):,}"
    manifest = json.loads(downloads["kept.manifest.json"])
    assert manifest["always_keep"] == ["x000000", "x000001"]
    assert manifest["always_drop"] == ["x000002"]
    rows = [int(line.split(",")[0]) for line in downloads["kept.csv"].decode().splitlines()[1:]]
    assert 0 in rows
    assert 1 in rows
    assert 2 not in rows


def test_ccs_and_moderate_strategies_show_their_notes(monkeypatch) -> None:
    downloads = _record_downloads(monkeypatch)
    at = _run()
    at.selectbox(key="balance_by").set_value("none").run()  # compared with an unbalanced core call
    at.slider(key="keep_fraction").set_value(0.3).run()
    at.radio(key="strategy").set_value("ccs").run()
    assert not at.exception
    assert _kept_metric(at) == f"{kept_count(N, 0.3):,}"
    assert any("CCS has no single score cut" in c.value for c in at.caption)
    dataset = _synthetic_dataset(*(int(p) for p in DATASET_KEY.split(":")[1:]))
    scores = compute_scores(dataset.embeddings, "ssp", k=4, labels=dataset.labels, seed=0)
    selection = select_kept(scores.values, 0.3, strategy="ccs", seed=0)
    assert downloads["kept.csv"] == kept_csv_bytes(dataset, scores, selection)
    # Default beta from the keep fraction: 70% pruning -> 0.1 (Zheng et al.), global CCS.
    assert json.loads(downloads["kept.manifest.json"])["strategy_params"]["ccs_beta"] == 0.1
    assert any(c.value == "CCS: β = 0.10, global (one cut, all examples)." for c in at.caption)
    at.slider(key="keep_fraction").set_value(0.1).run()
    assert any(c.value.startswith("CCS: β = 0.30, global") for c in at.caption)
    at.slider(key="keep_fraction").set_value(0.3).run()
    at.radio(key="strategy").set_value("middle_band").run()
    at.selectbox(key="balance_by").set_value("label").run()
    assert not at.exception
    assert _kept_metric(at) == f"{kept_count(N, 0.3):,}"
    assert any(c.value.startswith("Kept band: scores") for c in at.caption)
    at.radio(key="strategy").set_value("moderate").run()
    assert not at.exception
    assert any("Moderate-DS has no score cut" in c.value for c in at.caption)
    at.selectbox(key="balance_by").set_value("none").run()
    expected = select_kept(
        scores.values,
        0.3,
        strategy="moderate",
        embeddings=dataset.embeddings,
        labels=dataset.labels,
    )
    assert downloads["kept.csv"] == kept_csv_bytes(dataset, scores, expected)


def test_ccs_beta_slider_reaches_the_selection_and_manifest(monkeypatch) -> None:
    downloads = _record_downloads(monkeypatch)
    at = _run()
    assert not any(s.key == "ccs_beta" for s in at.slider)  # only shown for CCS
    at.selectbox(key="balance_by").set_value("none").run()  # compared with an unbalanced core call
    at.slider(key="keep_fraction").set_value(0.3).run()
    at.radio(key="strategy").set_value("ccs").run()
    at.checkbox(key="ccs_beta_auto").uncheck().run()
    at.slider(key="ccs_beta").set_value(0.25).run()
    assert not at.exception
    dataset = _synthetic_dataset(*(int(p) for p in DATASET_KEY.split(":")[1:]))
    scores = compute_scores(dataset.embeddings, "ssp", k=4, labels=dataset.labels, seed=0)
    selection = select_kept(scores.values, 0.3, strategy="ccs", seed=0, ccs_beta=0.25)
    assert downloads["kept.csv"] == kept_csv_bytes(dataset, scores, selection)
    assert json.loads(downloads["kept.manifest.json"])["strategy_params"]["ccs_beta"] == 0.25


def test_downloads_are_built_on_click_not_on_every_slider_move(monkeypatch) -> None:
    kinds: dict[str, bool] = {}
    original = DeltaGenerator.download_button

    def spy(self, label, data, file_name=None, *args, **kwargs):
        kinds[file_name] = callable(data)
        return original(self, label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    at = _run()
    at.slider(key="keep_fraction").set_value(0.4).run()
    assert not at.exception
    assert kinds == {"kept.csv": True, "kept.manifest.json": True}


def test_class_balance_is_the_stated_default_and_none_without_labels() -> None:
    at = _run()
    assert at.selectbox(key="balance_by").value == "label"
    assert any("Default: balance classes" in c.value for c in at.caption)
    import numpy as np

    from core.io.data import make_dataset

    unlabelled = make_dataset(np.random.default_rng(0).normal(size=(200, 8)).astype(np.float32))
    at = AppTest.from_file(page_path("3_Prune_and_export.py"), default_timeout=120)
    at.session_state["uploaded"] = {"upload:nolabels": unlabelled}
    at.session_state["dataset_key"] = "upload:nolabels"
    at.run()
    assert not at.exception
    assert not at.error
    assert at.selectbox(key="balance_by").value == "none"
