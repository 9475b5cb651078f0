"""`python -m claimback.x12 PATH... --out DIR`: parse X12 files to Parquet, progress on stderr."""
from __future__ import annotations

import argparse
import json
import sys

from claimback.x12.paths import parse_paths, stderr_progress


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m claimback.x12", description=__doc__)
    ap.add_argument("paths", nargs="+", help="X12 files or folders (recursive, any extension)")
    ap.add_argument("--out", required=True, help="folder for <table>.parquet")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    summary = parse_paths(args.paths, args.out, progress=None if args.quiet else stderr_progress)
    print(json.dumps({"files": summary["files"], "tables": summary["tables"], "missing": summary["missing"]}))
    return 1 if summary["missing"] else 0


if __name__ == "__main__":
    sys.exit(main())
