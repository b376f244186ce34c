"""The ``verify`` command: check an exported CSV against its manifest (exit 0 ok, 1 differs)."""

from __future__ import annotations

import argparse

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

    report = verify_export(args.csv, recompute=args.recompute)
    if not report.ok:
        more = f" (+{len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        print(f"FAIL {args.csv}: {report.problems[0]}{more}")
        return 1
    print(f"OK {args.csv}: {', '.join(report.checks)}")
    return 0
