"""The object store side of bench/cluster/run.sh: make a bucket and copy an inbox into it, and
report the CPU time and peak memory of the processes the script started.

    python bench/cluster/objects.py upload INBOX s3://bucket/prefix    # creates the bucket if missing
    python bench/cluster/objects.py usage PID...                          # CPU s and peak RSS, with children
    python bench/cluster/objects.py steps WAREHOUSE                       # where the run's time went

Talks to whatever endpoint the standard AWS variables name (AWS_ENDPOINT_URL: run.sh's moto server).
"""
from __future__ import annotations

import sys
from pathlib import Path


def upload(folder: Path, url: str) -> int:
    import s3fs

    fs = s3fs.S3FileSystem()
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not fs.exists(bucket):
        fs.mkdir(bucket)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    # One put of many files: s3fs uploads them concurrently.
    fs.put([str(p) for p in files], [f"{bucket}/{prefix}/{p.relative_to(folder).as_posix()}" for p in files])
    print(f"uploaded {len(files)} files, {sum(p.stat().st_size for p in files) / 1e6:.0f} MB to {url}")
    return 0


def usage(pids: list[int]) -> int:
    """CPU seconds (user + system, the process and its living children, and the children it has
    waited for) and the peak resident memory of each process tree, from /proc."""
    import psutil

    total_cpu, peaks = 0.0, []
    for pid in pids:
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        cpu, peak = 0.0, 0
        for process in tree:
            try:
                times = process.cpu_times()
                cpu += times.user + times.system + (times.children_user + times.children_system
                                                    if process is root else 0)
                peak = max(peak, _peak_rss(process.pid))
            except psutil.NoSuchProcess:
                continue
        total_cpu += cpu
        peaks.append(peak)
        print(f"  process {pid}: {cpu:.1f} CPU s, peak RSS {peak / 1e9:.2f} GB (largest process of its tree)")
    print(f"  total: {total_cpu:.1f} CPU s; largest peak RSS {max(peaks, default=0) / 1e9:.2f} GB")
    return 0


def steps(warehouse: Path) -> int:
    """The last run recorded in WAREHOUSE's Dagster instance, by phase: the parse steps (wall from
    the first one's start to the last one's end, and their summed step time: how far they overlapped)
    and every other step one after another, from the run's own STEP_START / STEP_SUCCESS events."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(warehouse / "dagster_home")) as instance:
        run = instance.get_runs(limit=1)[0]
        starts, ends = {}, {}
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None or not event.step_key:
                continue
            if event.event_type_value == "STEP_START":
                starts[event.step_key] = record.timestamp
            elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                ends[event.step_key] = record.timestamp
    parse = [k for k in starts if ".parse_batch[" in k and k in ends]
    if parse:
        wall = max(ends[k] for k in parse) - min(starts[k] for k in parse)
        busy = sum(ends[k] - starts[k] for k in parse)
        print(f"  {len(parse)} parse steps: {wall:.1f} s wall, {busy:.1f} s of step time "
              f"({busy / wall if wall else 0:.2f} running at once on average)")
    others = sorted((k for k in starts if k in ends and k not in parse), key=lambda k: starts[k])
    first, last = min(starts.values()), max(ends.values())
    print(f"  run: {last - first:.1f} s from the first step's start to the last step's end")
    for key in others:
        print(f"  {key:60s} {ends[key] - starts[key]:7.1f} s")
    return 0


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    verb, *args = sys.argv[1:]
    if verb == "upload":
        sys.exit(upload(Path(args[0]), args[1]))
    if verb == "usage":
        sys.exit(usage([int(a) for a in args]))
    if verb == "steps":
        sys.exit(steps(Path(args[0])))
    sys.exit(f"unknown verb {verb}: upload INBOX s3://bucket/prefix | usage PID... | steps WAREHOUSE")
