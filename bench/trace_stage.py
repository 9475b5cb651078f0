"""Where one stage's memory goes: its resident memory over time, with the claimback function running.

`stage_bench.py` gives a stage's peak and CPU seconds; this runs the same Dagster asset body in
this process, on a copy of a finished warehouse (never the original), while a thread samples the
process's resident memory every 10 ms with the innermost claimback/pipelines frames of the main
thread, then prints each function's highest RSS and a timeline of the stage functions it passed
through. For finding what holds memory, not for figures to compare (sampling costs a few percent).

    .venv/bin/python bench/trace_stage.py denials WAREHOUSE INBOX 2026-02-01
    stages: denials trends routing publish
"""
from __future__ import annotations

import collections
import importlib
import inspect
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from stage_bench import ASSETS  # noqa: E402  (the stage -> asset map stage_bench measures)

OURS = ("claimback", "pipelines")


def _rss_mb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20


def _stack(thread_id: int) -> list[str]:
    """The main thread's claimback/pipelines frames, innermost first, as file:function:line."""
    frame, out = sys._current_frames().get(thread_id), []
    while frame is not None:
        code = frame.f_code
        if any(part in code.co_filename for part in OURS):
            out.append(f"{Path(code.co_filename).name}:{code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return out


def trace(stage: str, warehouse: str, inbox: str, as_of: str) -> None:
    from pipelines.defs.resources import ClaimbackResource

    with tempfile.TemporaryDirectory(prefix="claimback-trace-") as scratch:
        copy = Path(scratch) / "warehouse"
        shutil.copytree(warehouse, copy)
        resource_ = ClaimbackResource(inbox=inbox, warehouse=str(copy), as_of=as_of)
        main, peaks, timeline, done = threading.get_ident(), collections.defaultdict(int), [], threading.Event()
        started = time.time()

        def sample() -> None:
            while not done.is_set():
                stack, rss = _stack(main), _rss_mb()
                for frame in stack:
                    name = frame.rsplit(":", 1)[0]
                    peaks[name] = max(peaks[name], rss)
                stages = [f for f in stack if f.startswith(("stages.py", "touched.py", "kept_routes.py"))][:2]
                if stack and (not timeline or timeline[-1][2] != stages):
                    timeline.append((round(time.time() - started, 2), rss, stages))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        cpu = time.process_time()
        module, name = ASSETS[stage]
        out = getattr(importlib.import_module(module), name)(claimback=resource_)
        if inspect.isgenerator(out):  # a multi-asset yields a materialisation per table
            list(out)
        done.set()
        sampler.join()
    for seconds, rss, stages in timeline:
        print(f"{seconds:8.2f} s {rss:6d} MB  {' < '.join(stages)}")
    print(f"stage {stage}: wall {time.time() - started:.1f} s, CPU {time.process_time() - cpu:.1f} s, "
          f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
    for name, rss in sorted(peaks.items(), key=lambda item: -item[1])[:30]:
        print(f"{rss:6d} MB  {name}")


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in ASSETS:
        sys.exit(__doc__)
    trace(*sys.argv[1:])
