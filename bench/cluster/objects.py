"""The object store side of bench/cluster/run.sh: make a bucket and copy an inbox into it, and
report the CPU time and peak memory of the processes the script started.

    python bench/cluster/objects.py upload INBOX s3://bucket/prefix    # creates the bucket if missing
    python bench/cluster/objects.py usage PID...                          # CPU s and peak RSS, with children

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
    sys.exit(f"unknown verb {verb}: upload INBOX s3://bucket/prefix | usage PID...")
