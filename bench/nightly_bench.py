"""Nightly runs on a growing warehouse: what a night with little new data costs, per stage.

`scale_bench.py` measures first runs on an empty warehouse. A deployment runs every night on the
warehouse of the nights before, so this keeps the warehouse and runs `claimback run` once per
night, each night on the inbox as it stands then (files are only ever added, as a clearinghouse
delivers them). Measured exactly as scale_bench does (child process, peak RSS of the process
tree, CPU seconds, Dagster's step durations, the load average before and after).

Two ways to grow it:

    .venv/bin/python bench/nightly_bench.py --history INBOX --new NEW_INBOX [--new NEW2 ...]

Night 1 reads HISTORY; then a night with nothing new; then, for each NEW inbox, a night that
copies it into the inbox as a subfolder `night-N/` and runs again, the as-of date one day later
each night.

    .venv/bin/python bench/nightly_bench.py --drop DROP1@2026-01-28 --drop DROP2@2026-02-28 ... \\
        --work /big/disk/nightly [--resume]

Each drop (a `claimback synth` inbox, as of the date after @) is one night: hard-linked into the
inbox as `night-N/` (copied when the disk cannot link) and run as of its date. `--resume` keeps
the work folder and starts at the first night whose drop is not in the inbox yet, so a long
history (ten 1M drops) can be grown over several sittings. One JSON line per night is appended
to WORK/nights.jsonl as it finishes. Results: bench/results/nightly-*.json.

Make the drops of one history with `claimback synth --claims-before N` (N: the claims of the
drops before it), so each continues the practices' account numbers, the payers' claim numbers and
the member ids: drops made without it re-use each other's numbers, every new claim looks like a
resubmission of an old one, and a night recomputes the whole history (measured: a second 1 M drop
made that way touched 2,085,642 of 2,087,181 remit claims).

    claimback synth --claims 1000000 --seed 11 --as-of 2026-01-28 --out DROP1 --later-remits DROP1-later
    claimback synth --claims 1000000 --seed 12 --as-of 2026-02-28 --claims-before 1000000 --months 1 \
        --out DROP2 --later-remits DROP2-later

A drop made with `--later-remits FOLDER-later` also holds the 835s its payers send after its as-of
date, one folder per check date: each night takes, from its drop's and every earlier drop's
`-later` folder, the check dates after the night before and up to its own as-of date (under
`night-N/later-DROP/`), as a clearinghouse delivers a month's late answers with the next month's.
Without them every claim still in the payer's hands when its drop ends stays unanswered for ever:
a one-month drop leaves about a third of its claims so, and a ten-drop history holds millions of
claims no payer ever answers, which no practice has.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_bench import AS_OF, RESULTS, markdown, run_once  # noqa: E402


def claims_in(inbox: Path) -> int:
    """837 claims in an inbox folder, counted from the CLM segments (no parse)."""
    return sum(p.read_bytes().count(b"CLM") for p in inbox.rglob("*") if p.is_file() and "837" in p.name)


def drop_arg(text: str) -> tuple[Path, date]:
    folder, _, day = text.rpartition("@")
    if not folder:
        raise argparse.ArgumentTypeError("a drop is FOLDER@YYYY-MM-DD (the as-of date of its night)")
    return Path(folder), date.fromisoformat(day)


def link_tree(source: Path, target: Path) -> None:
    """`source` under `target`, its files hard-linked (the inputs are large and read-only)."""
    try:
        shutil.copytree(source, target, copy_function=os.link)
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)


def later_folder(drop: Path) -> Path:
    """Where `claimback synth --later-remits` put a drop's later 835s, by this script's convention."""
    return drop.with_name(f"{drop.name}-later")


def link_later_remits(drops: list[tuple[Path, date]], night: int, target: Path) -> int:
    """Into night `night`'s folder (1-based): the later 835s of its drop and the drops before it
    with a check date after the night before's as-of date and up to its own; the files linked."""
    after = drops[night - 2][1] if night > 1 else date.min
    until = drops[night - 1][1]
    linked = 0
    for drop, _ in drops[:night]:
        later = later_folder(drop)
        for day in sorted(later.iterdir()) if later.is_dir() else []:
            if after < date.fromisoformat(day.name) <= until:
                link_tree(day, target / f"later-{drop.name}" / day.name)
                linked += sum(1 for p in day.iterdir() if p.is_file())
    return linked


def planned_nights(args) -> list[tuple[str, int, Path | None, date]]:
    """(label, new claims, folder to add or None, as-of) per night."""
    if args.drop:
        return [(f"drop {n}: {claims_in(folder):,} new", claims_in(folder), folder, as_of)
                for n, (folder, as_of) in enumerate(args.drop, start=1)]
    nights = [("first", None, args.history, AS_OF), ("nothing new", 0, None, AS_OF + timedelta(days=1))]
    nights += [(f"{claims_in(new):,} new", claims_in(new), new, AS_OF + timedelta(days=n))
               for n, new in enumerate(args.new, start=2)]
    return nights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--history", type=Path, help="the first night's inbox")
    source.add_argument("--drop", type=drop_arg, action="append", metavar="FOLDER@AS_OF",
                        help="one night's new inbox and its as-of date; give one per night, in order")
    parser.add_argument("--new", type=Path, nargs="*", default=[], help="with --history: inboxes added on later nights")
    parser.add_argument("--work", type=Path, default=Path("/tmp/claimback-nightly"),
                        help="where the growing inbox and the warehouse go (not the repo: synthetic PHI)")
    parser.add_argument("--max-rss-mb", type=int, help="stop a night whose process tree holds more memory than this")
    parser.add_argument("--resume", action="store_true",
                        help="keep WORK and run only the nights whose folder is not in its inbox yet")
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    inbox, warehouse = args.work / "inbox", args.work / "warehouse"
    if not args.resume:
        shutil.rmtree(args.work, ignore_errors=True)
    inbox.mkdir(parents=True, exist_ok=True)
    rows = []
    for night, (label, new_claims, folder, as_of) in enumerate(planned_nights(args), start=1):
        target = inbox / f"night-{night}"
        if folder is not None and args.resume and target.exists():
            continue  # an earlier sitting ran this night
        if folder is not None:
            link_tree(folder, target)
            if args.drop:
                link_later_remits(args.drop, night, target)
        if new_claims is None:
            new_claims = claims_in(target)
        files = sum(1 for p in inbox.rglob("*") if p.is_file())
        row = run_once(inbox, warehouse, f"night {night}: {label}", max(new_claims, 1), files,
                       fresh=night == 1, as_of=as_of, max_rss_mb=args.max_rss_mb)
        row.update(night=night, new_claims=new_claims, as_of=as_of.isoformat())
        rows.append(row)
        with open(args.work / "nights.jsonl", "a") as out:
            out.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
        if not row["success"]:
            break
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"nightly-{stamp}.json"
    out.write_text(json.dumps({"runs": rows}, indent=2))
    print(markdown(rows))
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
