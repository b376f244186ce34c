"""Tests for core.analysis.verdicts: paired two-stderr verdicts and the advisor sentence."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.analysis.curve import CurveParams, CurveResult, CurveSplit, pruning_curve
from core.analysis.verdicts import (
    VERDICT_COLUMNS,
    SafeFraction,
    advice_sentence,
    advise,
    fraction_verdicts,
    verdicts_csv_bytes,
)

DIGITS = Path(__file__).parents[2] / "sample_data" / "digits"


def _result(acc: dict[tuple[str, float], list[float]], unpruned: list[float]) -> CurveResult:
    """A CurveResult with the given per-seed accuracies (metric ssp, balance class)."""
    seeds = tuple(range(len(unpruned)))
    rows = [
        ("ssp", strategy, "class", f, seed, 10, a)
        for (strategy, f), values in acc.items()
        for seed, a in zip(seeds, values)
    ]
    table = pd.DataFrame(
        rows,
        columns=["metric", "strategy", "balance", "keep_fraction", "seed", "n_kept", "accuracy"],
    )
    empty = np.zeros(0, dtype=np.int64)
    splits = tuple(CurveSplit(s, np.arange(80, dtype=np.int64), empty, empty) for s in seeds)
    params = CurveParams(
        "ssp", (), (0.5,), ("keep_hard", "random"), seeds, 0.2, None, "cosine", "auto",
        ("class",), 0.5, (), (),
    )  # fmt: skip
    return CurveResult(table, np.array(unpruned), seeds, None, splits, None, params)


def test_clear_win_and_tie_follow_the_paired_rule() -> None:
    result = _result(
        {
            ("keep_hard", 0.5): [0.90, 0.80, 0.70],  # +0.05 on every seed: a paired win
            ("random", 0.5): [0.85, 0.75, 0.65],
            ("keep_hard", 0.9): [0.90, 0.80, 0.70],  # +0.01 mean, noisy: a tie
            ("random", 0.9): [0.95, 0.70, 0.72],
            ("keep_hard", 1.0): [0.9, 0.8, 0.7],
            ("random", 1.0): [0.9, 0.8, 0.7],
        },
        [0.9, 0.8, 0.7],
    )
    verdicts = fraction_verdicts(result)
    assert verdicts["keep_fraction"].tolist() == [0.5, 0.9]  # f = 1 is left out
    win, tie = verdicts.iloc[0], verdicts.iloc[1]
    assert (win["best"], win["runner_up"], win["verdict"]) == ("keep_hard", "random", "win")
    assert win["margin"] == pytest.approx(0.05)
    assert win["stderr"] == pytest.approx(0.0, abs=1e-12)
    diff = np.array([0.90 - 0.95, 0.80 - 0.70, 0.70 - 0.72])
    assert tie["margin"] == pytest.approx(diff.mean())
    assert tie["stderr"] == pytest.approx(diff.std(ddof=1) / math.sqrt(3))
    assert tie["verdict"] == "tie"
    text = verdicts_csv_bytes(verdicts).decode()
    assert text.splitlines()[0] == ",".join(VERDICT_COLUMNS)


def test_single_seed_is_always_a_tie() -> None:
    result = _result({("keep_hard", 0.5): [0.9], ("random", 0.5): [0.5]}, [0.9])
    row = fraction_verdicts(result).iloc[0]
    assert row["verdict"] == "tie"
    assert math.isnan(row["stderr"])


def _verdicts(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def test_sentence_for_a_clear_win() -> None:
    verdicts = _verdicts(
        [
            (0.5, "random", "keep_hard", 0.002, 0.003, "tie"),
            (0.9, "keep_hard", "random", 0.004, 0.001, "win"),
        ]
    )
    safe = SafeFraction(0.9, "keep_hard", 0.001, 0.002)
    text = advice_sentence(verdicts, examples_per_class=500, examples_per_dim=40, safe=safe)
    assert "keep_hard wins at f = 0.9 by 0.4 ± 0.1 points over random" in text
    assert "ties within noise at f = 0.5" in text
    assert "smallest kept fraction within noise of the unpruned probe is f = 0.9" in text
    assert "abundant" in text
    assert "not a guarantee" in text
    assert text.count(".") >= 1
    assert text.endswith(".")


def test_sentence_for_a_tie_everywhere() -> None:
    verdicts = _verdicts(
        [
            (0.1, "keep_easy", "random", 0.01, 0.02, "tie"),
            (0.5, "random", "keep_hard", 0.0, 0.004, "tie"),
        ]
    )
    text = advice_sentence(verdicts, examples_per_class=20, examples_per_dim=0.5)
    assert "no strategy beats the runner-up by more than two standard errors" in text
    assert "f = 0.1, 0.5" in text
    assert "random pruning is as good as any metric" in text
    assert "scarce" in text
    assert "keeping easy" in text
    assert "wins" not in text


def test_advise_counts_the_train_split_and_rejects_bad_sizes() -> None:
    result = _result({("keep_hard", 0.5): [0.9, 0.8], ("random", 0.5): [0.8, 0.7]}, [0.9, 0.8])
    advice = advise(result, n_dims=8, n_classes=4)
    assert advice.examples_per_class == 20
    assert advice.examples_per_dim == 10
    assert advice.regime == "intermediate"
    assert advice.safe is not None
    assert advice.safe.keep_fraction == 0.5
    with pytest.raises(ValueError, match="n_dims=0"):
        advise(result, n_dims=0, n_classes=4)


@pytest.mark.slow
def test_digits_half_is_a_tie_unless_beyond_two_standard_errors() -> None:
    x = np.load(DIGITS / "pixel_embeddings.npy")
    labels = pd.read_csv(DIGITS / "metadata.csv")["label"].to_numpy()
    result = pruning_curve(
        x, labels, fractions=(0.5,), strategies=("keep_hard", "random"), seeds=range(5)
    )
    row = fraction_verdicts(result).iloc[0]
    assert {row["best"], row["runner_up"]} == {"keep_hard", "random"}
    # The rule, computed here from the curve table: paired differences over the five seeds.
    table = result.table.pivot(index="seed", columns="strategy", values="accuracy")
    diff = (table[row["best"]] - table[row["runner_up"]]).to_numpy()
    stderr = diff.std(ddof=1) / math.sqrt(5)
    assert row["margin"] == pytest.approx(diff.mean())
    assert diff.mean() >= 0
    assert row["stderr"] == pytest.approx(stderr)
    assert row["verdict"] == ("win" if diff.mean() > 2 * stderr else "tie")
