"""Benchmark: the Map's first render and the reruns after it, on a real server, in Chromium.

Usage: ``python bench/bench_map_server.py [--sizes 10000 100000] [--moves 10]
[--cache-dir DIR] [--skip-warm-check]``.

For each size a float32 Gaussian mixture (n x 64, 10 components, the component as the label) is
written as ``emb.npy`` + ``meta.csv`` (id, label) into a temporary folder, which is the server's
``PRUNESCOPE_DATA_DIR``. The numba cache is warmed first: ``warm_up_umap()`` runs twice in a
separate process with the same ``PRUNESCOPE_CACHE_DIR`` (the first compiles, or loads an
existing disk cache; the second shows what loading alone costs). Every server is then a fresh
``streamlit run app.py`` (per-dataset results not cached yet) whose own warm-up thread loads
those kernels from disk, as a restarted server does. Debian's chromium (``tests/e2e/serving.py``)
drives it:

1. *landing*: ``/`` on the default sample; the paths typed into the "Files on this machine"
   tab; then a wait until the server's CPU is quiet (its warm-up thread has loaded the kernels:
   a warm server); then "Open files" (the landing page computes the scores and its summary).
2. *Map after landing*: the sidebar link to the Map, until the UMAP map (not the PCA preview) is
   drawn with every point and the script is idle: the projection is the only new work.
3. *Map reruns*: "Colour by" switched between "Kept / pruned" and "Cluster": each rerun rebuilds
   the figure; timed from the click until the new figure's title is drawn and the script is idle.
   (The Map has no keep-fraction slider; a rerun there costs what any rerun of the Map costs.)
4. *Prune slider*: the Prune & export page, then the keep-fraction slider moved with the arrow
   keys, each timed from the key press until the "Kept" count changed and the script is idle.
5. *Map by deep link*: a second fresh server (a restart), ``/Map?dataset=upload:<key>`` in a new
   session: the scores are computed again, the UMAP map of step 2 is read from the local store.

The local store (``$PRUNESCOPE_CACHE_DIR/store``) is emptied before each size, so step 2 always
fits; the numba cache beside it is kept.

Reruns also report the bytes the browser received over the websocket (the figure re-sent).
The browser renders on the same CPUs as the server, so its drawing time is in every number.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.serving import (  # noqa: E402
    CHROMIUM_ARGS,
    IDLE,
    KEPT_TEXT,
    chromium,
    streamlit_server,
)

#: Generous: a first UMAP map on two busy cores, and plenty of slack for a loaded machine.
LOAD_TIMEOUT_MS = int(os.environ.get("BENCH_LOAD_TIMEOUT_MS", 600_000))
MOVE_TIMEOUT_MS = int(os.environ.get("BENCH_MOVE_TIMEOUT_MS", 120_000))
#: The Map's figure titles (``ui.charts.map_figure``) for the colour-by choices switched below.
TITLES = {
    "Kept / pruned": "Embedding map: kept vs pruned at the current setting",
    "Cluster": "Embedding map coloured by cluster",
}
#: The number of example markers drawn on the Map (cluster centres carry row -1), or null.
MAP_POINTS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullData) return null;
  let n = 0;
  for (const trace of gd._fullData) {
    if (trace.customdata && trace.customdata.length && trace.customdata[0][0] >= 0) n += trace.x.length;
  }
  return n;
}"""
#: True once the Map shows ``title`` and the script is idle.
MAP_SHOWS = """(title) => {
  const gd = document.querySelector('.js-plotly-plot');
  return !!(document.querySelector('[data-test-script-state="notRunning"]') && gd
    && gd._fullLayout && gd._fullLayout.title
    && String(gd._fullLayout.title.text).includes(title));  // the theme adds <b> tags
}"""
KEPT_CHANGED = (
    "(before) => !!document.querySelector('[data-test-script-state=\"notRunning\"]') && ("
    + KEPT_TEXT
    + ")() !== before"
)


def make_files(folder: Path, n: int, *, d: int = 64, n_components: int = 10, seed: int = 0) -> None:
    """``emb.npy`` (n, d) float32 Gaussian mixture and ``meta.csv`` (id, label = component)."""
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((n_components, d)).astype(np.float32)
    spreads = rng.uniform(0.5, 1.0, n_components).astype(np.float32)
    members = rng.choice(n_components, size=n, p=rng.dirichlet(np.full(n_components, 5.0)))
    noise = rng.standard_normal((n, d), dtype=np.float32)
    embeddings = means[members] + spreads[members, None] * noise
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "emb.npy", embeddings.astype(np.float32))
    lines = ["id,label", *(f"ex{i:07d},c{m}" for i, m in enumerate(members))]
    (folder / "meta.csv").write_text("\n".join(lines) + "\n")


