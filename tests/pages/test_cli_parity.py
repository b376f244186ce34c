"""The app's downloads equal what ``python -m core prune`` writes for a shipped sample.

Same CSV bytes, and the same manifest except ``created_at`` (so the same ``content_sha256``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.cli import main as cli_main
from tests.pages.conftest import ROOT, page_path
from tests.pages.test_prune_page import _record_downloads

SAMPLE = "digits"
DATASET_KEY = f"sample:{SAMPLE}:ssl"


@pytest.mark.parametrize(
    ("keep", "balance_by", "pins_keep", "pins_drop"),
    [(0.3, None, (), ()), (0.7, "label", (0, 5), (1,))],
)
def test_app_download_equals_cli_output(
    monkeypatch, tmp_path: Path, keep, balance_by, pins_keep, pins_drop
) -> None:
    monkeypatch.setenv("PRUNESCOPE_SAMPLE", SAMPLE)
    downloads = _record_downloads(monkeypatch)
    at = AppTest.from_file(page_path("3_Prune_and_export.py"), default_timeout=180)
    at.session_state["dataset_key"] = DATASET_KEY
    at.session_state["k_dataset"] = DATASET_KEY  # keeps the pins set below
    at.session_state["k"] = 10
    at.session_state["keep_fraction"] = keep
    at.session_state["balance_by"] = balance_by or "none"
    at.session_state["min_ratio"] = 0.5
    at.session_state["pins_keep"] = pins_keep
    at.session_state["pins_drop"] = pins_drop
    at.run()
    assert not at.exception
    assert not at.error

    folder = ROOT / "sample_data" / SAMPLE
    ids = (folder / "metadata.csv").read_text().splitlines()[1:]
    argv = ["prune", str(folder / "ssl_embeddings.npy"), "--meta", str(folder / "metadata.csv")]
    argv += ["--keep", str(keep), "--strategy", "keep_hard", "--k", "10", "--seed", "0"]
    if balance_by:
        argv += ["--balance-by", balance_by, "--min-ratio", "0.5"]
    for flag, rows in (("--always-keep", pins_keep), ("--always-drop", pins_drop)):
        if rows:
            argv += [flag, ",".join(ids[row].split(",")[0] for row in rows)]
    argv += ["--out", str(tmp_path / "kept.csv")]
    assert cli_main(argv) == 0

    assert downloads["kept.csv"] == (tmp_path / "kept.csv").read_bytes()
    app_manifest = json.loads(downloads["kept.manifest.json"])
    cli_manifest = json.loads((tmp_path / "kept.manifest.json").read_bytes())
    assert app_manifest.pop("created_at")
    assert cli_manifest.pop("created_at")
    assert app_manifest == cli_manifest
    assert app_manifest["always_keep"] == [ids[row].split(",")[0] for row in pins_keep]
    assert app_manifest["n_kept"] == round(keep * 1797)
