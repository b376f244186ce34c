"""Check an exported kept CSV against its manifest in the app (``core.export_verify``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from core.export_verify import VerifyReport, manifest_path_for, verify_export


def verify_uploaded(csv_name: str, csv_data: bytes, manifest_data: bytes) -> VerifyReport:
    """``core.export_verify.verify_export`` of uploaded bytes, written side by side to a temp dir.

    Raises
    ------
    ValueError
        When the manifest is not a prunescope manifest.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(csv_name).name
        path.write_bytes(csv_data)
        manifest_path_for(path).write_bytes(manifest_data)
        return verify_export(path)


def verdict(report: VerifyReport) -> str:
    """One line: pass with what was checked, or fail with the first reason."""
    if report.ok:
        return f"Pass: {', '.join(report.checks)} match the manifest."
    more = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
    return f"Fail: {report.problems[0]}{more}"


def render_verify_panel() -> None:
    """Two uploaders (kept CSV, manifest) and the verdict, as ``python -m core verify``."""
    with st.expander("Verify an export (kept CSV + manifest)"):
        st.caption("Same check as `python -m core verify kept.csv`: rows, order, size and SHA-256.")
        csv_file = st.file_uploader("Kept CSV file to check", type=["csv"], key="verify_csv")
        manifest = st.file_uploader(
            "Its manifest (.manifest.json)", type=["json"], key="verify_manifest"
        )
        if csv_file is None or manifest is None:
            return
        try:
            report = verify_uploaded(csv_file.name, csv_file.getvalue(), manifest.getvalue())
        except (ValueError, OSError) as exc:
            st.error(f"Fail: {exc}")
            return
        (st.success if report.ok else st.error)(verdict(report))
