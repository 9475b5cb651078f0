"""Scale benchmark: `claimback run` end to end on synthetic inboxes of growing size.

For each size the inbox is synthesised first (outside the timing, cached under --work), then
the pipeline runs in a child process exactly as `claimback run` does (`pipelines.cli.main`); the
child also keeps the Dagster result and writes every step's start and end, so one run gives the
wall time, the per-stage times (Dagster's own step durations) and claims/s. The parent polls the child's whole process tree
for resident memory (psutil) and takes the tree's CPU seconds from rusage, since on a shared
machine CPU time is the steadier measure of cost than wall time.

    .venv/bin/python bench/scale_bench.py                      # 10k and 100k claims
    .venv/bin/python bench/scale_bench.py --sizes 10000 100000 1000000
    .venv/bin/python bench/scale_bench.py --sizes --layout 2000  # many small vs few large files

Results: bench/results/scale-<timestamp>.json (git-ignored) and a Markdown table on stdout,
which is what bench/SCALE.md records.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
AS_OF = date(2026, 11, 1)
POLL_SECONDS = 0.25
# Dagster step keys → the stage names analysts and SCALE.md use.
STAGE_OF_STEP = {
    "x12_lake.plan_new_files": "plan",
    "x12_lake.parse_batch": "parse",
    "x12_lake.consolidate_lake": "consolidate",
    "reconsideration_log": "reconsiderations",
    "denials": "denials",
    "trend_clusters": "trends",
    "work_queue": "routing",
    "claimback_duckdb": "publish",
}


# --- the child: one `claimback run`, with its Dagster result kept ------------------------------
def child(argv: list[str], timings_path: Path) -> int:
    started = time.time()
    sys.path.insert(0, str(ROOT))
    import pipelines.cli as cli

    imported = time.time()
    run_pipeline = cli.run_pipeline

    def run_and_keep(*args, **kwargs):
        result = run_pipeline(*args, **kwargs)
        timings_path.write_text(json.dumps({
            "process_started": started, "imported": imported, "success": result.success,
            "steps": step_timings(result.all_events),
        }))
        return result

    cli.run_pipeline = run_and_keep
    return cli.main(argv)


def step_timings(events) -> list[dict]:
    """[{step, seconds, ok}] from a run's STEP_SUCCESS / STEP_FAILURE events (Dagster measures
    each step's duration itself; a failed step reports none)."""
    rows = []
    for event in events:
        kind = event.event_type_value
        if kind == "STEP_SUCCESS":
            rows.append({"step": event.step_key, "seconds": event.event_specific_data.duration_ms / 1000, "ok": True})
        elif kind == "STEP_FAILURE":
            rows.append({"step": event.step_key, "seconds": None, "ok": False})
    return rows


def stage_of(step_key: str) -> str:
    return STAGE_OF_STEP.get(step_key.split("[", 1)[0], "checks")  # every other step is an asset check


def stage_seconds(steps: list[dict]) -> dict[str, float]:
    """Seconds per stage, parse batches summed: `claimback run` executes steps one at a time."""
    totals: dict[str, float] = defaultdict(float)
    for step in steps:
        if step["seconds"] is not None:
            totals[stage_of(step["step"])] += step["seconds"]
    return {stage: round(seconds, 2) for stage, seconds in totals.items()}


# --- the parent: synthesise, run, measure ---------------------------------------------------------
def synthesise(inbox: Path, claims: int, claims_per_file: int = 1_000) -> dict:
    """The synthetic inbox for `claims`, reused when an earlier bench already wrote it."""
    marker = inbox.parent / f"{inbox.name}.summary.json"
    if marker.exists() and inbox.is_dir():
        return json.loads(marker.read_text())
    from claimback.synth import generate

    shutil.rmtree(inbox, ignore_errors=True)
    summary = generate(inbox, claims, seed=11, as_of=AS_OF, claims_per_file=claims_per_file)
    data = {"claims": summary.claims, "remit_claims": summary.remit_claims,
            "files": summary.files_835 + summary.files_837 + 1, "bytes": summary.bytes_written}
    marker.write_text(json.dumps(data))
    return data


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_once(inbox: Path, warehouse: Path, label: str, claims: int, files: int, *, fresh: bool = True,
             as_of: date = AS_OF, max_rss_mb: int | None = None, options: Sequence[str] = ()) -> dict:
    """One `claimback run` in a child process; `fresh=False` keeps the warehouse of earlier nights;
    `options`: more `claimback run` flags.
    `max_rss_mb`: stop the run (its whole process tree) once it holds more, so a history too large
    for the machine ends as a measured failure instead of the kernel killing someone's process."""
    if fresh:
        shutil.rmtree(warehouse, ignore_errors=True)
    timings = warehouse.parent / f"{warehouse.name}.steps.json"
    timings.unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "_child", str(timings), "run",
               "--inbox", str(inbox), "--warehouse", str(warehouse), "--as-of", as_of.isoformat(), *options]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    started = time.time()
    log = warehouse.parent / f"{warehouse.name}.stderr.txt"
    # To a file, not a pipe: one progress line per file would fill a pipe nobody reads until the end.
    with open(log, "w") as stderr_file:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr_file)
        watched = psutil.Process(proc.pid)
        peak, over_limit = 0, False
        while proc.poll() is None:
            peak = max(peak, tree_rss(watched))
            if max_rss_mb and peak > max_rss_mb * 2**20 and not over_limit:
                over_limit = True
                for p in [*watched.children(recursive=True), watched]:
                    try:
                        p.kill()
                    except psutil.Error:
                        pass
            time.sleep(POLL_SECONDS)
    wall = time.time() - started
    stderr = log.read_text()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    steps = json.loads(timings.read_text()) if timings.exists() else {"steps": [], "success": False}
    stages = stage_seconds(steps["steps"])
    return {
        "label": label, "claims": claims, "files": files, "exit_code": proc.returncode,
        "success": proc.returncode == 0, "wall_s": round(wall, 1),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        "peak_rss_mb": round(peak / 2**20), "claims_per_s": round(claims / wall),
        "cli_imported_s": round(steps.get("imported", started) - started, 1),  # Dagster loads later, inside the run
        "stages_s": stages,
        "outside_stages_s": round(wall - sum(stages.values()), 1),  # imports, Dagster, summary
        "stage_claims_per_s": {s: round(claims / t) if t else None for s, t in stages.items()},
        "failed_steps": [s["step"] for s in steps["steps"] if not s["ok"]],
        "stopped_over_mb": max_rss_mb if over_limit else None,
        "load_avg_before": round(load_before, 1), "load_avg_after": round(os.getloadavg()[0], 1),
        "stderr_tail": [line for line in stderr.splitlines() if "failed" in line or "claimback:" in line][-5:],
    }


