"""What the browser tests share: Debian's chromium, its flags, and a `streamlit run` on loopback."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IDLE = '[data-test-script-state="notRunning"]'
#: JS: the "Kept" metric's text on Prune & export (the count kept at the slider's position).
KEPT_TEXT = """() => {
  for (const metric of document.querySelectorAll('[data-testid="stMetric"]')) {
    if (metric.innerText.startsWith('Kept')) {
      return metric.querySelector('[data-testid="stMetricValue"]').innerText;
    }
  }
  return null;
}"""


def chromium() -> str:
    """Debian's chromium (never Playwright's download); skips locally without it, fails on CI."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium); required on CI")
        pytest.skip("chromium is not installed")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def streamlit_server(
    env: Mapping[str, str], extra_args: Sequence[str] = ()
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``streamlit run app.py`` on a free loopback port; yields (url, process) once healthy."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true", *extra_args]
    process = subprocess.Popen(
        command, cwd=ROOT, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                stderr = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"streamlit did not start: {stderr[-2000:]}")
            time.sleep(0.25)  # polling the health endpoint, not waiting for the app
    try:
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=20)
