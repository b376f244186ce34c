"""The ``verify`` command: check an exported CSV against its manifest (exit 0 ok, 1 differs)."""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
from pathlib import Path
from typing import Any

VERIFY_EPILOG = """examples:
  python -m core verify kept.csv
  python -m core verify kept.csv --recompute

Checks kept.csv against kept.manifest.json beside it: header, row count, rows sorted by index,
size and sha256 of the CSV, the manifest's own content_sha256, and the recorded input files
(name, size, sha256) when they lie beside the CSV. --recompute re-runs the recorded score/prune
parameters on those inputs and compares the bytes. Exit 0 when everything matches, 1 with one
line saying what differs, 2 for unusable input."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``verify`` command to the CLI's sub-parsers."""
    parser = subparsers.add_parser(
        "verify",
        help="check an exported CSV against its manifest (and optionally re-run it)",
        description="Verify an export against <stem>.manifest.json.",
        epilog=VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("csv", metavar="CSV", help="an exported CSV (kept.csv, scores.csv)")
    parser.add_argument(
        "--recompute",
        action="store_true",
        help="re-run the recorded parameters on the recorded inputs and compare bytes",
    )
    parser.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    """Verify; print one line; return 0 (matches) or 1 (differs)."""
    from core.export_verify import verify_export

    report = verify_export(args.csv, rerun=rerun_export if args.recompute else None)
    if not report.ok:
        more = f" (+{len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        print(f"FAIL {args.csv}: {report.problems[0]}{more}")
        return 1
    print(f"OK {args.csv}: {', '.join(report.checks)}")
    return 0


def rerun_export(folder: Path, manifest: dict[str, Any]) -> bytes:
    """The CSV bytes of re-running the manifest's ``prune``/``score`` command on the inputs in
    ``folder`` (``core.export_verify.verify_export``'s ``rerun``).

    Raises
    ------
    ValueError
        When an input is missing from ``folder``, the export is not a score/prune export, or the
        re-run fails.
    """
    from core.cli import main

    argv = _rerun_argv(folder, manifest)
    with tempfile.TemporaryDirectory() as temp:
        out = Path(temp) / str(manifest["output"]["name"])
        quiet = io.StringIO()  # the re-run's own report and progress bar are not ours to show
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            code = main([*argv, "--out", str(out)])
        if code != 0 or not out.is_file():
            raise ValueError(f"re-running {' '.join(argv[:1])} failed (exit {code})")
        return out.read_bytes()


def _rerun_argv(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """The ``prune``/``score`` arguments that reproduce the export (inputs beside the CSV)."""
    from core.scores.registry import METRICS

    metric = str(manifest.get("metric"))
    params = manifest.get("score_params") or {}
    names = [str(entry["name"]) for entry in manifest.get("inputs") or []]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"--recompute needs the inputs beside the CSV; missing: {missing}")
    imported = metric.startswith("imported:")
    if not imported and metric not in METRICS:
        raise ValueError(f"--recompute re-runs score/prune exports, not metric {metric!r}")
    files = [str(folder / name) for name in names]
    argv: list[str] = ["score" if manifest.get("strategy") is None else "prune"]
    if imported:
        score_file = files.pop(names.index(str(params["score_file"])))
        argv += ["--scores", f"{score_file}:{params['column']}"]
        argv += ["--higher-is-easier"] if params.get("higher_is_easier") else []
        if manifest.get("d") is None:
            argv += [] if not files else ["--meta", files[0]]
            files = []
    else:
        argv += ["--metric", metric]
        for key in ("k", "distance", "backend"):
            argv += [] if manifest.get(key) is None else [f"--{key}", str(manifest[key])]
    argv += files[:1] + (["--meta", files[1]] if len(files) > 1 else [])
    return argv + _selection_argv(manifest)


def _selection_argv(manifest: dict[str, Any]) -> list[str]:
    if manifest.get("strategy") is None:
        return ["--seed", str(manifest.get("seed") or 0)]
    argv = ["--keep", repr(manifest["keep_fraction"]), "--strategy", str(manifest["strategy"])]
    argv += ["--seed", str(manifest["selection_seed"])]
    if manifest.get("balance_by") is not None:
        argv += ["--balance-by", str(manifest["balance_by"])]
        argv += ["--min-ratio", repr(manifest["min_ratio"])]
    beta = (manifest.get("strategy_params") or {}).get("ccs_beta")
    argv += [] if beta is None else ["--ccs-beta", repr(beta)]
    for key, flag in (("always_keep", "--always-keep"), ("always_drop", "--always-drop")):
        if manifest.get(key):
            argv += [flag, ",".join(manifest[key])]
    dedup = (manifest.get("extra") or {}).get("dedup_then_prune")
    if dedup is not None:
        argv += ["--dedup-epsilon", repr(dedup["dedup"]["epsilon"])]
        argv += ["--dedup-k", str(dedup["dedup"]["k"])]
    return argv
