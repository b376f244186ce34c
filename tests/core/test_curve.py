"""Tests for core.analysis.curve: shape, no test leakage, exact f=1 equality, determinism, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.analysis.curve import (
    CURVE_COLUMNS,
    CurveCancelled,
    _fit_power_law,
    curve_summary,
    power_law_accuracy,
    pruning_curve,
)
from core.prune.select import kept_count

FRACTIONS = (0.2, 0.5, 1.0)
SEEDS = (0, 1)


def _blobs(n_per_class: int = 100, d: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = 2.0 * rng.standard_normal((3, d))
    labels = np.repeat(np.array(["cat", "dog", "owl"]), n_per_class)
    codes = np.repeat(np.arange(3), n_per_class)
    return (centers[codes] + rng.standard_normal((codes.size, d))).astype(np.float32), labels


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return _blobs()


@pytest.fixture(scope="module")
def curve(data):
    x, labels = data
    return pruning_curve(
        x,
        labels,
        fractions=FRACTIONS,
        seeds=SEEDS,
        k=3,
        compare_unbalanced=True,
        return_kept=True,
    )


def test_table_shape_and_columns(curve) -> None:
    table = curve.table
    assert tuple(table.columns) == CURVE_COLUMNS
    assert len(table) == 2 * 3 * len(FRACTIONS) * len(SEEDS)  # balances x strategies x f x seeds
    assert set(table["balance"]) == {"class", "none"}
    assert set(table["strategy"]) == {"keep_hard", "keep_easy", "random"}
    assert (table["metric"] == "ssp").all()
    counts = table.groupby(["balance", "strategy", "keep_fraction"]).size()
    assert (counts == len(SEEDS)).all()
    n_train = curve.splits[0].train_indices.size
    assert n_train == 240
    for f in FRACTIONS:
        assert (table.loc[table["keep_fraction"] == f, "n_kept"] == kept_count(n_train, f)).all()
    assert ((table["accuracy"] >= 0) & (table["accuracy"] <= 1)).all()
    assert curve.unpruned_accuracy.shape == (len(SEEDS),)
    assert curve.unpruned_accuracy.min() > 0.9  # well separated blobs


def test_split_is_stratified_and_disjoint(curve, data) -> None:
    _, labels = data
    for split in curve.splits:
        assert np.intersect1d(split.train_indices, split.test_indices).size == 0
        assert split.train_indices.size + split.test_indices.size == labels.size
        _, test_counts = np.unique(labels[split.test_indices], return_counts=True)
        assert test_counts.tolist() == [20, 20, 20]
    assert not np.array_equal(curve.splits[0].test_indices, curve.splits[1].test_indices)


def test_no_test_example_is_ever_kept(curve) -> None:
    test_of = {split.seed: split.test_indices for split in curve.splits}
    assert curve.kept_indices is not None
    assert len(curve.kept_indices) == len(curve.table)
    for seed, kept in zip(curve.table["seed"], curve.kept_indices):
        assert np.intersect1d(kept, test_of[seed]).size == 0


def test_scores_ignore_the_test_split(data) -> None:
    # Moving the test examples anywhere must not change which train examples are kept.
    x, labels = data
    kwargs = {"fractions": (0.3,), "seeds": (0,), "k": 3, "return_kept": True}
    base = pruning_curve(x, labels, **kwargs)
    moved = x.copy()
    moved[base.splits[0].test_indices] += 50.0
    other = pruning_curve(moved, labels, **kwargs)
    for a, b in zip(base.kept_indices, other.kept_indices):
        np.testing.assert_array_equal(a, b)


def test_full_fraction_equals_unpruned_exactly(curve) -> None:
    full = curve.table[curve.table["keep_fraction"] == 1.0]
    assert len(full) == 2 * 3 * len(SEEDS)
    for seed, unpruned in zip(curve.seeds, curve.unpruned_accuracy):
        assert (full.loc[full["seed"] == seed, "accuracy"] == unpruned).all()


def test_seeds_reproduce_exactly(curve, data) -> None:
    x, labels = data
    again = pruning_curve(
        x, labels, fractions=FRACTIONS, seeds=SEEDS, k=3, compare_unbalanced=True, return_kept=True
    )
    pd.testing.assert_frame_equal(curve.table, again.table)
    np.testing.assert_array_equal(curve.unpruned_accuracy, again.unpruned_accuracy)
    for a, b in zip(curve.kept_indices, again.kept_indices):
        np.testing.assert_array_equal(a, b)


def test_class_balance_keeps_every_class(data) -> None:
    x, labels = data
    result = pruning_curve(
        x, labels, fractions=(0.1,), seeds=(0,), k=3, min_ratio=1.0, return_kept=True
    )
    for kept in result.kept_indices:
        _, counts = np.unique(labels[kept], return_counts=True)
        assert counts.tolist() == [8, 8, 8]  # ceil(1.0 * 24 / 3)


def test_cluster_balance_and_pins(data) -> None:
    x, labels = data
    probe = pruning_curve(x, labels, fractions=(1.0,), seeds=(0,), strategies=("random",))
    train, test = probe.splits[0].train_indices, probe.splits[0].test_indices
    pins = (int(train[0]), int(train[5]), int(test[0]))
    result = pruning_curve(
        x,
        labels,
        fractions=(0.1, 0.4),
        seeds=(0,),
        k=3,
        balance="cluster",
        always_keep=pins,
        return_kept=True,
    )
    assert set(result.table["balance"]) == {"cluster"}
    np.testing.assert_array_equal(result.splits[0].ignored_pins, [test[0]])
    for kept in result.kept_indices:
        assert {pins[0], pins[1]} <= set(kept.tolist())
        assert pins[2] not in kept


def test_power_law_fit_recovers_exponent() -> None:
    f = np.array([0.1, 0.2, 0.5, 1.0])
    table = pd.DataFrame(
        {
            "metric": "ssp",
            "strategy": "random",
            "balance": "none",
            "keep_fraction": f,
            "seed": 0,
            "n_kept": 1,
            "accuracy": 1 - 0.05 * f**-0.5,
        }
    )
    fit = _fit_power_law(table, "none")
    assert fit is not None
    assert fit.a == pytest.approx(0.05)
    assert fit.b == pytest.approx(0.5)
    assert fit.r2 == pytest.approx(1.0)
    np.testing.assert_allclose(power_law_accuracy(fit, f), table["accuracy"])


def test_summary(curve) -> None:
    summary = curve_summary(curve)
    assert len(summary) == 2 * 3 * len(FRACTIONS)
    assert (summary["n_seeds"] == len(SEEDS)).all()
    assert (summary["accuracy_std"] >= 0).all()
    assert curve.power_law is not None
    assert curve.power_law.balance == "class"


def test_progress_and_cancel(data) -> None:
    x, labels = data
    seen: list[float] = []
    pruning_curve(
        x, labels, fractions=(0.5, 1.0), seeds=(0,), k=3, progress=lambda f, m: seen.append(f)
    )
    assert seen == sorted(seen)
    assert seen[-1] == 1.0
    calls = iter(range(1000))
    with pytest.raises(CurveCancelled):
        pruning_curve(
            x, labels, fractions=FRACTIONS, seeds=(0,), k=3, should_stop=lambda: next(calls) >= 2
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": None}, "labels are required"),
        ({"labels": np.zeros(300)}, "at least 2 classes"),
        ({"fractions": (0.0, 0.5)}, "keep_fraction=0.0"),
        ({"fractions": (0.001,)}, "keeps no example"),
        ({"strategies": ("keep_middle",)}, "strategies"),
        ({"balance": "kind"}, "balance='kind'"),
        ({"metric": "magic"}, "metric='magic'"),
        ({"test_size": 1.5}, "test_size=1.5"),
        ({"always_drop": (-1,)}, "always_drop"),
        ({"always_keep": (300,)}, "always_keep"),
        ({"min_ratio": 2.0}, "min_ratio=2.0"),
        ({"k": 1000}, "k=1000"),
        (
            {"metric": "random", "balance": "cluster"},
            "balance_by='cluster' needs a metric with clusters",
        ),
    ],
)
def test_rejects_bad_input(data, kwargs: dict, match: str) -> None:
    x, labels = data
    args = {"labels": labels, "fractions": (0.5, 1.0), "seeds": (0,)} | kwargs
    labels = args.pop("labels")
    with pytest.raises(ValueError, match=match):
        pruning_curve(x, labels, **args)


def test_rejects_nan_embeddings(data) -> None:
    x, labels = data
    x = x.copy()
    x[7, 0] = np.nan
    with pytest.raises(ValueError, match=r"1 row\(s\) with NaN"):
        pruning_curve(x, labels)


def test_compare_metrics_share_splits_and_random(data) -> None:
    x, labels = data
    kwargs = {"fractions": FRACTIONS, "seeds": SEEDS, "k": 3, "compare_unbalanced": True}
    base = pruning_curve(x, labels, **kwargs)
    both = pruning_curve(x, labels, compare_metrics=("class_prototype", "knn_density"), **kwargs)
    table = both.table
    assert tuple(table.columns) == CURVE_COLUMNS
    # primary: 3 strategies; each compare metric: keep_hard + keep_easy; x balances x f x seeds
    assert len(table) == 2 * (3 + 2 + 2) * len(FRACTIONS) * len(SEEDS)
    assert list(dict.fromkeys(table["metric"])) == ["ssp", "class_prototype", "knn_density"]
    random_rows = table[table["strategy"] == "random"]
    assert set(random_rows["metric"]) == {"ssp"}  # random is metric-independent: listed once
    assert len(random_rows) == 2 * len(FRACTIONS) * len(SEEDS)
    for name in ("class_prototype", "knn_density"):
        assert set(table.loc[table["metric"] == name, "strategy"]) == {"keep_hard", "keep_easy"}
    # Adding compare metrics leaves the primary metric's rows (and splits) exactly unchanged.
    primary = table[table["metric"] == "ssp"].reset_index(drop=True)
    pd.testing.assert_frame_equal(primary, base.table)
    np.testing.assert_array_equal(both.unpruned_accuracy, base.unpruned_accuracy)
    for a, b in zip(both.splits, base.splits):
        np.testing.assert_array_equal(a.test_indices, b.test_indices)
    summary = curve_summary(both)
    assert len(summary) == 2 * (3 + 2 + 2) * len(FRACTIONS)
    assert both.params.compare_metrics == ("class_prototype", "knn_density")
    # At f = 1 every metric keeps the whole train split: the same probe, the same accuracy.
    full = table[table["keep_fraction"] == 1.0]
    assert full.groupby("seed")["accuracy"].nunique().eq(1).all()


def test_compare_metric_ranking_differs(data) -> None:
    x, labels = data
    result = pruning_curve(
        x,
        labels,
        compare_metrics=("random",),
        fractions=(0.2,),
        seeds=(0,),
        strategies=("keep_hard",),
        balance=None,
        k=3,
        return_kept=True,
    )
    assert result.table["metric"].tolist() == ["ssp", "random"]
    ssp_kept, random_kept = result.kept_indices
    assert ssp_kept.size == random_kept.size
    assert not np.array_equal(ssp_kept, random_kept)


@pytest.mark.parametrize(
    ("compare", "match"),
    [
        (("magic",), "valid: ssp, prototype_margin"),
        (("ssp",), "differ from metric='ssp'"),
        (("random", "random"), "distinct"),
    ],
)
def test_rejects_bad_compare_metrics(data, compare, match: str) -> None:
    x, labels = data
    with pytest.raises(ValueError, match=match):
        pruning_curve(x, labels, compare_metrics=compare, fractions=(0.5,), seeds=(0,))


def test_compare_metrics_need_a_ranked_strategy(data) -> None:
    x, labels = data
    with pytest.raises(ValueError, match="need one of keep_hard, keep_easy, ccs, moderate"):
        pruning_curve(x, labels, compare_metrics=("random",), strategies=("random",), seeds=(0,))


def test_drop_pins_with_full_fraction_keep_the_rest(data) -> None:
    # With drop pins, f = 1.0 keeps every train row but the dropped ones (no ValueError).
    x, labels = data
    probe = pruning_curve(x, labels, fractions=(1.0,), seeds=(0,), strategies=("random",))
    train, test = probe.splits[0].train_indices, probe.splits[0].test_indices
    keep = (int(train[1]),)
    drop = (int(train[0]), int(train[7]), int(test[3]))
    result = pruning_curve(
        x,
        labels,
        fractions=(0.5, 1.0),
        seeds=(0,),
        k=3,
        always_keep=keep,
        always_drop=drop,
        return_kept=True,
    )
    np.testing.assert_array_equal(result.splits[0].ignored_pins, [test[3]])
    table = result.table
    full = table["keep_fraction"] == 1.0
    assert (table.loc[full, "n_kept"] == train.size - 2).all()
    assert (table.loc[~full, "n_kept"] == kept_count(train.size, 0.5)).all()
    for kept in result.kept_indices:
        assert keep[0] in kept
        assert not set(drop) & set(kept.tolist())
    for kept in (ix for ix, f in zip(result.kept_indices, full) if f):
        np.testing.assert_array_equal(kept, np.setdiff1d(train, drop))


def test_too_many_keep_pins_for_the_smallest_fraction(data) -> None:
    x, labels = data
    with pytest.raises(ValueError, match=r"keep_fraction=0\.1 keeps only"):
        pruning_curve(
            x, labels, fractions=(0.1, 1.0), seeds=(0,), always_keep=tuple(range(0, 300, 5))
        )


@pytest.mark.parametrize("strategy", ["ccs", "moderate"])
def test_ccs_and_moderate_curves(data, strategy: str) -> None:
    """Any STRATEGIES entry runs; kept counts are exact, class balance holds, f = 1 is unpruned."""
    x, labels = data
    result = pruning_curve(
        x,
        labels,
        fractions=(0.1, 0.5, 1.0),
        seeds=(0,),
        k=3,
        strategies=(strategy,),
        min_ratio=1.0,
        compare_metrics=("random",),
        return_kept=True,
    )
    table = result.table
    assert set(table["strategy"]) == {strategy}
    assert set(table["metric"]) == {"ssp", "random"}  # score-using: repeated per compare metric
    n_train = result.splits[0].train_indices.size
    ssp = table[table["metric"] == "ssp"]
    assert ssp["n_kept"].tolist() == [kept_count(n_train, f) for f in (0.1, 0.5, 1.0)]
    full = ssp[ssp["keep_fraction"] == 1.0]["accuracy"].to_numpy()
    np.testing.assert_array_equal(full, result.unpruned_accuracy)
    _, counts = np.unique(labels[result.kept_indices[0]], return_counts=True)
    assert counts.tolist() == [8, 8, 8]  # ceil(1.0 * 24 / 3) per class


def test_best_per_fraction_picks_the_most_accurate_row_of_the_first_balance() -> None:
    import pandas as pd

    from core.analysis.curve import best_per_fraction

    summary = pd.DataFrame(
        {
            "metric": ["ssp"] * 6,
            "balance": ["class", "class", "class", "class", "none", "class"],
            "strategy": ["keep_hard", "random", "keep_hard", "random", "keep_easy", "keep_easy"],
            "keep_fraction": [0.5, 0.5, 0.9, 0.9, 0.5, 1.0],
            "accuracy_mean": [0.80, 0.85, 0.93, 0.91, 0.99, 0.95],
        }
    )
    best = best_per_fraction(summary)
    # The unbalanced 0.99 is an overlay, not a candidate; f = 1 is never "best".
    assert best["keep_fraction"].tolist() == [0.5, 0.9]
    assert best["strategy"].tolist() == ["random", "keep_hard"]
    assert best["accuracy_mean"].tolist() == [0.85, 0.93]
    assert best_per_fraction(summary.iloc[:0]).empty


def test_fraction_above_the_rows_left_keeps_every_row_left() -> None:
    # 45 train rows: kept_count(45, 0.7) = 32 (0.7 * 45 = 31.5 rounds half up), but 14 drop pins
    # leave 31 rows. The docstring promises all of them are kept; floor(0.7 * 45 + 0.5) in float
    # arithmetic is 31, so re-deriving the count used to pass 0.7 on and fail with "fewer than
    # the K=32 to keep".
    x, labels = _blobs(n_per_class=20)
    args = {"fractions": (0.7,), "seeds": (0,), "test_size": 0.25}
    split = pruning_curve(x, labels, strategies=("random",), **args).splits[0]
    assert split.train_indices.size == 45
    assert kept_count(45, 0.7) == 32
    drop = split.train_indices[:14]
    result = pruning_curve(
        x,
        labels,
        strategies=("keep_hard", "keep_easy", "random"),
        always_drop=drop,
        return_kept=True,
        **args,
    )
    assert (result.table["n_kept"] == 31).all()
    left = np.setdiff1d(split.train_indices, drop)
    assert result.kept_indices is not None
    for kept in result.kept_indices:
        np.testing.assert_array_equal(kept, left)


def test_params_are_typed_and_frozen(curve) -> None:
    import dataclasses

    from core.analysis.curve import CurveParams

    params = curve.params
    assert isinstance(params, CurveParams)
    assert params.seeds == SEEDS
    assert params.fractions == FRACTIONS
    assert params.balances == ("class", "none")
    assert params.probe == "logistic"
    assert params.always_keep == ()
    assert params.always_drop == ()
    assert params.as_dict()["probe_recipe"].startswith("multinomial logistic")
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.metric = "random"  # type: ignore[misc]


def test_knn_probe_is_deterministic_and_recorded(data) -> None:
    from sklearn.neighbors import KNeighborsClassifier

    x, labels = data
    kwargs = dict(fractions=(0.5, 1.0), seeds=(0,), k=3, probe="knn", return_kept=True)
    first = pruning_curve(x, labels, **kwargs)
    again = pruning_curve(x, labels, **kwargs)
    pd.testing.assert_frame_equal(first.table, again.table)
    assert first.params.probe == "knn"
    assert "k-NN" in first.params.probe_recipe
    # f = 1: the k-NN classifier on the whole (standardised) train split, computed here directly.
    split = first.splits[0]
    codes = np.unique(labels, return_inverse=True)[1]
    x_train, x_test = x[split.train_indices].astype(np.float64), x[split.test_indices]
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    model = KNeighborsClassifier(n_neighbors=10, metric="cosine", algorithm="brute")
    model.fit((x_train - mean) / std, codes[split.train_indices])
    expected = np.mean(model.predict((x_test - mean) / std) == codes[split.test_indices])
    assert first.unpruned_accuracy[0] == pytest.approx(expected)
    logistic = pruning_curve(x, labels, **{**kwargs, "probe": "logistic"})
    # Same splits and kept sets; only the probe differs.
    for a, b in zip(first.kept_indices, logistic.kept_indices):
        np.testing.assert_array_equal(a, b)


def test_rejects_unknown_probe(data) -> None:
    x, labels = data
    with pytest.raises(ValueError, match="probe"):
        pruning_curve(x, labels, fractions=(1.0,), seeds=(0,), probe="svm")


def test_imported_scores_are_a_metric_and_a_compare_metric(data) -> None:
    from core.scores.metrics import compute_scores

    x, labels = data
    full = compute_scores(x, "knn_density", k=10, seed=0).values  # scored on the full data
    name = "imported:knn_density"
    kwargs = {"fractions": (0.2, 1.0), "seeds": (0, 1), "balance": None, "return_kept": True}
    main = pruning_curve(x, labels, metric=name, imported={name: full}, **kwargs)
    assert set(main.table["metric"]) == {name}
    assert set(main.table["strategy"]) == {"keep_hard", "keep_easy", "random"}
    assert main.params.metric == name
    # Nothing is recomputed: keep_hard keeps the train rows with the highest imported values.
    for split in main.splits:
        rows = main.table.index[
            (main.table["strategy"] == "keep_hard")
            & (main.table["keep_fraction"] == 0.2)
            & (main.table["seed"] == split.seed)
        ]
        kept = main.kept_indices[rows[0]]
        train = split.train_indices
        top = train[np.argsort(-full[train], kind="stable")[: kept.size]]
        np.testing.assert_array_equal(kept, np.sort(top))
    both = pruning_curve(
        x, labels, metric="random", compare_metrics=(name,), imported={name: full}, **kwargs
    )
    assert list(dict.fromkeys(both.table["metric"])) == ["random", name]
    imported_rows = both.table[both.table["metric"] == name].reset_index(drop=True)
    main_rows = main.table[main.table["strategy"] != "random"].reset_index(drop=True)
    pd.testing.assert_frame_equal(imported_rows, main_rows)


def test_imported_scores_are_checked(data) -> None:
    x, labels = data
    short = {"imported:loss": np.zeros(x.shape[0] - 1)}
    with pytest.raises(ValueError, match=r"imported scores 'imported:loss' should have shape"):
        pruning_curve(x, labels, metric="imported:loss", imported=short, seeds=(0,))
    nan = np.zeros(x.shape[0])
    nan[3] = np.nan
    with pytest.raises(ValueError, match="should be finite"):
        pruning_curve(x, labels, metric="imported:loss", imported={"imported:loss": nan})
    with pytest.raises(ValueError, match="not a registered metric"):
        pruning_curve(x, labels, imported={"ssp": np.zeros(x.shape[0])}, seeds=(0,))
    ok = {"imported:loss": np.arange(x.shape[0], dtype=np.float64)}
    with pytest.raises(ValueError, match="needs a metric with clusters"):
        pruning_curve(x, labels, metric="imported:loss", imported=ok, balance="cluster")
    with pytest.raises(ValueError, match="imported:loss"):  # unknown name: the valid ones listed
        pruning_curve(x, labels, metric="imported:other", imported=ok, seeds=(0,))