def warm_numba(env: dict[str, str]) -> list[float]:
    """Run ``warm_up_umap()`` in two fresh processes, one after the other; seconds each took.

    The first compiles the kernels into the disk cache (or loads them when the cache is already
    warm); the second loads them, as a restarted server's warm-up thread does.
    """
    code = (
        "import time\n"
        "t = time.perf_counter()\n"
        "from core.analysis.projection import warm_up_umap\n"
        "warm_up_umap()\n"
        "print(time.perf_counter() - t)\n"
    )
    command = [sys.executable, "-c", code]
    return [
        float(subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True,
                             text=True).stdout.split()[-1])
        for _ in range(2)
    ]  # fmt: skip


@dataclass
class Received:
    """Bytes of the websocket frames the page received (counted since the last ``take``)."""

    total: int = 0
    _mark: int = field(default=0, repr=False)

    def watch(self, page) -> None:  # type: ignore[no-untyped-def]
        def on_socket(ws) -> None:  # type: ignore[no-untyped-def]
            ws.on("framereceived", lambda payload: self.add(len(payload)))

        page.on("websocket", on_socket)

    def add(self, size: int) -> None:
        self.total += size

    def take(self) -> int:
        size, self._mark = self.total - self._mark, self.total
        return size


class _Printed(dict):  # type: ignore[type-arg]
    """A dict that prints each entry as it is set: a long run shows where it is."""

    def __setitem__(self, key, value) -> None:  # type: ignore[no-untyped-def]
        print(f"  {key}: {value if isinstance(value, list) else f'{value:.1f} s'}", flush=True)
        super().__setitem__(key, value)


@dataclass
class Result:
    n: int
    steps: dict[str, float] = field(default_factory=_Printed)  # seconds
    moves: dict[str, list[float]] = field(default_factory=_Printed)  # ms
    sizes: dict[str, list[int]] = field(default_factory=dict)  # bytes per move


def _idle(page, timeout: int = LOAD_TIMEOUT_MS) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector(IDLE, timeout=timeout)


