"""Tests for core.analysis.theory: the exact max-margin solver and the paper's qualitative claims."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.analysis.theory import (
    SOLVER,
    THEORY_COLUMNS,
    FrontierParams,
    TheoryCancelled,
    TheoryParams,
    fit_max_margin,
    simulate,
    theory_curve,
    theory_summary,
)


def _mean_error(result, *, sweep: str, strategy: str, alpha_tot: float, keep_fraction: float):
    t = result.table
    rows = t[
        (t["sweep"] == sweep)
        & (t["strategy"] == strategy)
        & np.isclose(t["alpha_tot"], alpha_tot)
        & np.isclose(t["keep_fraction"], keep_fraction)
    ]
    assert len(rows) == len(result.params.seeds)
    return float(rows["error"].mean())


# --- solver -----------------------------------------------------------------------------------


def test_max_margin_hand_checked() -> None:
    # min |w|^2 s.t. w1 >= 1, w2 >= 1 (the third point is inactive) -> w = (1, 1).
    x = np.array([[1.0, 0.0], [0.0, 1.0], [-3.0, -3.0]])
    y = np.array([1, 1, -1])
    fit = fit_max_margin(x, y)
    np.testing.assert_allclose(fit.weights, [1.0, 1.0], atol=1e-12)
    assert fit.converged
    assert fit.n_support == 2
    assert fit.min_margin == pytest.approx(1.0)


def test_max_margin_matches_independent_solver() -> None:
    from scipy.optimize import minimize

    rng = np.random.default_rng(0)
    teacher = rng.standard_normal(4)
    x = rng.standard_normal((15, 4))
    y = np.where(x @ teacher >= 0, 1, -1)
    fit = fit_max_margin(x, y)
    z = y[:, None] * x
    primal = minimize(
        lambda w: 0.5 * w @ w,
        x0=1.01 * teacher / np.abs(x @ teacher).min(),  # feasible start
        jac=lambda w: w,
        constraints=[{"type": "ineq", "fun": lambda w: z @ w - 1.0, "jac": lambda w: z}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    assert primal.success
    np.testing.assert_allclose(fit.weights, primal.x, rtol=1e-5, atol=1e-6)
    assert fit.converged


@pytest.mark.parametrize("strategy", ["keep_hard", "keep_easy", "random"])
def test_solver_converges_on_kept_set(strategy: str) -> None:
    run = simulate(n=60, alpha_tot=8, keep_fraction=0.3, theta_deg=10, strategy=strategy, seed=1)
    assert run.fit.converged
    assert run.fit.min_margin >= 1 - run.fit.tol
    assert run.fit.complementary_gap <= run.fit.tol
    assert run.n_kept == math.floor(0.3 * 480 + 0.5)
    assert run.error == pytest.approx(math.acos(run.overlap) / math.pi)


def test_fit_max_margin_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="only -1 and"):
        fit_max_margin(np.eye(2), np.array([0, 1]))
    with pytest.raises(ValueError, match="shape"):
        fit_max_margin(np.eye(2), np.array([1, 1, 1]))
    with pytest.raises(ValueError, match="tol"):
        fit_max_margin(np.eye(2), np.array([1, -1]), tol=0)


# --- the model ----------------------------------------------------------------------------------


def test_full_data_is_the_same_for_every_strategy() -> None:
    errors = {
        s: simulate(n=40, alpha_tot=4, keep_fraction=1.0, strategy=s, seed=2).error
        for s in ("keep_hard", "keep_easy", "random")
    }
    assert len(set(errors.values())) == 1


def test_theory_curve_table_and_determinism() -> None:
    kwargs = {
        "n": 30,
        "alphas": (2, 1),
        "keep_fractions": (0.5, 1.0),
        "alpha_tot": 4,
        "keep_fraction": 0.5,
        "seeds": (0, 1),
    }
    a = theory_curve(**kwargs)
    b = theory_curve(**kwargs)
    assert tuple(a.table.columns) == THEORY_COLUMNS
    assert len(a.table) == (2 + 2) * 3 * 2
    assert a.all_converged
    assert a.table.equals(b.table)
    alpha_rows = a.table[a.table["sweep"] == "alpha"]
    assert alpha_rows["alpha_tot"].tolist()[:4] == [1.0, 1.0, 2.0, 2.0]  # sorted grid
    assert (alpha_rows["keep_fraction"] == 0.5).all()
    summary = theory_summary(a)
    assert len(summary) == 4 * 3
    assert (summary["n_seeds"] == 2).all()
    assert a.params == TheoryParams(
        n=30,
        alphas=(1.0, 2.0),
        keep_fractions=(0.5, 1.0),
        alpha_tot=4.0,
        keep_fraction=0.5,
        theta_deg=0.0,
        strategies=("keep_hard", "keep_easy", "random"),
        seeds=(0, 1),
        sweeps=("alpha", "keep"),
        tol=1e-6,
    )
    assert a.params.solver == SOLVER


def test_frontier_params_are_the_inputs_as_used() -> None:
    from core.analysis.theory import frontier_sweep

    result = frontier_sweep(n=20, alphas=(4, 2), keep_fractions=(0.5,), seeds=(1,), n_grid=3)
    assert result.params == FrontierParams(
        n=20,
        alphas=(2.0, 4.0),
        keep_fractions=(0.5, 1.0),
        theta_deg=0.0,
        seeds=(1,),
        n_grid=3,
        tol=1e-6,
    )


def test_easy_wins_small_alpha_and_hard_wins_large_alpha() -> None:
    result = theory_curve(
        n=50,
        alphas=(1, 16),
        keep_fraction=0.5,
        sweeps=("alpha",),
        seeds=range(5),
    )
    assert result.all_converged
    easy = _mean_error(result, sweep="alpha", strategy="keep_easy", alpha_tot=1, keep_fraction=0.5)
    hard = _mean_error(result, sweep="alpha", strategy="keep_hard", alpha_tot=1, keep_fraction=0.5)
    assert easy < hard - 0.05  # measured 0.26 vs 0.41
    result = theory_curve(n=50, alphas=(16,), keep_fraction=0.25, sweeps=("alpha",), seeds=range(5))
    hard = _mean_error(
        result, sweep="alpha", strategy="keep_hard", alpha_tot=16, keep_fraction=0.25
    )
    rand = _mean_error(result, sweep="alpha", strategy="random", alpha_tot=16, keep_fraction=0.25)
    easy = _mean_error(
        result, sweep="alpha", strategy="keep_easy", alpha_tot=16, keep_fraction=0.25
    )
    assert hard < rand - 0.03
    assert hard < easy


def test_imperfect_probe_makes_aggressive_hard_pruning_worse_than_random() -> None:
    def errors(theta: float) -> tuple[float, float]:
        result = theory_curve(
            n=50,
            keep_fractions=(0.2,),
            alpha_tot=16,
            theta_deg=theta,
            sweeps=("keep",),
            seeds=range(5),
        )
        hard = _mean_error(
            result, sweep="keep", strategy="keep_hard", alpha_tot=16, keep_fraction=0.2
        )
        rand = _mean_error(result, sweep="keep", strategy="random", alpha_tot=16, keep_fraction=0.2)
        return hard, rand

    hard, rand = errors(0.0)
    assert hard < rand - 0.05  # measured 0.03 vs 0.13
    hard, rand = errors(20.0)
    assert hard > rand + 0.03  # measured 0.21 vs 0.13


def test_cancel_and_progress() -> None:
    seen: list[float] = []
    theory_curve(
        n=20, alphas=(1, 2), keep_fractions=(1.0,), seeds=(0,), progress=lambda f, m: seen.append(f)
    )
    assert seen == sorted(seen)
    assert seen[-1] == 1.0
    calls = iter(range(100))
    with pytest.raises(TheoryCancelled):
        theory_curve(n=20, seeds=(0,), should_stop=lambda: next(calls) >= 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 1}, "n=1"),
        ({"theta_deg": 120}, "theta_deg=120"),
        ({"strategies": ("keep_middle",)}, "strategies"),
        ({"keep_fraction": 0.0}, "keep_fraction=0.0"),
        ({"alphas": (0,)}, "alpha_tot=0"),
        ({"keep_fractions": (0.001,), "alpha_tot": 1, "n": 10}, "keeps no example"),
        ({"seeds": ()}, "seeds"),
        ({"sweeps": ("beta",)}, "sweeps"),
    ],
)
def test_theory_curve_rejects_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        theory_curve(**kwargs)


def test_theory_claims_read_the_sweeps_and_skip_claim_three_for_a_perfect_probe() -> None:
    import pandas as pd

    from core.analysis.theory import theory_claims

    rows = []
    for sweep, column, grid in (
        ("alpha", "alpha_tot", (1.0, 16.0)),
        ("keep", "keep_fraction", (0.1, 1.0)),
    ):
        for strategy, errors in (
            ("keep_hard", (0.40, 0.03)),
            ("keep_easy", (0.20, 0.05)),
            ("random", (0.30, 0.10)),
        ):
            for value, error in zip(grid, errors):
                rows.append(
                    {"sweep": sweep, "strategy": strategy, column: value, "error_mean": error}
                )
    summary = pd.DataFrame(rows)
    claims = theory_claims(summary, theta_deg=20)
    assert (claims.easy_small, claims.hard_small) == (0.20, 0.40)
    assert (claims.hard_large, claims.easy_large) == (0.03, 0.05)
    assert (claims.hard_few, claims.random_few) == (0.40, 0.30)
    assert claims.scarce_holds
    assert claims.abundant_holds
    assert claims.imperfect_holds
    assert theory_claims(summary, theta_deg=0).imperfect_holds is None
    with pytest.raises(ValueError, match="no 'random' rows in the 'keep' sweep"):
        theory_claims(summary[summary["strategy"] != "random"], theta_deg=20)


def _frontier(theta: float):  # type: ignore[no-untyped-def]
    from core.analysis.theory import frontier_sweep

    return frontier_sweep(
        n=40,
        alphas=(1, 2, 4, 8, 16, 32),
        keep_fractions=(0.2, 0.4, 0.7),
        theta_deg=theta,
        seeds=(0, 1, 2),
        n_grid=12,
    )


@pytest.mark.slow
def test_frontier_beats_the_power_law_and_an_imperfect_metric_shrinks_the_gain() -> None:
    """Fig. 1: at theta=0 the best f falls as alpha_prune grows and the frontier is below the
    unpruned (= random pruning) curve for alpha_prune >= 2; at theta=20 the gain shrinks."""
    from core.analysis.theory import ENVELOPE_COLUMNS, FRONTIER_COLUMNS, frontier_csv_bytes

    perfect, imperfect = _frontier(0.0), _frontier(20.0)
    assert tuple(perfect.table.columns) == FRONTIER_COLUMNS
    assert tuple(perfect.frontier.columns) == ENVELOPE_COLUMNS
    assert len(perfect.table) == 6 * 4  # alphas x (fractions + 1.0)
    front = perfect.frontier
    common = front[front["n_curves"] == 4]  # where every fraction's curve is defined
    assert common["best_keep_fraction"].iloc[0] > common["best_keep_fraction"].iloc[-1]
    assert common["best_keep_fraction"].is_monotonic_decreasing
    # alpha_prune >= 2 wherever a pruned curve reaches (at the top only f = 1 does).
    compared = front[(front["alpha_prune"] >= 2) & (front["n_curves"] >= 2)]
    assert len(compared) >= 4
    assert (compared["error"] < compared["unpruned_error"]).all()

    def gain(result) -> float:  # type: ignore[no-untyped-def]
        f = result.frontier
        rows = f[(f["alpha_prune"] >= 2) & (f["n_curves"] >= 2)]
        return float((1 - rows["error"] / rows["unpruned_error"]).mean())

    assert gain(imperfect) < gain(perfect) - 0.1
    a, b = perfect.power_law
    assert a > 0
    assert 0.5 < b < 1.2  # random pruning: a power law in alpha_prune
    table_csv, frontier_csv = frontier_csv_bytes(perfect)
    assert table_csv.startswith(b"alpha_prune,keep_fraction,strategy,error_mean,error_std")
    assert frontier_csv.startswith(b"alpha_prune,error,best_keep_fraction")


def test_frontier_rejects_bad_input() -> None:
    from core.analysis.theory import frontier_sweep

    with pytest.raises(ValueError, match="n_grid=1 should be an int >= 2"):
        frontier_sweep(n=20, alphas=(1,), seeds=(0,), n_grid=1)
    with pytest.raises(ValueError, match="seeds"):
        frontier_sweep(n=20, alphas=(1,), seeds=())
