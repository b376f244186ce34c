"""Server-side latency of one keep-fraction slider move on the Prune & export page.

Times the per-move work the page does once scores are cached, on 100,000 synthetic examples
(d=64, 10 classes): ``select_kept`` + kept mask + the two figures (score histogram with cut line,
per-class counts) serialised as ``st.vega_lite_chart`` would + the cut galleries' rows. The
kept-index CSV and manifest are built only when a download button is clicked (deferred), so they
are timed separately. Prints median and p90 over 20 moves; the target is < 300 ms.

    python bench/bench_slider.py [--n 100000] [--moves 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamlit.dataframe_util import convert_pandas_df_to_arrow_bytes as arrow_bytes

from core.analysis.inspection import cut_neighbours
from core.export import build_manifest, kept_csv_bytes, manifest_bytes
from core.io.data import make_dataset
from core.prune.select import select_kept
from core.scores.metrics import compute_scores
from ui import charts


def one_move(dataset, scores, fraction: float) -> int:
    selection = select_kept(scores.values, fraction, strategy="keep_hard", seed=0)
    kept_mask = selection.mask()
    cut = cut_neighbours(scores.values, kept_mask, strategy="keep_hard")
    hist = charts.score_histogram(scores.values, kept_mask=kept_mask, threshold=cut.threshold)
    counts = charts.group_counts_chart(
        dataset.labels, list(dataset.class_names), kept_mask, group_title="class"
    )
    # What st.vega_lite_chart sends: the spec as JSON and the table as Arrow.
    payload = [
        json.dumps(chart.spec).encode() + arrow_bytes(chart.data) for chart in (hist, counts)
    ]
    return sum(map(len, payload)) + len(cut.just_kept) + len(cut.just_pruned)


def download_click(dataset, scores, fraction: float) -> int:
    """What a click on the download buttons builds (deferred: not part of a slider move)."""
    selection = select_kept(scores.values, fraction, strategy="keep_hard", seed=0)
    csv = kept_csv_bytes(dataset, scores, selection)
    manifest = manifest_bytes(build_manifest(dataset, scores, selection, csv_bytes=csv))
    return len(csv) + len(manifest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--moves", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    labels = np.arange(args.n) % 10
    embeddings = rng.normal(size=(10, 64))[labels] * 3 + rng.normal(size=(args.n, 64))
    dataset = make_dataset(embeddings, labels=labels, name="bench")
    started = time.perf_counter()
    scores = compute_scores(dataset.embeddings, "ssp", k=10, labels=dataset.labels, seed=0)
    print(f"scores precomputed once in {time.perf_counter() - started:.1f} s (cached in the app)")
    one_move(dataset, scores, 0.5)  # warm-up: imports, plotly validators
    fractions = np.linspace(0.05, 0.95, args.moves)
    times = []
    for fraction in fractions:
        started = time.perf_counter()
        one_move(dataset, scores, float(fraction))
        times.append((time.perf_counter() - started) * 1000)
    p90 = float(np.percentile(times, 90))
    print(
        f"slider move, n={args.n:,}: median {statistics.median(times):.0f} ms, p90 {p90:.0f} ms "
        f"over {args.moves} moves (target < 300 ms)"
    )
    started = time.perf_counter()
    download_click(dataset, scores, 0.7)
    print(
        f"download click (CSV + manifest at f=0.7, built on click): "
        f"{(time.perf_counter() - started) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