def _wait_umap_map(page, n: int) -> None:  # type: ignore[no-untyped-def]
    """The UMAP map's caption (never the PCA preview's), its markers drawn, the script idle.

    Every point is a marker up to ``ui.state.MAX_SCATTER_POINTS``; above, a raster of every point
    lies under ``MAP_OVERLAY_POINTS`` markers.
    """
    from ui.state import MAP_OVERLAY_POINTS, MAX_SCATTER_POINTS

    markers = n if n <= MAX_SCATTER_POINTS else MAP_OVERLAY_POINTS
    page.get_by_text("UMAP (umap-learn", exact=False).first.wait_for(timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function(f"() => ({MAP_POINTS})() === {markers}", timeout=LOAD_TIMEOUT_MS)
    _idle(page)


def _errors(page) -> int:  # type: ignore[no-untyped-def]
    return (
        page.get_by_test_id("stException").count()
        + page.get_by_test_id("stAlertContentError").count()
    )


def _in_local_files_tab(page, action) -> None:  # type: ignore[no-untyped-def]
    """Run ``action(page)`` in the "Files on this machine" tab, opening it again when a rerun
    collapsed the upload expander in between (retried a few times, short timeouts)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(10):
        try:
            if not page.get_by_label("Embeddings path", exact=True).is_visible():
                page.get_by_text("Upload your own data", exact=False).first.click(timeout=5000)
                page.get_by_role("tab", name="Files on this machine").click(timeout=5000)
            action(page)
            return
        except PlaywrightTimeout:
            _idle(page)
    raise RuntimeError("could not use the 'Files on this machine' tab")


def _fill_local_path(page, label: str, value: str) -> None:  # type: ignore[no-untyped-def]
    def fill(page) -> None:  # type: ignore[no-untyped-def]
        field = page.get_by_label(label, exact=True)
        field.fill(value, timeout=5000)
        field.press("Enter", timeout=5000)  # commits the value: a rerun

    _in_local_files_tab(page, fill)
    _idle(page)


def wait_server_idle(pid: int, *, quiet_s: float = 2.0, limit_s: float = 300.0) -> float:
    """Seconds until the server process used under 10% of a CPU for ``quiet_s`` in a row.

    The server compiles UMAP's numba kernels in a background thread from its first page run
    (``ui.cache.start_umap_warmup``); a warm server is one whose warm-up has finished.
    """
    import psutil

    process = psutil.Process(pid)
    started = time.perf_counter()
    quiet = 0.0
    while quiet < quiet_s and time.perf_counter() - started < limit_s:
        before = process.cpu_times()
        time.sleep(0.5)
        after = process.cpu_times()
        busy = (after.user + after.system - before.user - before.system) / 0.5
        quiet = quiet + 0.5 if busy < 0.1 else 0.0
    return time.perf_counter() - started - quiet


def _time_moves(page, received: Received, moves: int, move, result: Result, name: str) -> None:  # type: ignore[no-untyped-def]
    """Run ``move(page, before)`` ``moves`` times; record each one's milliseconds (browser clock,
    from just before the action until its wait returned) and the bytes the browser received for
    it. ``before`` is the "Kept" count read ahead of the clock (the slider waits for a change)."""
    received.take()
    times, sizes = [], []
    for _ in range(moves):
        before = page.evaluate(KEPT_TEXT)
        pressed = page.evaluate("() => performance.now()")
        move(page, before)
        times.append(page.evaluate("() => performance.now()") - pressed)
        sizes.append(received.take())
    result.moves[name] = times
    result.sizes[name] = sizes


def _sidebar_link(page, label: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()


def session_after_landing(browser, url: str, pid: int, n: int, moves: int, result: Result) -> None:  # type: ignore[no-untyped-def]
    """Steps 1-4 of the module docstring, in one browser session."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(MOVE_TIMEOUT_MS)
    page = context.new_page()
    received = Received()
    received.watch(page)
    try:
        started = time.perf_counter()
        page.goto(url)
        page.get_by_text("Upload your own data", exact=False).first.wait_for(
            timeout=LOAD_TIMEOUT_MS
        )
        _idle(page)
        result.steps["landing page (default sample)"] = time.perf_counter() - started

        _fill_local_path(page, "Embeddings path", "emb.npy")
        _fill_local_path(page, "Metadata path, optional", "meta.csv")
        result.steps["server warm-up thread (background, waited for)"] = wait_server_idle(pid)
        started = time.perf_counter()
        _in_local_files_tab(
            page, lambda page: page.get_by_role("button", name="Open files").click(timeout=5000)
        )
        page.get_by_test_id("stSidebar").get_by_text(f"{n:,} examples", exact=False).wait_for(
            timeout=LOAD_TIMEOUT_MS
        )
        page.get_by_text("What prunescope finds here").first.wait_for(timeout=LOAD_TIMEOUT_MS)
        page.get_by_text("k-NN label accuracy").first.wait_for(timeout=LOAD_TIMEOUT_MS)
        _idle(page)
        result.steps["open files (landing: scores, summary)"] = time.perf_counter() - started

        started = time.perf_counter()
        _sidebar_link(page, "Map")
        _wait_umap_map(page, n)
        result.steps["Map first render after landing (UMAP)"] = time.perf_counter() - started

        choices = ["Kept / pruned" if move % 2 == 0 else "Cluster" for move in range(moves)]
        pending = iter(choices)

        def colour(page, _before) -> None:  # type: ignore[no-untyped-def]
            choice = next(pending)
            page.get_by_test_id("stRadio").get_by_text(choice, exact=True).click()
            page.wait_for_function(MAP_SHOWS, arg=TITLES[choice], timeout=MOVE_TIMEOUT_MS)

        _time_moves(page, received, moves, colour, result, "Map rerun (colour by kept <-> cluster)")
        choice = choices[-1] if choices else ""  # no move: any title (coloured by score)

        started = time.perf_counter()
        _sidebar_link(page, "Prune and export")
        page.get_by_text("Kept indices (CSV)").first.wait_for(timeout=LOAD_TIMEOUT_MS)
        _idle(page)
        result.steps["Prune & export first render"] = time.perf_counter() - started
        thumb = page.get_by_role("slider", name="Keep fraction")

        def slide(page, before) -> None:  # type: ignore[no-untyped-def]
            thumb.press("ArrowLeft")
            page.wait_for_function(KEPT_CHANGED, arg=before, timeout=MOVE_TIMEOUT_MS)

        _time_moves(page, received, moves, slide, result, "Prune & export slider move")

        # The same slider's effect on the Map: the kept colours at the new fraction.
        started = time.perf_counter()
        _sidebar_link(page, "Map")
        # Coloured as the last move left it (an odd number of moves ends on "Kept / pruned").
        page.wait_for_function(MAP_SHOWS, arg=TITLES.get(choice, ""), timeout=LOAD_TIMEOUT_MS)
        result.steps["Map again (cached projection)"] = time.perf_counter() - started
        if _errors(page):
            raise RuntimeError(f"the app showed {_errors(page)} error boxes at n={n}")
    except Exception:
        print(
            page.evaluate(
                "() => [...document.querySelectorAll('.js-plotly-plot')].map(g => [g._fullLayout && "
                "JSON.stringify(g._fullLayout.title), g.layout && JSON.stringify(g.layout.title)])"
            ),
            page.evaluate(
                "() => document.querySelector('[data-test-script-state]').getAttribute('data-test-script-state')"
            ),
        )
        page.screenshot(
            path=str(Path(tempfile.gettempdir()) / "bench-map-failure.png"), full_page=True
        )
        raise
    finally:
        context.close()


