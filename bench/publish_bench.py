"""Publish alone, one version of the code against another, on the same nights: CPU seconds and peak memory.

A night's publish costs what its lake changed since the file it starts from, so it can only be
measured on a warehouse grown night by night. This grows one (`run/`: each night a real
`claimback run` of this checkout, as of the night's date, with the night's drop hard-linked into
the inbox), and after each night brings the lake of two more warehouses to the same files
(`old/`, `new/`: everything but their own `lake/state/published_sources.parquet` and published
file) and runs the publish step alone in each (`stage_bench.py`'s child: the Dagster asset body,
in a fresh process, in place), `old/` with the code in --old-code, `new/` with this checkout.
Before the first night both publish once from nothing (their first row).

    .venv/bin/python bench/publish_bench.py --base WAREHOUSE --inbox INBOX --work DIR \\
        --old-code DIR --night 2026-01-29 --night 2026-11-01@DROP11

WAREHOUSE is a finished warehouse of INBOX (copied, never changed; INBOX is hard-linked into
DIR/inbox); a night is an as-of date, `@FOLDER` adds that drop as `night-N/`. --old-code is a
checkout of the code to compare against (e.g. `git archive <commit> | tar -x -C DIR`, with the
reader core built or copied in). One JSON line per measurement is appended to DIR/publish.jsonl.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nightly_bench import link_tree  # noqa: E402
from scale_bench import run_once  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KEPT_BY_PUBLISH = Path("state") / "published_sources.parquet"  # claimback.publish.PUBLISHED


def night_arg(text: str) -> tuple[date, Path | None]:
    day, _, folder = text.partition("@")
    return date.fromisoformat(day), Path(folder) if folder else None


def sync_lake(source: Path, target: Path) -> None:
    """`target` holds `source`'s lake files (same bytes and modification times), except what
    publish itself keeps there."""
    for path in source.rglob("*"):
        relative = path.relative_to(source)
        if path.is_dir() or relative == KEPT_BY_PUBLISH:
            continue
        copy = target / relative
        same = copy.exists() and (copy.stat().st_size, copy.stat().st_mtime_ns) == (path.stat().st_size,
                                                                                    path.stat().st_mtime_ns)
        if not same:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
    for path in sorted(target.rglob("*"), reverse=True):
        relative = path.relative_to(target)
        if path.is_file() and relative != KEPT_BY_PUBLISH and not (source / relative).exists():
            path.unlink()


def publish_alone(code: Path, warehouse: Path, inbox: Path, as_of: date) -> dict:
    """The publish step of `code` on `warehouse`, in place, in a fresh process: wall, CPU, peak RSS."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    started = time.time()
    out = subprocess.run([sys.executable, str(code / "bench" / "stage_bench.py"), "_child", "publish",
                          str(warehouse), str(inbox), as_of.isoformat()],
                         cwd=code, env={**os.environ, "PYTHONPATH": str(code)}, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        raise SystemExit(f"publish failed in {warehouse}:\n{out.stderr[-3000:]}")
    inner = json.loads(out.stdout.strip().splitlines()[-1])
    return {"wall_s": round(time.time() - started, 1), "stage_s": inner["stage_s"],
            "cpu_s": round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1),
            "peak_rss_mb": inner["peak_rss_mb"], "file_mb": round((warehouse / "claimback.duckdb").stat().st_size / 2**20),
            "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="a finished warehouse of --inbox (not changed)")
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="where the three warehouses and the inbox go")
    parser.add_argument("--old-code", type=Path, required=True, help="a checkout of the code to compare against")
    parser.add_argument("--base-as-of", type=date.fromisoformat, required=True, help="the as-of date of --base")
    parser.add_argument("--night", type=night_arg, action="append", required=True, metavar="AS_OF[@DROP]")
    args = parser.parse_args(argv)
    work, codes = args.work, {"old": args.old_code.resolve(), "new": ROOT}
    inbox = work / "inbox"
    if not inbox.exists():
        link_tree(args.inbox, inbox)
    for name in ("run", *codes):
        if not (work / name).exists():
            shutil.copytree(args.base, work / name, symlinks=True)
    results = work / "publish.jsonl"

    def record(row: dict) -> None:
        print(json.dumps(row), flush=True)
        with open(results, "a") as out:
            out.write(json.dumps(row) + "\n")

    for name, code in codes.items():  # from nothing: the copy is not the file either code last published
        record({"night": 0, "code": name, "what": "from nothing", **publish_alone(code, work / name, inbox,
                                                                                   args.base_as_of)})
    for night, (as_of, drop) in enumerate(args.night, start=1):
        if drop:
            link_tree(drop, inbox / f"night-{night}")
        ran = run_once(inbox, work / "run", f"night {night}", 1, 0, fresh=False, as_of=as_of)
        record({"night": night, "code": "new", "what": "the whole night (run/)", "as_of": as_of.isoformat(),
                **{k: ran[k] for k in ("success", "wall_s", "cpu_s", "peak_rss_mb", "stages_s",
                                        "load_avg_before", "load_avg_after")}})
        if not ran["success"]:
            return 1
        for name, code in codes.items():
            sync_lake(work / "run" / "lake", work / name / "lake")
            record({"night": night, "code": name, "what": f"publish, as of {as_of}" + (f", {drop.name} new" if drop else ", nothing new"),
                    **publish_alone(code, work / name, inbox, as_of)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
