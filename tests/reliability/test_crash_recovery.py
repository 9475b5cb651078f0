"""A run killed at any point (SIGKILL: no cleanup runs) leaves the published DuckDB file either the
previous complete one or the new complete one, and the next run finishes with exactly the tables
an uninterrupted run publishes.

The kill points are found by watching the warehouse from outside, as an operator would see them:
progress lines while files are parsed, a batch whose lake files are written but whose registry
row (its commit record) is not, and the temporary DuckDB file of a publish in progress.
"""
from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Callable

import pytest

from tests.reliability.harness import assert_same_tables, published_tables, run, start_run

POLL_SECONDS = 0.002


def parsing(warehouse: Path, stderr: Path) -> bool:
    """A parse batch reported done and more to come, so the reader is mid-inbox."""
    return stderr.exists() and stderr.read_text().count("] batch ") >= 1


def writing_lake(warehouse: Path, stderr: Path) -> bool:
    """A batch has some reader tables (or a temporary Parquet file) in the lake and no registry
    row yet: killed now, the batch is half written."""
    raw = warehouse / "lake" / "raw"
    if not raw.is_dir():
        return False
    committed = {p.stem for p in (raw / "ingested_files").glob("*.parquet")}
    for table in os.scandir(raw):
        if table.name == "ingested_files" or not table.is_dir():
            continue
        for entry in os.scandir(table.path):
            if entry.name.endswith(".tmp") or (entry.name.endswith(".parquet") and entry.name[:-8] not in committed):
                return True
    return False


def publishing(warehouse: Path, stderr: Path) -> bool:
    return any(p.name.startswith(".claimback.") and p.name.endswith(".tmp") for p in warehouse.iterdir())


def kill_when(proc, seen: Callable[[], bool], timeout: float = 900) -> bool:
    """SIGKILL `proc` the moment `seen()` holds; False if the run ended first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            hit = seen()
        except OSError:  # a file vanished between listing and reading: the run is moving on
            hit = False
        if hit:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(POLL_SECONDS)
    proc.wait(timeout=60)
    return False


pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_killed_runs_keep_a_complete_file_and_the_next_run_catches_up(first_night, full_night, tmp_path):
    """The next night is killed three times in a row (while parsing, while writing a lake batch,
    while publishing), each run resuming from what the last left, and then completes."""
    warehouse = tmp_path / "warehouse"
    shutil.copytree(first_night.warehouse, warehouse)
    for moment in (parsing, writing_lake, publishing):
        stderr = tmp_path / f"stderr-{moment.__name__}.txt"
        proc = start_run(full_night.inbox.path, warehouse, stderr)
        assert kill_when(proc, lambda: moment(warehouse, stderr)), f"the run ended before {moment.__name__}"
        assert proc.returncode == -signal.SIGKILL

        after_crash = published_tables(warehouse, full_night.inbox.path)  # it opens: a complete DuckDB database
        if moment is publishing:
            assert after_crash in (first_night.tables, full_night.tables), moment.__name__
        else:
            assert_same_tables(after_crash, first_night.tables)

    run(full_night.inbox.path, warehouse)
    assert_same_tables(published_tables(warehouse, full_night.inbox.path), full_night.tables)
    # and what the killed runs were writing (a DuckDB file being built, a Parquet file) is gone
    assert not list(warehouse.glob(".claimback*.tmp*")) and not list((warehouse / "lake").rglob("*.tmp"))
