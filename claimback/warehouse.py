"""One writer per warehouse: the lock every run holds, owner-only modes, and what killed runs left.

Two runs on one warehouse register the same inbox files twice, and every later run then fails
on duplicate claim keys. So every run — `claimback run`, and each run the Dagster UI, the inbox
sensor or the nightly schedule launches — holds an exclusive `fcntl.flock` on
WAREHOUSE/.claimback.lock from before it reads the inbox until it has published. The OS drops
the lock when the holding process ends, however it ends, so a killed run never leaves a stale
lock behind and nobody ever has to delete the file.

While it holds the lock a run also works owner-only (umask 077, the warehouse, lake and packets
folders 0700) and removes the temporary files of runs that were killed half way: with the lock
held, no other run can be writing them.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_NAME = ".claimback.lock"
# A sensor's look at the lock holds it for a moment; a run starting just then waits this long
# before it gives up, rather than refusing because of a probe.
GRACE_SECONDS = 3.0
PRIVATE_FOLDERS = ("lake", "packets")
# Temporary names of the published files (claimback/publish.py): DuckDB adds .wal and, when it
# spills, a .tmp folder, to whatever name it is given.
LEFTOVER_PATTERNS = (".claimback.*.duckdb.tmp*", ".claimback_deidentified.duckdb.*.tmp*")


class WarehouseBusy(Exception):
    """Another run holds the warehouse; this one did nothing."""


def check_path(warehouse: str | os.PathLike) -> None:
    """A ValueError saying what to do when DuckDB cannot publish under this folder: it reads a
    '?' in a database path as the start of options and writes its .wal somewhere else. Glob
    characters ([ ] * ?) are otherwise fine: every read names its files literally."""
    if "?" in str(warehouse):
        raise ValueError(f"the warehouse path {warehouse} contains '?', which DuckDB cannot use in a database "
                         "file's path; rename the folder or choose another")


@contextmanager
def one_writer(warehouse: str | os.PathLike, holder: str, grace_seconds: float = GRACE_SECONDS) -> Iterator[None]:
    """Hold the warehouse for one run: the lock, umask 077 and owner-only folders, leftovers of
    killed runs removed. `holder` says who holds it (shown to a run that finds it held); it must
    not carry PHI. Raises WarehouseBusy when another run keeps the lock past `grace_seconds`."""
    check_path(warehouse)
    warehouse = Path(warehouse)
    previous_umask = os.umask(0o077)
    try:
        warehouse.mkdir(parents=True, exist_ok=True)
        fd = os.open(warehouse / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _acquire(fd, warehouse, grace_seconds)
            since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{holder}, process {os.getpid()}, since {since}\n".encode(), 0)
            make_private(warehouse)
            removed = remove_leftovers(warehouse)
            if removed:
                log.info("removed %d temporary files left by an interrupted run", removed)
            yield
        finally:
            os.close(fd)  # closing the only descriptor releases the lock
    finally:
        os.umask(previous_umask)


def _acquire(fd: int, warehouse: Path, grace_seconds: float) -> None:
    deadline = time.monotonic() + grace_seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"another claimback run is using the warehouse {warehouse} "
                    f"({_holder_text(fd) or 'holder unknown'}); this run changed nothing. Run again when "
                    "it has finished: the lock is released as soon as that run ends, even if it is killed"
                ) from None
            time.sleep(0.1)


def _holder_text(fd: int) -> str:
    try:
        return os.pread(fd, 512, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def holder(warehouse: str | os.PathLike) -> str | None:
    """Who holds the warehouse now (None when no run does). For the sensor and the schedule,
    which skip rather than start a run that would only find the warehouse busy. Creates nothing."""
    try:
        fd = os.open(Path(warehouse) / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:  # shared: two looks at once do not block each other
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder_text(fd) or "a run"
        return None
    finally:
        os.close(fd)


def make_private(warehouse: Path) -> None:
    """The warehouse and the folders below it that hold PHI, owner-only (0700), and the
    published files 0600; a warehouse made before claimback set modes is tightened here."""
    for folder in (warehouse, *(warehouse / name for name in PRIVATE_FOLDERS)):
        _chmod_owned(folder, 0o700)
    for path in warehouse.glob("*.duckdb"):
        _chmod_owned(path, 0o600)


def _chmod_owned(path: Path, mode: int) -> None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    # Only what this account owns (chmod would fail on anything else), and never through a link.
    if st.st_uid == os.geteuid() and not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)


def remove_leftovers(warehouse: Path) -> int:
    """Delete the temporary files of runs killed half way (a published file being built, a
    Parquet file being written). Only called with the lock held, when no run can own them."""
    found = [p for pattern in LEFTOVER_PATTERNS for p in warehouse.glob(pattern)]
    for name in PRIVATE_FOLDERS:  # Parquet files and packets are written as <name>.tmp, then renamed
        folder = warehouse / name
        if folder.is_dir():
            found += [p for p in folder.rglob("*.tmp") if p.is_file()]
    for path in found:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return len(found)
