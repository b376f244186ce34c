"""Load test: 10 concurrent headless Chromium sessions move the Prune & export slider.

Starts ``streamlit run app.py`` on a free loopback port, warms it with one session, then opens
10 sessions at once (one browser, one context each). Every session waits for the page to be idle
(``data-test-script-state="notRunning"``) and moves the keep-fraction slider a few times; a move
is timed from the key press until the page is idle again showing the new kept count. Counts exception boxes and error
alerts, and samples the server's resident memory: at the starting point (after the warm-up
session has loaded the page once), at its peak, and after every session has closed and the
server has had a few seconds to drop them. Prints the numbers; bounded to about a minute.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.serving import CHROMIUM_ARGS, IDLE, KEPT_TEXT, streamlit_server
from tests.e2e.serving import chromium as _chromium

N_SESSIONS = 10
N_MOVES = 3
#: Loading the page, with 10 sessions starting at once on two busy cores, took up to 50 s.
LOAD_TIMEOUT_MS = 120_000
#: Each slider move may take this long, and a whole session this long.
MOVE_TIMEOUT_MS = 60_000
SESSION_TIMEOUT_S = 150
#: Memory after the sessions close may exceed the starting point by this fraction.
MEMORY_SLACK = 0.15
#: Seconds a disconnected session is kept for reconnection (Streamlit's default is 120); short
#: here so the test sees the sessions' state released.
SESSION_TTL_S = 2
SETTLE_S = 5

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


#: The page's clock (ms) once the kept count differs from ``before`` and the rerun has finished.
MOVE_DONE = (
    """(before) => {
  const idle = document.querySelector('[data-test-script-state="notRunning"]');
  return idle && ("""
    + KEPT_TEXT
    + """)() !== before ? performance.now() : null;
}"""
)


def rss_bytes(pid: int) -> int:
    """Resident memory of a process: psutil when installed, else /proc/PID/status."""
    try:
        import psutil
    except ImportError:
        status = Path(f"/proc/{pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024
    return int(psutil.Process(pid).memory_info().rss)


@dataclass
class Memory:
    """Samples a process's RSS every 0.2 s in a thread; ``peak`` is the largest seen."""

    pid: int
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> int:
        value = rss_bytes(self.pid)
        self.peak = max(self.peak, value)
        return value

    def run(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    def stop(self) -> None:
        self._stop.set()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    env = dict(os.environ, PRUNESCOPE_PROJECTION="pca")
    env["PRUNESCOPE_CACHE_DIR"] = str(tmp_path_factory.mktemp("load-cache"))  # an empty store
    extra = ["--server.disconnectedSessionTTL", str(SESSION_TTL_S)]
    with streamlit_server(env, extra) as (url, process):
        yield url, process.pid


async def _errors(page) -> int:  # type: ignore[no-untyped-def]
    exceptions = await page.get_by_test_id("stException").count()
    return exceptions + await page.get_by_test_id("stAlertContentError").count()


async def _session(browser, url: str, n_moves: int) -> tuple[list[float], int]:  # type: ignore[no-untyped-def]
    """Open Prune & export, move the slider ``n_moves`` times; (move times in s, errors)."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(MOVE_TIMEOUT_MS)  # a press may wait for a busy page too
    try:
        page = await context.new_page()
        await page.goto(f"{url}/Prune_and_export")
        await page.locator('text="Kept indices (CSV)"').first.wait_for(timeout=LOAD_TIMEOUT_MS)
        await page.wait_for_selector(IDLE, timeout=LOAD_TIMEOUT_MS)
        thumb = page.get_by_role("slider", name="Keep fraction")
        times = []
        for move in range(n_moves):
            before = await page.evaluate(KEPT_TEXT)
            pressed = await page.evaluate("() => performance.now()")
            await thumb.press("ArrowLeft" if move % 2 == 0 else "ArrowRight")
            done = await page.wait_for_function(MOVE_DONE, arg=before, timeout=MOVE_TIMEOUT_MS)
            times.append((await done.json_value() - pressed) / 1000.0)
        return times, await _errors(page)
    finally:
        await context.close()


async def _load(url: str, memory: Memory) -> tuple[int, list[float], int]:
    """Warm up with one session, then run :data:`N_SESSIONS` at once.

    Returns the starting RSS, every slider move's time and the number of errors.
    """
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            _, warm_errors = await _session(browser, url, 1)
            start = memory.sample()
            runs = [
                asyncio.wait_for(_session(browser, url, N_MOVES), SESSION_TIMEOUT_S)
                for _ in range(N_SESSIONS)
            ]
            results = await asyncio.gather(*runs)
        finally:
            await browser.close()
    times = [t for session_times, _ in results for t in session_times]
    return start, times, warm_errors + sum(errors for _, errors in results)


def test_ten_sessions_move_the_slider(server: tuple[str, int]) -> None:
    url, pid = server
    memory = Memory(pid)
    sampler = threading.Thread(target=memory.run, daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        start, times, errors = asyncio.run(_load(url, memory))
    finally:
        memory.stop()
        sampler.join()
    time.sleep(SETTLE_S)  # the disconnected sessions outlive their TTL (released lazily)
    # A request makes Streamlit drop the expired sessions from its store.
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5):
        pass
    after = rss_bytes(pid)
    mib = 1024**2
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20, method="inclusive")[-1] if len(times) >= 2 else times[0]
    print(
        f"\nload: {N_SESSIONS} sessions x {N_MOVES} slider moves in "
        f"{time.monotonic() - started:.1f} s; errors {errors}; "
        f"slider move p50 {p50:.2f} s, p95 {p95:.2f} s, max {max(times):.2f} s\n"
        f"server RSS: start {start / mib:.0f} MiB, peak {memory.peak / mib:.0f} MiB, "
        f"after close + {SETTLE_S} s {after / mib:.0f} MiB ({after / start - 1:+.1%})"
    )
    assert errors == 0
    assert len(times) == N_SESSIONS * N_MOVES
    assert after <= (1 + MEMORY_SLACK) * start, (
        f"RSS after the sessions closed is {after / mib:.0f} MiB, more than "
        f"{1 + MEMORY_SLACK:.2f} x the starting {start / mib:.0f} MiB"
    )
