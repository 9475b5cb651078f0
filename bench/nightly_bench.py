"""Nightly runs on a growing warehouse: what a night with little new data costs, per stage.

`scale_bench.py` measures first runs on an empty warehouse. A deployment runs every night on the
warehouse of the nights before, so this keeps the warehouse and runs `claimback run` once per
night, each night on the inbox as it stands then (files are only ever added, as a clearinghouse
delivers them), with the as-of date one day later each night. Measured exactly as scale_bench
does (child process, peak RSS of the process tree, CPU seconds, Dagster's step durations).

    .venv/bin/python bench/nightly_bench.py --history INBOX --new NEW_INBOX [--new NEW2 ...]

Night 1 reads HISTORY; then a night with nothing new; then, for each NEW inbox, a night that
copies it into the inbox as a subfolder `night-N/` and runs again. Synthesise the inboxes with
`claimback synth` (different seeds, so the new claims are new). Results: bench/results/nightly-*.json.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_bench import AS_OF, RESULTS, markdown, run_once  # noqa: E402


def claims_in(inbox: Path) -> int:
    """837 claims in an inbox folder, counted from the CLM segments (no parse)."""
    return sum(p.read_bytes().count(b"CLM") for p in inbox.rglob("*") if p.is_file() and "837" in p.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=Path, required=True, help="the first night's inbox")
    parser.add_argument("--new", type=Path, nargs="*", default=[], help="inboxes added on later nights")
    parser.add_argument("--work", type=Path, default=Path("/tmp/claimback-nightly"),
                        help="where the growing inbox and the warehouse go (not the repo: synthetic PHI)")
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    inbox, warehouse = args.work / "inbox", args.work / "warehouse"
    shutil.rmtree(args.work, ignore_errors=True)
    shutil.copytree(args.history, inbox)
    history = claims_in(inbox)
    nights = [("first", history, None), ("nothing new", 0, None)]
    nights += [(f"{claims_in(new):,} new", claims_in(new), new) for new in args.new]
    rows = []
    for night, (label, new_claims, new_inbox) in enumerate(nights):
        if new_inbox is not None:
            shutil.copytree(new_inbox, inbox / f"night-{night + 1}")
        files = sum(1 for p in inbox.rglob("*") if p.is_file())
        row = run_once(inbox, warehouse, f"night {night + 1}: {label}", max(new_claims, 1), files,
                       fresh=night == 0, as_of=AS_OF + timedelta(days=night))
        row["new_claims"] = new_claims
        rows.append(row)
        print(json.dumps(row), flush=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"nightly-{stamp}.json"
    out.write_text(json.dumps({"runs": rows}, indent=2))
    print(markdown(rows))
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
