"""The teacher–student perceptron model of data pruning (Sorscher et al. 2022, section 2).

Inputs ``x ~ N(0, I_N)``, a random unit teacher ``T`` and labels ``y = sign(T·x)``; ``P = α_tot·N``
examples. A probe ``J`` at angle ``θ`` to ``T`` ranks the examples by their margin ``|J·x|``
(small margin = hard, so the difficulty score is ``-|J·x|``, higher = harder). A fraction ``f`` is
kept (``keep_hard``: smallest margins, ``keep_easy``: largest, ``random``), a max-margin student
(hard-margin SVM without bias) is trained on the kept examples from scratch, and its test error is
exact: ``ε = arccos(R) / π`` with ``R`` the cosine between student and teacher.

Solver
------
The hard-margin SVM without bias, ``min ½|w|² s.t. y_i (w·x_i) >= 1``, is a least-distance program
(LDP). Lawson & Hanson (1974, ch. 23) solve an LDP exactly with one non-negative least-squares
problem: ``u* = argmin_{u >= 0} |E u - e|`` with ``E = [Zᵀ; 1ᵀ]`` (``Z`` the rows ``y_i x_i``) and
``e = (0, ..., 0, 1)``; then with ``r = E u* - e``, ``w = -r[:N] / r[N]`` and the dual variables
are ``a = u* / (-r[N])``. The NNLS is scipy's active-set Lawson–Hanson solver, which terminates in
finitely many steps. Convergence is then *checked* (not assumed) with the KKT conditions:
primal feasibility ``min_i y_i w·x_i >= 1 - tol``, dual feasibility ``a >= 0`` (by construction)
and complementary slackness ``|y_i w·x_i - 1| <= tol`` wherever ``a_i > 0``; stationarity
``w = Σ a_i y_i x_i`` holds by construction. The data are always separable (labels come from
``T``), so a failed check means a numerical problem; it is reported in ``converged``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core._progress import ProgressFn, report
from core.prune.select import kept_count  # one rounding rule for the whole project
from core.validate import check_fraction, check_int, check_number

if TYPE_CHECKING:
    import pandas as pd

#: Pruning policies of the model; names match :data:`core.prune.select.STRATEGIES`.
THEORY_STRATEGIES = ("keep_hard", "keep_easy", "random")
#: Sweep names: over the dataset size ``α_tot`` at fixed ``f``, or over ``f`` at fixed ``α_tot``.
SWEEPS = ("alpha", "keep")
#: The solver behind every max-margin fit (:func:`fit_max_margin`).
SOLVER = "lawson-hanson-nnls"
#: Default grid of ``α_tot = P / N`` for the ``alpha`` sweep.
DEFAULT_ALPHAS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
#: Default grid of kept fractions ``f`` for the ``keep`` sweep.
DEFAULT_KEEP_FRACTIONS = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
#: Columns of :attr:`TheoryResult.table`, in order.
THEORY_COLUMNS = (
    "sweep",
    "strategy",
    "n",
    "alpha_tot",
    "keep_fraction",
    "alpha_prune",
    "theta_deg",
    "seed",
    "n_total",
    "n_kept",
    "overlap",
    "error",
    "min_margin",
    "n_support",
    "converged",
)


class TheoryCancelled(Exception):
    """Raised by :func:`theory_curve` when ``should_stop()`` returns True; nothing is returned."""


@dataclass(frozen=True, eq=False, slots=True)
class MaxMarginFit:
    """A hard-margin linear SVM without bias.

    Attributes
    ----------
    weights : ndarray of shape (d,), float64; scaled so that the smallest functional margin is 1.
    min_margin : smallest functional margin ``min_i y_i (w·x_i)`` (1 at the optimum).
    complementary_gap : ``max |y_i (w·x_i) - 1|`` over support vectors (0 at the optimum).
    n_support : number of examples with a positive dual variable.
    converged : True when the KKT check passed within ``tol``.
    solver : ``"lawson-hanson-nnls"``.
    tol : tolerance used by the KKT check.
    """

    weights: np.ndarray
    min_margin: float
    complementary_gap: float
    n_support: int
    converged: bool
    solver: str
    tol: float


@dataclass(frozen=True, eq=False, slots=True)
class TheoryRun:
    """One simulation of the teacher–student model (see :func:`simulate`).

    Attributes
    ----------
    n, alpha_tot, keep_fraction, theta_deg, strategy, seed : the inputs.
    n_total : ``P = round(α_tot · N)`` examples before pruning.
    n_kept : examples kept (``floor(f · P + 0.5)``, as :func:`core.prune.select.kept_count`).
    overlap : ``R``, the cosine between student and teacher.
    error : ``arccos(R) / π``, the exact test error of the student.
    fit : the max-margin fit, with its convergence check.
    """

    n: int
    alpha_tot: float
    keep_fraction: float
    theta_deg: float
    strategy: str
    seed: int
    n_total: int
    n_kept: int
    overlap: float
    error: float
    fit: MaxMarginFit


@dataclass(frozen=True, slots=True)
class TheoryParams:
    """The inputs of a :func:`theory_curve` run, as used (grids sorted, seeds as ints).

    ``alphas`` is the ``α_tot`` grid of the ``"alpha"`` sweep (run at ``keep_fraction``),
    ``keep_fractions`` the ``f`` grid of the ``"keep"`` sweep (run at ``alpha_tot``); ``tol``
    is the KKT tolerance of ``solver``.
    """

    n: int
    alphas: tuple[float, ...]
    keep_fractions: tuple[float, ...]
    alpha_tot: float
    keep_fraction: float
    theta_deg: float
    strategies: tuple[str, ...]
    seeds: tuple[int, ...]
    sweeps: tuple[str, ...]
    tol: float
    solver: str = SOLVER


@dataclass(frozen=True, eq=False, slots=True)
class TheoryResult:
    """Test error of the teacher–student model over sweeps of ``α_tot`` and ``f``.

    Attributes
    ----------
    table : pandas.DataFrame, one row per (sweep, strategy, grid point, seed), columns
        :data:`THEORY_COLUMNS`. ``sweep == "alpha"`` rows vary ``alpha_tot`` at the fixed
        ``keep_fraction``; ``sweep == "keep"`` rows vary ``keep_fraction`` at the fixed
        ``alpha_tot``. ``error`` is the exact test error ``arccos(overlap) / π``.
    all_converged : True when every max-margin fit passed its KKT check.
    params : TheoryParams, the inputs (n, grids, fixed values, theta_deg, seeds, tol).
    """

    table: pd.DataFrame
    all_converged: bool
    params: TheoryParams


def fit_max_margin(x: np.ndarray, y: np.ndarray, *, tol: float = 1e-6) -> MaxMarginFit:
    """Fit a hard-margin linear SVM without bias (exactly, via NNLS) and check its KKT conditions.

    Parameters
    ----------
    x : ndarray of shape (m, d)
        Examples; must be linearly separable through the origin with labels ``y``.
    y : ndarray of shape (m,)
        Labels in {-1, +1}.
    tol : float, default 1e-6
        Tolerance on functional margins for the convergence check.

    Returns
    -------
    MaxMarginFit

    Raises
    ------
    ValueError
        On bad shapes, labels other than ±1, non-finite values or ``tol <= 0``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"x should be a 2-D array with at least one row, got shape {x.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y should have shape ({x.shape[0]},), got {y.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or inf")
    if not np.all(np.isin(y, (-1, 1))):
        raise ValueError(f"y should contain only -1 and +1, got values {np.unique(y)[:5]}")
    if not tol > 0:
        raise ValueError(f"tol={tol} should be > 0")
    return _fit_max_margin(y.astype(np.float64)[:, None] * x, tol)


