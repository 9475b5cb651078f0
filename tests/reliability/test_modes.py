"""Owner-only, at every moment of a run, and nothing left behind by a killed one.

The lake, the published files and their temporaries hold names and member ids. A run started
with a permissive umask (022, the usual default) is watched from outside while it runs: every
file and folder under the warehouse is looked at again and again, and none may ever be readable
by group or others — the temporary DuckDB file and its .wal during publish included, which were
0644 in a 0755 warehouse before. Leftovers of a killed run are removed by the next one.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from claimback.warehouse import one_writer
from tests.reliability.harness import AS_OF, ROOT, _env

pytestmark = [pytest.mark.timeout(900)]


def _too_open(warehouse: Path) -> tuple[list[str], bool]:
    """Entries under `warehouse` (itself included) readable by group or others, and whether a
    published file was being built at that moment."""
    found, publishing = [], False
    for folder, dirs, files in os.walk(warehouse):
        for name in [None, *files]:
            path = Path(folder) / name if name else Path(folder)
            try:
                st = os.lstat(path)
            except FileNotFoundError:  # renamed or removed since the listing
                continue
            if name and name.startswith(".claimback") and ".duckdb" in name and name.endswith((".tmp", ".wal")):
                publishing = True
            if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
                found.append(f"{path.relative_to(warehouse.parent)} {stat.S_IMODE(st.st_mode):o}")
    return found, publishing


@pytest.mark.slow
def test_no_file_under_the_warehouse_is_ever_readable_by_others_during_a_run(demo_inbox, tmp_path):
    warehouse = tmp_path / "warehouse"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run", "--inbox", str(demo_inbox.path), "--warehouse", str(warehouse),
         "--as-of", AS_OF.isoformat(), "--batch-files", "3", "--deidentify"],
        cwd=ROOT, env=_env(), umask=0o022, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    exposed: set[str] = set()
    samples = publishing_samples = 0
    done = threading.Event()

    def watch():
        nonlocal samples, publishing_samples
        while not done.is_set():
            if warehouse.exists():
                found, publishing = _too_open(warehouse)
                exposed.update(found)
                samples += 1
                publishing_samples += publishing

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        _, err = proc.communicate(timeout=600)
    finally:
        done.set()
        watcher.join()
    assert proc.returncode == 0, err[-2000:]
    assert samples > 50 and publishing_samples > 0, (samples, publishing_samples)
    assert not exposed, sorted(exposed)[:20]
    assert _too_open(warehouse) == ([], False)
    for packet in (warehouse / "packets").rglob("*.pdf"):
        assert packet.stat().st_mode & 0o777 == 0o600


def test_a_warehouse_made_before_is_tightened_and_a_killed_runs_temporaries_removed(tmp_path):
    warehouse = tmp_path / "warehouse"
    # what an older version or a SIGKILL during publish and parse left: world-readable, for good
    leftovers = [warehouse / ".claimback.k3x9.duckdb.tmp", warehouse / ".claimback.k3x9.duckdb.tmp.wal",
                 warehouse / ".claimback_deidentified.duckdb.4242.tmp",
                 warehouse / "lake" / "raw" / "remit_claims" / ".0123abcd.x1y2.tmp",
                 warehouse / "packets" / "trends" / "cluster-1.pdf.tmp"]
    kept = [warehouse / "claimback.duckdb", warehouse / "lake" / "current" / "remit_claims.parquet",
            warehouse / "packets" / "trends" / "cluster-1.pdf"]
    for path in leftovers + kept:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        path.write_bytes(b"PHI")
        path.chmod(0o644)
    (warehouse / ".claimback.k3x9.duckdb.tmp.tmp").mkdir(mode=0o755)  # a DuckDB spill folder
    for folder in (warehouse, warehouse / "lake", warehouse / "packets"):
        folder.chmod(0o755)

    old_umask = os.umask(0o022)
    try:
        with one_writer(warehouse, "a test"):
            assert os.umask(0o077) == 0o077  # the run's umask (os.umask returns the previous one)
            assert not [p for p in leftovers if p.exists()]
            assert not (warehouse / ".claimback.k3x9.duckdb.tmp.tmp").exists()
            assert all(p.exists() for p in kept)
            for folder in (warehouse, warehouse / "lake", warehouse / "packets"):
                assert folder.stat().st_mode & 0o777 == 0o700, folder
            assert (warehouse / "claimback.duckdb").stat().st_mode & 0o777 == 0o600
        assert os.umask(0o022) == 0o022  # given back after the run
    finally:
        os.umask(old_umask)
