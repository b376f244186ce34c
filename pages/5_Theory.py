"""Theory: the teacher–student perceptron of Sorscher et al. (2022), simulated exactly."""

from __future__ import annotations

import streamlit as st

from core.analysis.theory import theory_claims, theory_csv_bytes, theory_summary
from ui import cache, charts, state
from ui.errors import user_errors

PAPER = (
    "Sorscher, Geirhos, Shekhar, Ganguli & Morcos, *Beyond neural scaling laws: beating power "
    "law scaling via data pruning*, NeurIPS 2022 (arXiv:2206.14486), section 2 and Fig. 1"
)


def verdict(holds: bool) -> str:
    return (
        ":green[**✓ shown in this run**]"
        if holds
        else ":orange[**✗ not shown with these settings**]"
    )


st.set_page_config(page_title="Theory · prunescope", layout="wide")
state.init_state()
st.title("Theory: when to keep hard or easy examples")
st.markdown(
    "A solvable model of data pruning from "
    f"{PAPER}. A random teacher T labels Gaussian inputs x ∈ ℝᴺ by sign(T·x); P = α_tot·N "
    "examples are drawn. A *probe* J at angle θ to the teacher ranks them by margin |J·x| "
    "(small margin = hard), a fraction f is kept, and a max-margin student is trained on the "
    "kept examples only. Lower test error is better."
)
with st.expander("How it is computed"):
    st.markdown(
        "Inputs x ~ N(0, I_N), labels sign(T·x). The student is the hard-margin SVM without "
        "bias, solved exactly (Lawson–Hanson NNLS) and KKT-checked. Its test error is exact: "
        "ε = arccos(R)/π with R = cos(student, teacher). θ = 0 is a perfect pruning metric; "
        "θ > 0 models a realistic, imperfect one. Bars: ± std over seeds."
    )

top = st.columns(3)
# Defaults in ui.state (θ = 20°: an imperfect metric, so all three of the paper's claims show).
n = top[0].slider("Dimension N", 20, 300, step=10, key="theory_n")
theta = top[1].slider("Probe angle θ (degrees; 0 = perfect metric)", 0, 60, step=5,
                      key="theory_theta")  # fmt: skip
n_seeds = top[2].slider("Seeds", 1, 10, key="theory_seeds")
claims = st.container()
plot_alpha, plot_keep = st.columns(2)
keep = plot_alpha.slider("Kept fraction f (left plot)", 0.05, 1.0, step=0.05, key="theory_keep")
alpha_tot = plot_keep.select_slider(
    "α_tot = P/N, dataset size before pruning (right plot)",
    (1.0, 2.0, 4.0, 8.0, 16.0, 32.0),
    key="theory_alpha",
)

progress = cache.LiveProgress("Simulating the teacher–student model")
with user_errors():
    result = cache.theory_cached(
        int(n), float(alpha_tot), float(keep), float(theta), int(n_seeds), _progress=progress
    )
progress.done()
summary = theory_summary(result)

title = f"Error vs dataset size, keeping f = {keep:.2f} (θ = {theta}°)"
figure = charts.theory_figure(
    summary, sweep="alpha", title=title, marker=alpha_tot, marker_text="right plot"
)
plot_alpha.plotly_chart(figure, key="alpha")
title = f"Error vs kept fraction at α_tot = {alpha_tot:g} (θ = {theta}°)"
figure = charts.theory_figure(
    summary, sweep="keep", title=title, marker=keep, marker_text="left plot"
)
plot_keep.plotly_chart(figure, key="keep")

c = theory_claims(summary, theta_deg=float(theta))
if c.imperfect_holds is not None:
    imperfect = (
        f"{verdict(c.imperfect_holds)}: at the smallest f, keep hard ε = {c.hard_few:.3f} vs "
        f"random ε = {c.random_few:.3f} (right plot)."
    )
else:
    imperfect = "set θ > 0 (try 20°) to test it; θ = 0 is a perfect metric."
same = " — f = 1 keeps everything, so the strategies coincide: pick f < 1" if keep >= 1 else ""
claims.markdown(
    f"**The paper's claims** (with f = {keep:.2f} kept in the left plot{same}):\n"
    f"1. **Scarce data: keep easy examples.** {verdict(c.scarce_holds)}: at the "
    f"smallest α_tot, keep easy ε = {c.easy_small:.3f} vs keep hard ε = {c.hard_small:.3f}.\n"
    f"2. **Abundant data: keep hard examples.** {verdict(c.abundant_holds)}: at the "
    f"largest α_tot, keep hard ε = {c.hard_large:.3f} vs keep easy ε = {c.easy_large:.3f}.\n"
    "3. **An imperfect metric (θ > 0) makes aggressive hard pruning worse than random**: "
    f"{imperfect}"
)

if result.all_converged:
    st.caption("Max-margin fits: all converged (every kept example has y·(w·x) ≥ 1 − 1e-6).")
else:
    st.warning("Some max-margin fits failed their KKT check (column `converged` in the CSV).")
with st.expander("Numbers (mean ± std over seeds)"):
    st.dataframe(summary, hide_index=True, key="theory_table")
st.download_button("Download CSV", theory_csv_bytes(result), "theory.csv", key="theory_csv")

st.subheader("Fig. 1: beating the power law with the right kept fraction")
st.markdown(
    "Every (α_tot, f) pair of the grids above, keeping the hardest examples, plotted against "
    "α_prune = f · α_tot, the data left after pruning. The black line is the lower envelope "
    "over f (the Pareto frontier); the dashed line is random pruning's power law. With a "
    "perfect metric (θ = 0) the best f falls as α_prune grows and the frontier bends below the "
    "power law; raise θ to see an imperfect metric flatten it."
)
if st.toggle("Compute the frontier (36 grid points × seeds)", key="theory_frontier"):
    progress = cache.LiveProgress("Sweeping kept fractions × dataset sizes")
    with user_errors():
        front = cache.frontier_cached(int(n), float(theta), int(n_seeds), _progress=progress)
    progress.done()
    title = f"Error vs α_prune, one curve per kept fraction (θ = {theta}°)"
    st.plotly_chart(charts.frontier_figure(front.table, front.frontier, title=title), key="front")
    a, b = front.power_law
    st.caption(
        f"Random pruning's fit: ε ≈ {a:.3g} · α_prune^-{b:.3g}. Near the ends of the α_prune "
        "range only some fractions have points (column n_curves)."
    )
    shown = front.frontier.drop(columns=["power_law_error"])
    st.dataframe(shown, hide_index=True, key="frontier_table")