def _fit_max_margin(z: np.ndarray, tol: float) -> MaxMarginFit:
    """Hard-margin SVM on rows ``z_i = y_i x_i``: ``min ½|w|²`` s.t. ``z_i·w >= 1`` (module doc)."""
    from scipy.optimize import nnls

    m, d = z.shape
    e_mat = np.vstack([z.T, np.ones((1, m))])
    e_vec = np.zeros(d + 1)
    e_vec[-1] = 1.0
    try:
        u, _ = nnls(e_mat, e_vec, maxiter=max(3 * m, 10 * (d + 1)))
    except RuntimeError:  # iteration limit: report instead of raising
        nan = np.full(d, np.nan)
        return MaxMarginFit(nan, math.nan, math.nan, 0, False, SOLVER, tol)
    residual = e_mat @ u - e_vec
    if not residual[-1] < 0:  # r[N] == 0 would mean an infeasible (non-separable) program
        nan = np.full(d, np.nan)
        return MaxMarginFit(nan, math.nan, math.nan, 0, False, SOLVER, tol)
    weights = -residual[:d] / residual[-1]
    margins = z @ weights
    support = u > 0
    min_margin = float(margins.min())
    gap = float(np.abs(margins[support] - 1.0).max()) if support.any() else math.inf
    converged = bool(min_margin >= 1.0 - tol and gap <= tol and np.all(np.isfinite(weights)))
    return MaxMarginFit(
        weights=weights,
        min_margin=min_margin,
        complementary_gap=gap,
        n_support=int(support.sum()),
        converged=converged,
        solver=SOLVER,
        tol=tol,
    )


