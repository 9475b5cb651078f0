"""One night on a copy of a grown warehouse: two versions of claimback compared on the same night.

A history of 10 M claims takes an hour to grow (nightly_bench.py --drop); a change is measured on
the night after it, on a copy, so that every run starts from the same state and the grown
warehouse is never touched:

    .venv/bin/python bench/night_on_copy.py --warehouse GROWN/warehouse --inbox INBOX \\
        --as-of 2026-11-05 --work /big/disk/night [--adopt-stamp]

INBOX is the grown inbox with the night's new folder in it. The run is measured as nightly_bench
measures a night (scale_bench.run_once: a child process with this checkout's interpreter, the peak
memory of its process tree, CPU seconds, Dagster's step seconds). The copy stays in WORK for
`compare_published.py` against the other version's night.

The denials stage keeps its rows stamped with a digest of claimback's code (claimback.touched):
a warehouse grown by other code is recomputed whole, which is what an upgrade costs, not what a
night costs. `--adopt-stamp` writes this checkout's digest into the copy's stamp, so the night
is worked out from the kept rows as the growing code would; it is only sound for a change that
gives the same rows, which compare_published.py then checks (the same tables, row for row).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import date
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_bench import markdown, run_once  # noqa: E402


def adopt_stamp(warehouse: Path) -> None:
    from claimback import touched

    path = warehouse / "lake" / "state" / f"{touched.STAMP}.parquet"
    stamp = pl.read_parquet(path)
    stamp.with_columns(code_version=pl.lit(touched.code_version())).write_parquet(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="the grown warehouse (only read)")
    parser.add_argument("--inbox", type=Path, required=True, help="its inbox with the night's new files")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--work", type=Path, required=True, help="where the copy is made (replaced)")
    parser.add_argument("--new-claims", type=int, default=0,
                        help="the night's new claims, for the report's rates (the inbox is not read to count them)")
    parser.add_argument("--max-rss-mb", type=int, help="stop the night once its process tree holds more memory")
    parser.add_argument("--adopt-stamp", action="store_true",
                        help="stamp the copy's kept rows with this code's version (see above)")
    parser.add_argument("--from-scratch", action="store_true",
                        help="the run forgets every kept row and works the whole history out again")
    args = parser.parse_args(argv)
    copy = args.work / "warehouse"
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    shutil.copytree(args.warehouse, copy, symlinks=True)
    if args.adopt_stamp:
        adopt_stamp(copy)
    files = sum(1 for p in args.inbox.rglob("*") if p.is_file())
    label = f"{'from scratch' if args.from_scratch else 'night'} as of {args.as_of}"
    row = run_once(args.inbox, copy, label, max(args.new_claims, 1), files, fresh=False, as_of=args.as_of,
                   max_rss_mb=args.max_rss_mb, options=["--from-scratch"] if args.from_scratch else [])
    print(json.dumps(row))
    print(markdown([row]))
    return 0 if row["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
