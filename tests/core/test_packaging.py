"""pyproject.toml: the ``prunescope`` console script is ``python -m core``, and the package's
runtime dependencies are requirements.txt's exact pins."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest

from core.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _entry_point(name: str):
    module_name, _, attribute = PYPROJECT["project"]["scripts"][name].partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def test_console_script_resolves_to_a_callable() -> None:
    assert callable(_entry_point("prunescope"))
    # python -m core runs the very same function.
    main_source = (ROOT / "core" / "__main__.py").read_text(encoding="utf-8")
    assert "from core.cli import run" in main_source
    assert PYPROJECT["project"]["scripts"]["prunescope"] == "core.cli:run"


def test_console_script_behaves_like_python_m_core(capsys: pytest.CaptureFixture[str]) -> None:
    run = _entry_point("prunescope")
    with pytest.raises(SystemExit) as exit_info:
        run(["--help"])
    assert exit_info.value.code == 0
    script_help = capsys.readouterr().out
    assert script_help == build_parser().format_help()  # the parser of python -m core
    assert "score" in script_help
    with pytest.raises(SystemExit) as exit_info:  # bad input: exit 2, as from python -m core
        run(["score", str(ROOT / "no_such_file.npy"), "--out", "x.csv"])
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_dependencies_are_the_pins_of_requirements_txt() -> None:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pins = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert PYPROJECT["project"]["dependencies"] == pins
    assert all("==" in pin for pin in pins)


def test_only_the_library_is_packaged() -> None:
    assert PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"] == ["core*"]


def test_distributed_is_pinned_at_dasks_version() -> None:
    from core.scores.distributed import DISTRIBUTED_PIN

    pins = dict(pin.split("==") for pin in PYPROJECT["project"]["dependencies"])
    assert pins["distributed"] == pins["dask"]
    assert f"distributed=={pins['distributed']}" == DISTRIBUTED_PIN
    for needed in ("msgpack", "psutil", "sortedcontainers", "tblib", "tornado", "zict"):
        assert needed in pins  # what pip install distributed pulls in beyond the other pins