def simulate(
    *,
    n: int = 100,
    alpha_tot: float = 16.0,
    keep_fraction: float = 0.25,
    theta_deg: float = 0.0,
    strategy: str = "keep_hard",
    seed: int = 0,
    tol: float = 1e-6,
) -> TheoryRun:
    """Run the teacher–student model once and return the student's exact test error.

    For a given ``(n, alpha_tot, seed)`` the teacher, probe and examples are identical across
    strategies and kept fractions (common random numbers), so comparisons are paired.

    Parameters
    ----------
    n : int, default 100
        Input dimension ``N`` (>= 2).
    alpha_tot : float, default 16
        Examples per dimension before pruning; ``P = round(alpha_tot * n)``.
    keep_fraction : float, default 0.25
        Fraction ``f`` in (0, 1] of the ``P`` examples kept.
    theta_deg : float, default 0
        Angle in degrees in [0, 90] between the probe ``J`` and the teacher ``T``.
    strategy : {"keep_hard", "keep_easy", "random"}
        Keep the smallest probe margins ``|J·x|``, the largest, or a random subset.
    seed : int, default 0
    tol : float, default 1e-6
        Tolerance of the solver's KKT check.

    Returns
    -------
    TheoryRun

    Raises
    ------
    ValueError
        When an input is out of range or no example would be kept.
    """
    _check_common(n=n, theta_deg=theta_deg, strategies=(strategy,), tol=tol)
    _check_alpha(alpha_tot)
    check_fraction(keep_fraction, allow_zero=False)
    n_total = _n_total(n, alpha_tot)
    _check_kept(n_total, keep_fraction, n=n, alpha_tot=alpha_tot)
    data = _draw(n, alpha_tot, theta_deg, seed)
    return _run(data, n, alpha_tot, keep_fraction, theta_deg, strategy, seed, tol)


