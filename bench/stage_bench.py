"""One stage after parse, alone: wall seconds, CPU seconds and peak memory on a copy of a warehouse.

`scale_bench.py` measures whole runs, where every stage shares one process and the peaks add up.
This runs ONE stage — the Dagster asset body, exactly what `claimback run` executes for it, or
the five checks on the ingested tables — in a fresh child process on a copy of a finished
warehouse (so every measurement starts from the same state and the original is never touched),
and reports the child's wall time, CPU seconds and peak RSS.

    .venv/bin/python bench/stage_bench.py --warehouse WH --inbox INBOX --as-of 2026-11-01 denials trends
    stages: checks denials trends routing publish reconsiderations

Make the warehouse once with `claimback run` on a synthetic inbox (`claimback.synth.generate`,
see scale_bench.py). The CPU seconds include the child's interpreter start and imports (~2-3 s).
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ("remit_structure", "submitted_structure", "remit_data_quality", "submitted_data_quality",
          "nothing_quarantined")
# stage -> (its folder's asset module under pipelines/defs, the asset function)
ASSETS = {"denials": ("pipelines.defs.denials.assets", "denials"),
          "trends": ("pipelines.defs.trends.assets", "trend_clusters"),
          "routing": ("pipelines.defs.routing.assets", "work_queue"),
          "publish": ("pipelines.defs.publish.assets", "claimback_duckdb"),
          "reconsiderations": ("pipelines.defs.reconsiderations.assets", "reconsideration_log")}
CHECKS_MODULE = "pipelines.defs.ingest.checks"  # where the five checks on the ingested tables are


def child(stage: str, warehouse: str, inbox: str, as_of: str) -> None:
    import importlib
    import inspect

    sys.path.insert(0, str(ROOT))
    from pipelines.defs.resources import ClaimbackResource

    resource_ = ClaimbackResource(inbox=inbox, warehouse=warehouse, as_of=as_of)
    started = time.time()
    if stage == "checks":
        checks = importlib.import_module(CHECKS_MODULE)
        results = {name: getattr(checks, name)(claimback=resource_).passed for name in CHECKS}
    else:
        module, name = ASSETS[stage]
        out = getattr(importlib.import_module(module), name)(claimback=resource_)
        if inspect.isgenerator(out):  # a multi-asset yields a materialisation per table
            list(out)
        results = None
    print(json.dumps({"stage_s": round(time.time() - started, 2), "checks_passed": results,
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def measure(stage: str, warehouse: Path, inbox: Path, as_of: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="claimback-stage-") as scratch:
        copy = Path(scratch) / "warehouse"
        shutil.copytree(warehouse, copy)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.time()
        out = subprocess.run([sys.executable, __file__, "_child", stage, str(copy), str(inbox), as_of],
                             cwd=ROOT, capture_output=True, text=True, check=True)
        wall = time.time() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    inner = json.loads(out.stdout.strip().splitlines()[-1])
    return {  # peak_rss_mb: the child's own (the stage runs in that one process)
        "stage": stage, "wall_s": round(wall, 1), **inner,
        "cpu_s": round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_child":
        child(*argv[1:5])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="a warehouse `claimback run` has built")
    parser.add_argument("--inbox", type=Path, required=True, help="the inbox it was built from")
    parser.add_argument("--as-of", required=True)
    parser.add_argument("stages", nargs="+", choices=["checks", *ASSETS])
    args = parser.parse_args(argv)
    for stage in args.stages:
        print(json.dumps(measure(stage, args.warehouse, args.inbox, args.as_of)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
