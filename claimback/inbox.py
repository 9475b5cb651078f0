"""The inbox: which files are there, what each one is, and its identity (SHA-256).

Files are read, never modified, moved or deleted. A file is named by its path relative to the
inbox, and only files that really lie inside the inbox are taken: a link pointing elsewhere is
refused, so a crafted name can never make claimback read or write outside its folders.
"""
from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

RECONSIDERATION_LOG_SUFFIX = "reconsiderations.csv"
log = logging.getLogger(__name__)


class InboxError(Exception):
    """The inbox cannot be used (missing, not a folder, unreadable)."""


@dataclass(frozen=True)
class InboxFile:
    path: Path  # absolute, resolved
    name: str  # relative to the inbox, POSIX separators: the `source_file` of every row
    size: int
    mtime_ns: int

    @property
    def is_reconsideration_log(self) -> bool:
        return self.name.lower().endswith(RECONSIDERATION_LOG_SUFFIX)


def scan(inbox: str | os.PathLike, report_links: bool = False) -> list[InboxFile]:
    """Every regular file below `inbox`, sorted by name; hidden files and folders are skipped.

    Links that lead outside the inbox, to a folder or nowhere are not followed; with
    `report_links` (the run's own scan, not a sensor's every tick) they are named in a warning,
    since a link farm of real files would otherwise load nothing without a word."""
    root = Path(inbox)
    if not root.exists():
        raise InboxError(f"inbox folder {root} does not exist; create it or pass --inbox")
    if not root.is_dir():
        raise InboxError(f"inbox {root} is not a folder")
    root = root.resolve()
    found: list[InboxFile] = []
    refused: list[str] = []
    _scan_folder(root, "", found, refused)
    if refused and report_links:
        count = f"{len(refused)} links in the inbox were" if len(refused) > 1 else "1 link in the inbox was"
        log.warning("%s not followed, e.g. %s: a link is read only when it leads to a file inside the inbox; "
                    "copy or move the files in instead", count, sorted(refused)[0])
    return sorted(found, key=lambda f: f.name)


def _scan_folder(root: Path, prefix: str, found: list[InboxFile], refused: list[str]) -> None:
    # Below the resolved root, folders are entered only when they are real folders (not links),
    # so a file that is not itself a link lies inside the inbox: only links need resolving and
    # checking. Resolving every path was most of a 13,000-file scan (3.1 -> 0.2 s).
    with os.scandir(root / prefix if prefix else root) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            name = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                _scan_folder(root, name + "/", found, refused)
            elif entry.is_symlink():
                real = Path(entry.path).resolve()
                if real.is_file() and real.is_relative_to(root):
                    stat = real.stat()
                    found.append(InboxFile(real, name, stat.st_size, stat.st_mtime_ns))
                else:
                    refused.append(name)
            elif entry.is_file(follow_symlinks=False):
                stat = entry.stat(follow_symlinks=False)
                found.append(InboxFile(Path(entry.path), name, stat.st_size, stat.st_mtime_ns))


def sha256_of(path: str | os.PathLike) -> str:
    # file_digest reads into one reused buffer; read(1 MiB) in a loop allocated a fresh megabyte
    # per call, which cost more than hashing (13,143 files, 846 MB: 2.75 -> 1.4 s on one thread)
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sha256_of_all(paths: list[Path], threads: int = 2) -> list[str]:
    """sha256_of every path, in order, on a few threads (hashing releases the GIL). Each thread
    takes a share of the files, not one task per file: with thousands of small files the
    per-task hand-off cost more than the hashing (13,143 files: 2.2 -> 1.2 s)."""
    shares = [paths[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads, thread_name_prefix="claimback-hash") as pool:
        hashed = list(pool.map(lambda share: [sha256_of(p) for p in share], shares))
    out: list[str] = [""] * len(paths)
    for i, share in enumerate(hashed):
        out[i::threads] = share
    return out