def few_large_inbox(small: Path, large: Path) -> int:
    """Repack an inbox as a clearinghouse delivers it: all 835s (or 837s) that share delimiters
    concatenated into one large daily drop of many interchanges. Same claims, ~1/60 the files."""
    shutil.rmtree(large, ignore_errors=True)
    large.mkdir(parents=True)
    drops: dict[tuple, list[bytes]] = defaultdict(list)
    for path in sorted(small.iterdir()):
        if path.name.endswith("reconsiderations.csv"):
            shutil.copy(path, large / path.name)
        elif path.is_file():
            data = path.read_bytes()
            # element separator and what follows the ISA's segment terminator: one delimiter style
            style = ("835" if "_ERA_" in path.name else "837", data[3:4], data[105:107])
            drops[style].append(data if data.endswith(b"\n") else data + b"\n")
    for index, (style, parts) in enumerate(sorted(drops.items())):
        (large / f"drop-{index:02d}-{style[0]}.x12").write_bytes(b"".join(parts))
    return len(drops) + 1


def markdown(rows: list[dict]) -> str:
    stages = ["plan", "parse", "consolidate", "checks", "reconsiderations", "denials", "trends", "routing", "publish"]
    head = ("| run | claims | files | exit | wall s | CPU s | peak RSS MB | claims/s | outside stages s | "
            + " | ".join(f"{s} s (claims/s)" for s in stages) + " | load avg |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        cells = [f"{r['stages_s'][s]} ({r['stage_claims_per_s'][s]:,})" if s in r["stages_s"] else "–"
                 for s in stages]
        lines.append(f"| {r['label']} | {r['claims']:,} | {r['files']:,} | {r['exit_code']} | {r['wall_s']} | "
                     f"{r['cpu_s']} | {r['peak_rss_mb']:,} | {r['claims_per_s']:,} | {r['outside_stages_s']} | "
                     + " | ".join(cells) + f" | {r['load_avg_before']}→{r['load_avg_after']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--layout", type=int, metavar="CLAIMS",
                        help="also compare the synthetic inbox (many small files, one per payer and week) "
                             "with the same claims repacked into ~10 large daily drops")
    parser.add_argument("--work", type=Path, default=Path("/tmp/claimback-scale"),
                        help="where inboxes and warehouses go (not the repo: they hold synthetic PHI)")
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in args.sizes:
        inbox = args.work / f"inbox-{size}"
        data = synthesise(inbox, size)
        rows.append(run_once(inbox, args.work / f"warehouse-{size}", f"{size:,} claims", size, data["files"]))
        print(json.dumps(rows[-1]), flush=True)
    if args.layout:
        small = args.work / f"inbox-{args.layout}"
        data = synthesise(small, args.layout)
        rows.append(run_once(small, args.work / "warehouse-small-files", "many small files",
                             args.layout, data["files"]))
        print(json.dumps(rows[-1]), flush=True)
        large = args.work / f"inbox-{args.layout}-large-files"
        files = few_large_inbox(small, large)
        rows.append(run_once(large, args.work / "warehouse-large-files", "few large files", args.layout, files))
        print(json.dumps(rows[-1]), flush=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"scale-{stamp}.json"
    out.write_text(json.dumps({"machine": {"cpus": os.cpu_count(),
                                           "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)},
                               "runs": rows}, indent=2))
    print(markdown(rows))
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_child":
        sys.exit(child(sys.argv[3:], Path(sys.argv[2])))
    sys.exit(main())
