"""Suite-wide pytest settings: in CI a skipped test is a failure, never a silent pass; the
local cache (PRUNESCOPE_CACHE_DIR) points at a scratch folder.

OpenMP threads (faiss, torch) wait passively: on a machine busy with other work, threads spinning
at every barrier made the k-means tests several times slower (measured: 78 s -> 22 s for
test_semdedup.py + test_distributed.py). Waiting does not change any result. Set here, before any
test module loads an OpenMP runtime.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# The app stores uploads, embeddings and pins under $PRUNESCOPE_CACHE_DIR (core.io.store): tests
# never touch the real ~/.cache. One scratch folder per run (tests that need an empty store set
# their own); removed at the end.
_TEST_CACHE_DIR = tempfile.mkdtemp(prefix="prunescope-test-cache-")
os.environ["PRUNESCOPE_CACHE_DIR"] = _TEST_CACHE_DIR


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run in CI when any test was skipped (every test must really run there)."""
    shutil.rmtree(_TEST_CACHE_DIR, ignore_errors=True)
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and session.exitstatus == 0:
        names = ", ".join(sorted({r.nodeid for r in skipped})[:5])
        reporter.write_line(
            f"CI: {len(skipped)} test(s) skipped ({names}); failing the run.", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
