"""`python -m claimback.x12 PATH... --out DIR`: parse X12 files to Parquet, progress on stderr.

The same command as `claimback parse` (pipelines/cli.py calls `add_arguments` and `run` below),
reachable without claimback's CLI and Dagster imported: the parse benchmark times it this way. It
prints the JSON summary (`claimback parse --json`) by default.
"""
from __future__ import annotations

import argparse
import json
import sys

from claimback.x12.paths import parse_paths, stderr_progress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", help="X12 files or folders (recursive, any extension)")
    parser.add_argument("--out", required=True, help="folder for <table>.parquet")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")


def run(args: argparse.Namespace, quiet: bool = False) -> int:
    """Parse `args.paths` into `args.out`; print rows per table (or the JSON summary). 1 when a
    path does not exist."""
    summary = parse_paths(args.paths, args.out, progress=None if quiet else stderr_progress)
    if args.json:
        print(json.dumps({"files": summary["files"], "tables": summary["tables"], "missing": summary["missing"]}))
    else:
        for name, rows in sorted(summary["tables"].items()):
            print(f"{name:28s} {rows:>10,}")
        quarantined = [f for f in summary["per_file"] if f["quarantined"]]
        print(f"{summary['files']:,} files read into {args.out}" + (
            f"; {len(quarantined):,} with parts that could not be read (see quarantine.parquet)" if quarantined else ""))
    return 1 if summary["missing"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m claimback.x12", description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    parser.set_defaults(json=True)  # the benchmark reads the JSON line
    args = parser.parse_args(argv)
    return run(args, quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