def theory_curve(
    *,
    n: int = 100,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    keep_fractions: Sequence[float] = DEFAULT_KEEP_FRACTIONS,
    alpha_tot: float = 16.0,
    keep_fraction: float = 0.25,
    theta_deg: float = 0.0,
    strategies: Sequence[str] = THEORY_STRATEGIES,
    seeds: Sequence[int] = (0, 1, 2),
    sweeps: Sequence[str] = SWEEPS,
    tol: float = 1e-6,
    progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TheoryResult:
    """Sweep the teacher–student model over ``α_tot`` (fixed ``f``) and ``f`` (fixed ``α_tot``).

    With the defaults (N=100, three seeds; about two seconds on one core) it reproduces the
    paper's qualitative claims: keeping easy examples wins at small ``α_tot`` and keeping hard
    ones wins at large ``α_tot``; with an imperfect probe (``theta_deg`` > 0, e.g. 20) keeping
    the hardest examples of a too small fraction ``f`` becomes worse than random.

    Parameters
    ----------
    n : int, default 100
        Input dimension ``N``.
    alphas : sequence of float, default (1, 2, 4, 8, 16, 32)
        ``α_tot`` grid of the ``"alpha"`` sweep (run at ``keep_fraction``).
    keep_fractions : sequence of float, default (0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
        ``f`` grid of the ``"keep"`` sweep (run at ``alpha_tot``).
    alpha_tot : float, default 16
        Fixed ``α_tot`` of the ``"keep"`` sweep.
    keep_fraction : float, default 0.25
        Fixed ``f`` of the ``"alpha"`` sweep.
    theta_deg : float, default 0
        Probe–teacher angle in degrees, in [0, 90].
    strategies : sequence of str, default ("keep_hard", "keep_easy", "random")
    seeds : sequence of int, default (0, 1, 2)
    sweeps : sequence of {"alpha", "keep"}, default both
    tol : float, default 1e-6
        Tolerance of the solver's KKT check.
    progress : callable (fraction, message), optional
    should_stop : callable () -> bool, optional
        Polled before every simulation; when it returns True, :class:`TheoryCancelled` is raised.

    Returns
    -------
    TheoryResult
        ``table`` rows are ordered by sweep, strategy, grid value, seed.

    Raises
    ------
    ValueError
        On out-of-range inputs (the message names the value), or a grid point keeping no example.
    TheoryCancelled
        When ``should_stop()`` returned True.
    """
    import pandas as pd

    _check_common(n=n, theta_deg=theta_deg, strategies=strategies, tol=tol)
    sweeps = tuple(sweeps)
    if not sweeps or any(s not in SWEEPS for s in sweeps) or len(set(sweeps)) != len(sweeps):
        raise ValueError(f"sweeps={sweeps} should be distinct values from {SWEEPS}")
    seeds = tuple(int(s) for s in seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds={seeds} should be a non-empty sequence of distinct integers")
    alphas = _sorted_grid(alphas, "alphas")
    keep_fractions = _sorted_grid(keep_fractions, "keep_fractions")
    points: list[tuple[str, float, float]] = []  # (sweep, alpha_tot, keep_fraction)
    if "alpha" in sweeps:
        check_fraction(keep_fraction, allow_zero=False)
        for a in alphas:
            _check_alpha(a)
            points.append(("alpha", a, float(keep_fraction)))
    if "keep" in sweeps:
        _check_alpha(alpha_tot)
        for f in keep_fractions:
            check_fraction(f, allow_zero=False)
            points.append(("keep", float(alpha_tot), f))
    for _, a, f in points:
        _check_kept(_n_total(n, a), f, n=n, alpha_tot=a)

    strategies = tuple(strategies)
    n_jobs = len(points) * len(seeds) * len(strategies)
    rows: list[dict[str, object]] = []
    done = 0
    for sweep, a, f in points:
        for seed in seeds:
            data = _draw(n, a, theta_deg, seed)
            for strategy in strategies:
                if should_stop is not None and should_stop():
                    raise TheoryCancelled(f"cancelled after {done} of {n_jobs} simulations")
                run = _run(data, n, a, f, theta_deg, strategy, seed, tol)
                rows.append(_row(sweep, run))
                done += 1
                report(progress, done / n_jobs, f"{sweep} sweep: α_tot={a:g}, f={f:g}")
    table = pd.DataFrame(rows, columns=list(THEORY_COLUMNS))
    order = {s: i for i, s in enumerate(SWEEPS)}
    strat_order = {s: i for i, s in enumerate(strategies)}
    table = (
        table.assign(_s=table["sweep"].map(order), _t=table["strategy"].map(strat_order))
        .sort_values(["_s", "_t", "alpha_tot", "keep_fraction", "seed"], kind="stable")
        .drop(columns=["_s", "_t"])
        .reset_index(drop=True)
    )
    params = TheoryParams(
        n=n,
        alphas=alphas,
        keep_fractions=keep_fractions,
        alpha_tot=float(alpha_tot),
        keep_fraction=float(keep_fraction),
        theta_deg=float(theta_deg),
        strategies=strategies,
        seeds=seeds,
        sweeps=sweeps,
        tol=tol,
    )
    return TheoryResult(table=table, all_converged=bool(table["converged"].all()), params=params)


def theory_summary(result: TheoryResult) -> pd.DataFrame:
    """Mean and standard deviation (over seeds, ``ddof=0``) of the test error per grid point.

    Parameters
    ----------
    result : TheoryResult

    Returns
    -------
    pandas.DataFrame
        Columns ``sweep, strategy, alpha_tot, keep_fraction, alpha_prune, error_mean, error_std,
        n_seeds``, in the order of ``result.table``.
    """
    keys = ["sweep", "strategy", "alpha_tot", "keep_fraction", "alpha_prune"]
    grouped = result.table.groupby(keys, sort=False)["error"]
    out = grouped.agg(error_mean="mean", n_seeds="count").reset_index()
    out.insert(len(keys) + 1, "error_std", grouped.std(ddof=0).to_numpy())
    return out


@dataclass(frozen=True, eq=False, slots=True)
class TheoryClaims:
    """The paper's three qualitative claims, checked on one :func:`theory_summary`.

    Errors are mean test errors (lower is better). ``imperfect_holds`` is None for a perfect
    probe (``theta_deg == 0``), where claim 3 does not apply.
    """

    easy_small: float  # keep easy, smallest alpha_tot of the alpha sweep
    hard_small: float  # keep hard, smallest alpha_tot
    easy_large: float  # keep easy, largest alpha_tot
    hard_large: float  # keep hard, largest alpha_tot
    hard_few: float  # keep hard, smallest kept fraction of the keep sweep
    random_few: float  # random, smallest kept fraction
    scarce_holds: bool  # 1. scarce data: keep easy beats keep hard
    abundant_holds: bool  # 2. abundant data: keep hard beats keep easy
    imperfect_holds: bool | None  # 3. theta > 0: aggressive hard pruning is worse than random


def theory_claims(summary: pd.DataFrame, *, theta_deg: float) -> TheoryClaims:
    """Check Sorscher et al.'s claims on a :func:`theory_summary` of both sweeps.

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`theory_summary` rows with both sweeps ("alpha" and "keep") and the strategies
        keep_hard, keep_easy and random.
    theta_deg : float
        The probe angle the summary was simulated with.

    Returns
    -------
    TheoryClaims

    Raises
    ------
    ValueError
        When a sweep or strategy the claims need is missing from ``summary``.
    """

    def error_at(sweep: str, strategy: str, column: str, first: bool) -> float:
        rows = summary[(summary["sweep"] == sweep) & (summary["strategy"] == strategy)]
        if rows.empty:
            raise ValueError(f"the summary has no {strategy!r} rows in the {sweep!r} sweep")
        rows = rows.sort_values(column)
        return float(rows["error_mean"].iloc[0 if first else -1])

    easy_small = error_at("alpha", "keep_easy", "alpha_tot", True)
    hard_small = error_at("alpha", "keep_hard", "alpha_tot", True)
    easy_large = error_at("alpha", "keep_easy", "alpha_tot", False)
    hard_large = error_at("alpha", "keep_hard", "alpha_tot", False)
    hard_few = error_at("keep", "keep_hard", "keep_fraction", True)
    random_few = error_at("keep", "random", "keep_fraction", True)
    return TheoryClaims(
        easy_small=easy_small,
        hard_small=hard_small,
        easy_large=easy_large,
        hard_large=hard_large,
        hard_few=hard_few,
        random_few=random_few,
        scarce_holds=easy_small < hard_small,
        abundant_holds=hard_large < easy_large,
        imperfect_holds=(hard_few > random_few) if theta_deg > 0 else None,
    )


def theory_csv_bytes(result: TheoryResult) -> bytes:
    """The result table as plain CSV (:data:`THEORY_COLUMNS`, floats ``%.9g``, ``\\n`` endings).

    The CLI's ``theory --out`` file and the app's download are these bytes.
    """
    text = result.table.to_csv(index=False, float_format="%.9g", lineterminator="\n")
    return text.encode("utf-8")


# --- helpers (inputs already validated) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Data:
    teacher: np.ndarray  # (n,)
    x: np.ndarray  # (P, n)
    y: np.ndarray  # (P,) ±1
    probe_margin: np.ndarray  # (P,) |J·x|
    rng_seed: tuple[int, ...]


def _n_total(n: int, alpha_tot: float) -> int:
    return round(alpha_tot * n)


def _draw(n: int, alpha_tot: float, theta_deg: float, seed: int) -> _Data:
    """Teacher and probe depend on the seed only; the examples on (seed, P)."""
    n_total = _n_total(n, alpha_tot)
    rng = np.random.default_rng([seed, n])
    teacher = rng.standard_normal(n)
    teacher /= np.linalg.norm(teacher)
    other = rng.standard_normal(n)
    other -= (other @ teacher) * teacher
    other /= np.linalg.norm(other)
    theta = math.radians(theta_deg)
    probe = math.cos(theta) * teacher + math.sin(theta) * other
    data_rng = np.random.default_rng([seed, n, n_total])
    x = data_rng.standard_normal((n_total, n))
    y = np.where(x @ teacher >= 0, 1.0, -1.0)
    return _Data(teacher, x, y, np.abs(x @ probe), (seed, n, n_total))


def _run(
    data: _Data,
    n: int,
    alpha_tot: float,
    keep_fraction: float,
    theta_deg: float,
    strategy: str,
    seed: int,
    tol: float,
) -> TheoryRun:
    n_total = data.x.shape[0]
    m = kept_count(n_total, keep_fraction)
    if strategy == "keep_hard":  # smallest probe margin first; ties by index
        kept = np.argsort(data.probe_margin, kind="stable")[:m]
    elif strategy == "keep_easy":
        kept = np.argsort(-data.probe_margin, kind="stable")[:m]
    else:
        kept = np.random.default_rng([*data.rng_seed, m]).permutation(n_total)[:m]
    kept = np.sort(kept)  # the same kept set gives the same rows in the same order
    z = data.y[kept, None] * data.x[kept]
    fit = _fit_max_margin(z, tol)
    w = fit.weights
    norm = float(np.linalg.norm(w))
    overlap = float(np.clip((w @ data.teacher) / norm, -1.0, 1.0)) if norm > 0 else math.nan
    return TheoryRun(
        n=n,
        alpha_tot=float(alpha_tot),
        keep_fraction=float(keep_fraction),
        theta_deg=float(theta_deg),
        strategy=strategy,
        seed=seed,
        n_total=n_total,
        n_kept=m,
        overlap=overlap,
        error=math.acos(overlap) / math.pi if math.isfinite(overlap) else math.nan,
        fit=fit,
    )


def _row(sweep: str, run: TheoryRun) -> dict[str, object]:
    return {
        "sweep": sweep,
        "strategy": run.strategy,
        "n": run.n,
        "alpha_tot": run.alpha_tot,
        "keep_fraction": run.keep_fraction,
        "alpha_prune": run.n_kept / run.n,
        "theta_deg": run.theta_deg,
        "seed": run.seed,
        "n_total": run.n_total,
        "n_kept": run.n_kept,
        "overlap": run.overlap,
        "error": run.error,
        "min_margin": run.fit.min_margin,
        "n_support": run.fit.n_support,
        "converged": run.fit.converged,
    }


def _check_common(*, n: int, theta_deg: float, strategies: Sequence[str], tol: float) -> None:
    check_int("n", n, low=2)
    check_number("theta_deg", theta_deg, low=0.0, high=90.0)
    strategies = tuple(strategies)
    bad = [s for s in strategies if s not in THEORY_STRATEGIES]
    if not strategies or bad or len(set(strategies)) != len(strategies):
        raise ValueError(
            f"strategies={strategies} should be distinct values from {THEORY_STRATEGIES}"
        )
    if not (math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol={tol} should be > 0")


def _check_alpha(alpha_tot: float) -> None:
    if not (math.isfinite(alpha_tot) and alpha_tot > 0):
        raise ValueError(f"alpha_tot={alpha_tot} should be > 0")


def _check_kept(n_total: int, keep_fraction: float, *, n: int, alpha_tot: float) -> None:
    if kept_count(n_total, keep_fraction) < 1:
        raise ValueError(
            f"keep_fraction={keep_fraction} of P=round(alpha_tot={alpha_tot} * n={n})={n_total} "
            "examples keeps no example"
        )


def _sorted_grid(values: Sequence[float], name: str) -> tuple[float, ...]:
    grid = tuple(float(v) for v in values)
    if not grid:
        raise ValueError(f"{name} should not be empty")
    if len(set(grid)) != len(grid):
        raise ValueError(f"{name}={grid} should not contain duplicates")
    return tuple(sorted(grid))


# ----------------------------------------------------------------------------- Fig. 1 frontier

#: Columns of :attr:`FrontierResult.table` (one row per kept fraction and ``α_tot``).
FRONTIER_COLUMNS = (
    "alpha_prune",
    "keep_fraction",
    "strategy",
    "error_mean",
    "error_std",
    "alpha_tot",
    "n_seeds",
)
#: Columns of :attr:`FrontierResult.frontier` (the lower envelope on a log grid).
ENVELOPE_COLUMNS = (
    "alpha_prune",
    "error",
    "best_keep_fraction",
    "alpha_tot",
    "n_curves",
    "unpruned_error",
    "power_law_error",
)
#: How :func:`frontier_sweep` builds the lower envelope.
ENVELOPE_RULE = "min over f of log-log linear interpolation, within each f's range"


@dataclass(frozen=True, slots=True)
class FrontierParams:
    """The inputs of a :func:`frontier_sweep` run, as used: ``keep_fractions`` sorted and
    including 1.0 (the unpruned reference), ``n_grid`` points of the envelope's log grid."""

    n: int
    alphas: tuple[float, ...]
    keep_fractions: tuple[float, ...]
    theta_deg: float
    seeds: tuple[int, ...]
    n_grid: int
    tol: float
    envelope: str = ENVELOPE_RULE


@dataclass(frozen=True, eq=False, slots=True)
class FrontierResult:
    """The paper's Fig. 1: error vs ``α_prune = f · α_tot`` for several kept fractions.

    Attributes
    ----------
    table : pandas.DataFrame, columns :data:`FRONTIER_COLUMNS`
        Mean and std over seeds of the test error; ``strategy`` is ``keep_hard`` for f < 1 and
        ``unpruned`` for f = 1 (random pruning to ``α_prune`` is distributed exactly as the
        unpruned model at ``α_tot = α_prune``, so these rows are random pruning's curve).
    frontier : pandas.DataFrame, columns :data:`ENVELOPE_COLUMNS`
        At each point of a log grid of ``α_prune``: the lowest error over the kept fractions
        (each fraction's curve interpolated linearly in log-log within its range), the fraction
        achieving it, the unpruned (= random pruning) curve interpolated the same way (NaN
        outside its range) and random pruning's fitted power law ``a · α_prune^-b``;
        ``alpha_tot = α_prune / best_keep_fraction`` is the dataset size the optimum starts
        from (optimal kept fraction vs ``α_tot``), ``n_curves`` how many fractions reach this
        ``α_prune``: near the ends only some do, so read the envelope where all overlap.
    power_law : (a, b)
        Least-squares fit of ``log error = log a - b log α_prune`` to the f = 1 rows.
    params : FrontierParams, the inputs.
    """

    table: pd.DataFrame
    frontier: pd.DataFrame
    power_law: tuple[float, float]
    params: FrontierParams


def frontier_sweep(
    *,
    n: int = 100,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    keep_fractions: Sequence[float] = DEFAULT_KEEP_FRACTIONS,
    theta_deg: float = 0.0,
    seeds: Sequence[int] = (0, 1, 2),
    n_grid: int = 25,
    tol: float = 1e-6,
    progress: ProgressFn | None = None,
) -> FrontierResult:
    """Keep-hard pruning at every (``α_tot``, f) pair: the Pareto frontier of the paper's Fig. 1.

    Sorscher et al. (2022), Fig. 1: with a perfect metric (θ = 0) the best kept fraction falls
    as ``α_prune`` grows, so the lower envelope over f beats random pruning's power law; with
    an imperfect metric (θ > 0) small fractions fail and the gain shrinks.

    Parameters
    ----------
    n : int, default 100
        Input dimension N.
    alphas : sequence of float
        ``α_tot`` grid.
    keep_fractions : sequence of float
        Kept fractions in (0, 1]; 1.0 is added when missing (the random / unpruned reference).
    theta_deg : float
        Probe–teacher angle in degrees, in [0, 90].
    seeds : sequence of int
        Distinct; errors are averaged over them.
    n_grid : int, default 25
        Points of the log grid of ``α_prune`` for the envelope, >= 2.
    tol : float
        KKT tolerance of the max-margin solver.
    progress : callable (fraction, message), optional

    Returns
    -------
    FrontierResult

    Raises
    ------
    ValueError
        Out-of-range inputs, or a grid point keeping no example.
    """
    import pandas as pd

    _check_common(n=n, theta_deg=theta_deg, strategies=("keep_hard",), tol=tol)
    seeds = tuple(int(s) for s in seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds={seeds} should be a non-empty sequence of distinct integers")
    if isinstance(n_grid, bool) or not isinstance(n_grid, int) or n_grid < 2:
        raise ValueError(f"n_grid={n_grid!r} should be an int >= 2")
    alphas = _sorted_grid(alphas, "alphas")
    given = tuple(keep_fractions)
    fractions = _sorted_grid(given if 1.0 in given else (*given, 1.0), "keep_fractions")
    for a in alphas:
        _check_alpha(a)
        for f in fractions:
            check_fraction(f, allow_zero=False)
            _check_kept(_n_total(n, a), f, n=n, alpha_tot=a)
    rows = []
    for i, a in enumerate(alphas):
        for f in fractions:
            errors = [
                _run(_draw(n, a, theta_deg, s), n, a, f, theta_deg, "keep_hard", s, tol).error
                for s in seeds
            ]
            strategy = "unpruned" if f == 1.0 else "keep_hard"
            alpha_prune = kept_count(_n_total(n, a), f) / n
            rows.append((alpha_prune, f, strategy, np.mean(errors), np.std(errors), a, len(seeds)))
        report(progress, (i + 1) / len(alphas), f"frontier: α_tot={a:g}")
    table = pd.DataFrame(rows, columns=list(FRONTIER_COLUMNS))
    table = table.sort_values(["keep_fraction", "alpha_prune"], kind="stable")
    table = table.reset_index(drop=True)
    power_law = _power_law(table[table["strategy"] == "unpruned"])
    params = FrontierParams(
        n=n,
        alphas=alphas,
        keep_fractions=fractions,
        theta_deg=float(theta_deg),
        seeds=seeds,
        n_grid=n_grid,
        tol=tol,
    )
    frontier = _envelope(table, power_law, n_grid)
    return FrontierResult(table, frontier, power_law, params)


def frontier_csv_bytes(result: FrontierResult) -> tuple[bytes, bytes]:
    """The two CSVs ``python -m core theory --sweep frontier`` writes: the per-fraction rows
    (:data:`FRONTIER_COLUMNS`) and the envelope (:data:`ENVELOPE_COLUMNS`, ``<stem>.frontier.csv``)."""
    table = result.table.to_csv(index=False, float_format="%.10g", lineterminator="\n")
    frontier = result.frontier.to_csv(index=False, float_format="%.10g", lineterminator="\n")
    return table.encode(), frontier.encode()


def _power_law(rows: pd.DataFrame) -> tuple[float, float]:
    """(a, b) of ``error = a · α^-b``, least squares in log-log over rows with error > 0."""
    ok = rows[rows["error_mean"] > 0]
    if len(ok) < 2:
        return math.nan, math.nan
    slope, intercept = np.polyfit(np.log(ok["alpha_prune"]), np.log(ok["error_mean"]), 1)
    return float(math.exp(intercept)), float(-slope)


def _envelope(table: pd.DataFrame, power_law: tuple[float, float], n_grid: int) -> pd.DataFrame:
    """Lower envelope over the kept fractions on a log grid of ``α_prune``."""
    import pandas as pd

    low, high = float(table["alpha_prune"].min()), float(table["alpha_prune"].max())
    grid = np.geomspace(low, high, n_grid)
    best = np.full(n_grid, np.inf)
    best_f = np.full(n_grid, np.nan)
    unpruned = np.full(n_grid, np.nan)
    n_curves = np.zeros(n_grid, dtype=np.int64)
    for f, rows in table.groupby("keep_fraction"):
        values = _log_interp(grid, rows["alpha_prune"].to_numpy(), rows["error_mean"].to_numpy())
        n_curves += ~np.isnan(values)
        better = values < best  # NaN (outside this fraction's range) never wins
        best[better] = values[better]
        best_f[better] = float(f)
        if float(f) == 1.0:
            unpruned = values
    a, b = power_law
    return pd.DataFrame(
        {
            "alpha_prune": grid,
            "error": best,
            "best_keep_fraction": best_f,
            "alpha_tot": grid / best_f,
            "n_curves": n_curves,
            "unpruned_error": unpruned,
            "power_law_error": a * grid**-b,
        },
        columns=list(ENVELOPE_COLUMNS),
    )


def _log_interp(grid: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Linear interpolation in log-log of the points (x, y) at ``grid``; NaN outside [x0, x1]."""
    inside = (grid >= x.min() * (1 - 1e-12)) & (grid <= x.max() * (1 + 1e-12))
    out = np.full(grid.shape[0], np.nan)
    log_y = np.log(np.maximum(y, 1e-12))
    out[inside] = np.exp(np.interp(np.log(grid[inside]), np.log(x), log_y))
    return out