def session_deep_link(browser, url: str, dataset_key: str, n: int, result: Result) -> None:  # type: ignore[no-untyped-def]
    """Step 5: a new session opens the Map of the stored files directly."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(f"{url}/Map?dataset={dataset_key}")
        _wait_umap_map(page, n)
        result.steps["Map by deep link, restarted server (scores; stored UMAP map)"] = (
            time.perf_counter() - started
        )
        if _errors(page):
            raise RuntimeError(f"the app showed {_errors(page)} error boxes at n={n}")
    finally:
        context.close()


def dataset_key(folder: Path) -> str:
    """The key ``ui.uploads.dataset_from_local_files`` gives these files (their SHA-256s)."""
    import hashlib

    digest = hashlib.sha256()
    for name in ("emb.npy", "meta.csv"):
        data = hashlib.sha256((folder / name).read_bytes()).hexdigest().encode()
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return f"upload:{digest.hexdigest()}"


def run_size(browser, n: int, moves: int, base_env: dict[str, str], work: Path) -> Result:  # type: ignore[no-untyped-def]
    folder = work / f"data-{n}"
    make_files(folder, n)
    env = dict(base_env, PRUNESCOPE_DATA_DIR=str(folder))
    # Keep the numba cache, not the store: a UMAP map stored by an earlier run of this bench
    # (same data, same seed) would be read back instead of fitted in step 2.
    shutil.rmtree(Path(base_env["PRUNESCOPE_CACHE_DIR"]) / "store", ignore_errors=True)
    result = Result(n)
    with streamlit_server(env) as (url, process):
        session_after_landing(browser, url, process.pid, n, moves, result)
    with streamlit_server(env) as (url, _process):
        session_deep_link(browser, url, dataset_key(folder), n, result)
    return result


def print_table(results: list[Result]) -> None:
    width = max(len(name) for r in results for name in [*r.steps, *r.moves]) + 2
    print(f"\n{'n':>9}  {'step':<{width}}{'time':>22}  {'received per move':>18}")
    for result in results:
        for name, seconds in result.steps.items():
            print(f"{result.n:>9,}  {name:<{width}}{seconds:>20.1f} s")
        for name, times in result.moves.items():
            sizes = result.sizes[name]
            text = f"median {statistics.median(times):5.0f} ms, max {max(times):5.0f} ms"
            kib = f"{statistics.median(sizes) / 1024:,.0f} KiB"
            print(f"{result.n:>9,}  {name:<{width}}{text:>22}  {kib:>18}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "prunescope-bench-map-cache",
        help="PRUNESCOPE_CACHE_DIR of the servers (kept between runs: the numba cache)",
    )
    parser.add_argument("--skip-warm-check", action="store_true", help="cache known to be warm")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    env = {k: v for k, v in os.environ.items() if not k.startswith("PRUNESCOPE_")}
    env["PRUNESCOPE_CACHE_DIR"] = str(args.cache_dir)
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at start")
    if not args.skip_warm_check:
        first, second = warm_numba(env)
        print(
            f"numba cache {args.cache_dir / 'numba'}: warm_up_umap() in a fresh process "
            f"{first:.1f} s, then {second:.1f} s in another (loading the disk cache)"
        )
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="prunescope-bench-map-") as tmp,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            for n in args.sizes:
                results.append(run_size(browser, n, args.moves, env, Path(tmp)))
                print(f"n={n:,} done; load average {os.getloadavg()[0]:.2f}", flush=True)
        finally:
            browser.close()
    print_table(results)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
