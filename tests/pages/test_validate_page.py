"""AppTest of pages/4_Validate.py: Run button, numbers equal core's, overlay, cancel, pins,
compare metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from core.analysis.curve import curve_summary, pruning_curve
from tests.pages.conftest import DATASET_KEY
from ui.cache import _synthetic_dataset

PAGE = str(Path(__file__).parents[2] / "pages" / "4_Validate.py")


def _ready() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception
    at.multiselect(key="curve_fractions").set_value([0.5, 1.0])
    at.number_input(key="curve_seeds").set_value(1)
    return at


def _unpruned(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == "Unpruned test accuracy")


def test_nothing_runs_before_the_run_button() -> None:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception
    assert not at.error
    assert any("press **Run**" in info.value for info in at.info)
    assert not at.dataframe
    assert any("train split only" in c.value for c in at.caption)


def test_run_shows_core_numbers() -> None:
    at = _ready()
    at.button(key="curve_run").click().run()
    assert not at.exception
    assert not at.error
    dataset = _synthetic_dataset(*(int(p) for p in DATASET_KEY.split(":")[1:]))
    expected = pruning_curve(
        dataset.embeddings, dataset.labels, fractions=(0.5, 1.0), seeds=(0,), k=4, min_ratio=0.5
    )
    unpruned = expected.unpruned_accuracy
    assert _unpruned(at) == f"{unpruned.mean():.4f} ± {unpruned.std():.4f}"
    table = at.dataframe[0].value
    assert len(table) == 3 * 2  # strategies x fractions
    assert (table["balance"] == "class").all()
    full = table[table["keep_fraction"] == 1.0]["accuracy_mean"]
    assert (full == expected.unpruned_accuracy.mean()).all()
    # A rerun (here: moving nothing) keeps showing the result without pressing Run again.
    at.run()
    assert not at.exception
    assert len(at.dataframe) == 2  # the curve table and the verdicts


def test_unbalanced_overlay_and_cancel() -> None:
    at = _ready()
    at.checkbox(key="curve_unbalanced").check()
    at.button(key="curve_run").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["balance"]) == {"class", "none"}
    assert len(table) == 2 * 3 * 2
    at.button(key="curve_cancel").click().run()
    assert not at.exception
    assert any("Cancelled" in info.value for info in at.info)
    assert not at.dataframe


def test_map_pins_are_applied_and_counted() -> None:
    at = _ready()
    dataset = _synthetic_dataset(*(int(p) for p in DATASET_KEY.split(":")[1:]))
    probe = pruning_curve(
        dataset.embeddings, dataset.labels, fractions=(1.0,), seeds=(0,), strategies=("random",)
    )
    train, test = probe.splits[0].train_indices, probe.splits[0].test_indices
    keep = (int(train[0]), int(test[0]))
    drop = (int(train[1]), int(train[2]))
    at.session_state["pins_keep"] = keep
    at.session_state["pins_drop"] = drop
    at.run()
    assert any("2 always-keep, 2 always-drop" in c.value for c in at.caption)
    at.button(key="curve_run").click().run()
    assert not at.exception
    assert not at.error
    assert any("Pins applied in the train split (of 4): seed 0: 3" in c.value for c in at.caption)
    expected = pruning_curve(
        dataset.embeddings,
        dataset.labels,
        fractions=(0.5, 1.0),
        seeds=(0,),
        k=4,
        always_keep=keep,
        always_drop=drop,
        return_kept=True,
    )
    for kept in expected.kept_indices:  # the kept sets honour the pins in the train split
        assert keep[0] in kept
        assert not {keep[1], *drop} & set(kept.tolist())
    table = at.dataframe[0].value
    full = table[table["keep_fraction"] == 1.0]
    assert (full["n_kept_mean"] == train.size - 2).all()  # f = 1.0: all but the dropped pins
    np.testing.assert_allclose(
        table["accuracy_mean"].to_numpy(), curve_summary(expected)["accuracy_mean"].to_numpy()
    )


def test_compare_metrics_add_rows_and_follow_the_sidebar() -> None:
    at = _ready()
    at.multiselect(key="curve_compare").set_value(["class_prototype", "random"])
    at.button(key="curve_run").click().run()
    assert not at.exception
    assert not at.error
    table = at.dataframe[0].value
    assert list(dict.fromkeys(table["metric"])) == ["ssp", "class_prototype", "random"]
    assert len(table) == (3 + 2 + 2) * 2  # strategies of the three metrics x fractions
    assert set(table.loc[table["strategy"] == "random", "metric"]) == {"ssp"}
    names = {trace.get("name") for trace in _figure(at)["data"]}
    assert "keep hard · class_prototype (class-balanced)" in names
    assert "random (class-balanced)" in names
    # Choosing a compared metric in the sidebar drops it from the comparison (no exception).
    at.selectbox(key="metric").set_value("class_prototype").run()
    assert not at.exception
    assert at.multiselect(key="curve_compare").value == ["random"]


def _figure(at: AppTest) -> dict:
    import json

    chart = at.get("plotly_chart")[0]
    return json.loads(chart.proto.spec)


def test_chosen_strategies_are_the_curves_drawn() -> None:
    at = _ready()
    at.multiselect(key="curve_strategies").set_value(["ccs", "moderate", "random"])
    at.button(key="curve_run").click().run()
    assert not at.exception
    assert not at.error
    table = at.dataframe[0].value
    assert set(table["strategy"]) == {"ccs", "moderate", "random"}
    assert len(table) == 3 * 2  # strategies x fractions
    full = table[table["keep_fraction"] == 1.0]["accuracy_mean"]
    assert full.nunique() == 1  # f = 1 keeps the whole train split for every strategy


def _five_seeds() -> AppTest:
    at = _ready()
    at.number_input(key="curve_seeds").set_value(5)
    at.multiselect(key="curve_strategies").set_value(["keep_hard", "random"])
    return at


def test_table_shows_spread_and_verdicts_follow_core() -> None:
    from core.analysis.verdicts import advise, fraction_verdicts

    at = _five_seeds()
    at.button(key="curve_run").click().run()
    assert not at.exception
    assert not at.error
    table = at.dataframe[0].value
    row = table.iloc[0]
    assert row["accuracy (mean ± std)"] == f"{row['accuracy_mean']:.4f} ± {row['accuracy_std']:.4f}"
    assert (table["n_seeds"] == 5).all()
    dataset = _synthetic_dataset(*(int(p) for p in DATASET_KEY.split(":")[1:]))
    expected = pruning_curve(
        dataset.embeddings,
        dataset.labels,
        fractions=(0.5, 1.0),
        seeds=range(5),
        k=4,
        strategies=("keep_hard", "random"),
    )
    want = fraction_verdicts(expected).iloc[0]
    shown = at.dataframe[1].value.iloc[0]
    assert (shown["best"], shown["runner_up"], shown["verdict"]) == (
        want["best"],
        want["runner_up"],
        want["verdict"],
    )
    margin = f"{100 * want['margin']:+.2f} ± {100 * want['stderr']:.2f}"
    assert shown["margin ± stderr (points)"] == margin
    sentence = advise(
        expected, n_dims=dataset.embeddings.shape[1], n_classes=len(dataset.class_names)
    ).sentence
    assert any(sentence in md.value for md in at.markdown)
    assert any("Linear probe (logistic regression)" in c.value for c in at.caption)


def test_knn_probe_and_the_other_probe_check() -> None:
    at = _five_seeds()
    at.selectbox(key="curve_probe").set_value("knn")
    at.button(key="curve_run").click().run()
    assert not at.exception
    assert any("k-NN check" in c.value for c in at.caption)
    dataset = _synthetic_dataset(*(int(p) for p in DATASET_KEY.split(":")[1:]))
    kwargs = dict(fractions=(0.5, 1.0), seeds=range(5), k=4, strategies=("keep_hard", "random"))
    knn = pruning_curve(dataset.embeddings, dataset.labels, probe="knn", **kwargs)
    np.testing.assert_allclose(
        at.dataframe[0].value["accuracy_mean"].to_numpy(),
        curve_summary(knn)["accuracy_mean"].to_numpy(),
    )
    at.button(key="curve_check").click().run()
    assert not at.exception
    assert not at.error
    check = at.dataframe[2].value
    assert list(check.columns) == [
        "keep_fraction",
        "best (knn)",
        "verdict (knn)",
        "best (logistic)",
        "verdict (logistic)",
    ]
    assert any("best curve is the same at" in md.value for md in at.markdown)


def test_imported_scores_run_as_the_metric_and_as_a_compare_metric(tmp_path: Path) -> None:
    import pandas as pd

    from core.io.imported_scores import import_scores, read_score_table

    dataset = _synthetic_dataset(*(int(p) for p in DATASET_KEY.split(":")[1:]))
    values = np.random.default_rng(3).normal(size=dataset.n)
    path = tmp_path / "scores.csv"
    pd.DataFrame({"id": dataset.ids, "loss": values}).to_csv(path, index=False)
    scores = import_scores(read_score_table(path, "loss"), ids=dataset.ids, n=dataset.n)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["imported_scores"] = {DATASET_KEY: {scores.metric: scores}}
    at.session_state["metric"] = scores.metric
    at.run()
    assert not at.exception
    at.multiselect(key="curve_fractions").set_value([0.5, 1.0])
    at.number_input(key="curve_seeds").set_value(1)
    at.button(key="curve_run").click().run()
    assert not at.exception
    assert not at.error
    assert at.get("plotly_chart")
    table = at.dataframe[0].value
    assert set(table["metric"]) == {"imported:loss"}
    expected = pruning_curve(
        dataset.embeddings,
        dataset.labels,
        metric="imported:loss",
        imported={"imported:loss": values},
        fractions=(0.5, 1.0),
        seeds=(0,),
    )
    means = curve_summary(expected)["accuracy_mean"].to_numpy()
    np.testing.assert_array_equal(table["accuracy_mean"].to_numpy(), means)
    # Back on a registered metric, the imported score can be a compared metric.
    at.sidebar.selectbox(key="metric").set_value("ssp").run()
    at.multiselect(key="curve_compare").set_value(["imported:loss"]).run()
    at.button(key="curve_run").click().run()
    assert not at.exception
    assert not at.error
    assert list(dict.fromkeys(at.dataframe[0].value["metric"])) == ["ssp", "imported:loss"]
    at.button(key="curve_check").click().run()  # the other probe gets the imported scores too
    assert not at.exception
    assert not at.error
