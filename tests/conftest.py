"""Suite-wide pytest settings: in CI a skipped test is a failure, never a silent pass."""

from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run in CI when any test was skipped (every test must really run there)."""
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
