"""The inbox: which files are there, what each one is, and its identity (SHA-256).

Files are read, never modified, moved or deleted. A file is named by its path relative to the
inbox, and only files that really lie inside the inbox are taken: a link pointing elsewhere is
refused, so a crafted name can never make claimback read or write outside its folders.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from claimback import storage

RECONSIDERATION_LOG_SUFFIX = "reconsiderations.csv"
FEE_SCHEDULE_SUFFIX = "fee_schedule.csv"  # the contract fee schedule (claimback.underpayments)
log = logging.getLogger(__name__)


class InboxError(Exception):
    """The inbox cannot be used (missing, not a folder, unreadable)."""


@dataclass(frozen=True)
class InboxFile:
    where: str | Path  # absolute, resolved: a local file as listed, or a UPath (an object store)
    name: str  # relative to the inbox, POSIX separators: the `source_file` of every row
    size: int
    mtime_ns: int

    @cached_property
    def path(self) -> Path:
        """The file's path, made when first asked for: a night's plan looks at the name, size and
        time of every file and opens only the new ones, and a Path for each of 51,155 files was
        0.5 s of the inbox's 0.9 s scan."""
        return Path(self.where) if isinstance(self.where, str) else self.where

    @property
    def is_reconsideration_log(self) -> bool:
        return is_reconsideration_log(self.name)

    @property
    def is_fee_schedule(self) -> bool:
        return is_fee_schedule(self.name)

    @property
    def is_csv_input(self) -> bool:
        """A hand-kept table read whole every run (a log or a fee schedule), not X12."""
        return self.is_reconsideration_log or self.is_fee_schedule


def is_reconsideration_log(name: str) -> bool:
    return name.lower().endswith(RECONSIDERATION_LOG_SUFFIX)


def is_fee_schedule(name: str) -> bool:
    return name.lower().endswith(FEE_SCHEDULE_SUFFIX)


def scan(inbox: str | os.PathLike, report_links: bool = False,
         named: Callable[[str], bool] | None = None) -> list[InboxFile]:
    """Every regular file below `inbox`, sorted by name. Never raises for what is inside the
    inbox: an entry that cannot be read is skipped. With `named`, only the files whose name
    passes it: the others are not looked at (a night's reconsideration logs are found among
    51,155 X12 files by their names, not by a look at each file: 0.5-0.7 -> 0.04-0.1 s).

    Skipped: links that lead outside the inbox, to a folder, nowhere or round in a loop; hidden
    files and folders (names starting with a dot); FIFOs, sockets and devices (opening a FIFO
    would wait forever); folders that cannot be listed; names that are not UTF-8 (every table
    names its source file, and such a name cannot be written). With `report_links` (the run's
    own scan, not a sensor's every tick) each kind is named in one warning saying what to do,
    since an inbox of such entries would otherwise load nothing without a word."""
    root = storage.location(inbox)
    if storage.is_remote(root):
        return [f for f in _scan_objects(root) if named is None or named(f.name)]
    if not root.exists():
        raise InboxError(f"inbox folder {root} does not exist; create it or pass --inbox")
    if not root.is_dir():
        raise InboxError(f"inbox {root} is not a folder")
    root = root.resolve()
    found: list[InboxFile] = []
    skipped: dict[str, list[str]] = {}
    _scan_folder(root, "", found, skipped, named)
    if report_links:
        for reason, names in skipped.items():
            report_skipped(reason, names)
    return sorted(found, key=lambda f: f.name)


# Why an inbox entry was not read, and what to do about it (the warning's wording).
LINK = "not followed: a link is read only when it leads to a file inside the inbox; copy or move the files in instead"
LINK_LOOP = "not followed: the link leads round in a loop; remove or fix it"
HIDDEN = "skipped: names starting with a dot are not read; rename it if it is an 835, 837 or reconsideration log"
NOT_A_FILE = "skipped: not a regular file (a FIFO, socket or device); put the file itself in the inbox"
FOLDER_UNREADABLE = "skipped: the folder cannot be listed; give the account running claimback read access"
NAME_NOT_UTF8 = "skipped: the file name is not valid UTF-8; rename it"
UNREADABLE = "skipped: the file cannot be read; give the account running claimback read access (it is read then)"


def report_skipped(reason: str, names: list[str]) -> None:
    """One warning for every inbox entry skipped for `reason`: how many, the first name, what to do."""
    if not names:
        return
    first = sorted(names)[0].encode("utf-8", "backslashreplace").decode("utf-8")
    what = f"{len(names)} inbox entries were" if len(names) > 1 else "1 inbox entry was"
    log.warning("%s %s (e.g. %s)", what, reason, first)


def _scan_folder(root: Path, prefix: str, found: list[InboxFile], skipped: dict[str, list[str]],
                 named: Callable[[str], bool] | None = None) -> None:
    # Below the resolved root, folders are entered only when they are real folders (not links),
    # so a file that is not itself a link lies inside the inbox: only links need resolving and
    # checking. Resolving every path was most of a 13,000-file scan (3.1 -> 0.2 s).
    def skip(reason: str, name: str) -> None:
        skipped.setdefault(reason, []).append(name)

    try:
        with os.scandir(root / prefix if prefix else root) as entries:
            listed = list(entries)
    except OSError:
        if not prefix:
            raise InboxError(f"inbox {root} cannot be listed; give the account running claimback read access") from None
        skip(FOLDER_UNREADABLE, prefix.rstrip("/"))
        return
    for entry in listed:
        name = prefix + entry.name
        try:
            if entry.name.startswith("."):
                skip(HIDDEN, name)
            elif not _is_utf8(name):
                skip(NAME_NOT_UTF8, name)
            elif entry.is_dir(follow_symlinks=False):
                _scan_folder(root, name + "/", found, skipped, named)
            elif named is not None and not named(name):
                continue
            elif entry.is_symlink():
                try:
                    real = Path(entry.path).resolve(strict=True)
                except (RuntimeError, OSError) as exc:  # a loop (RuntimeError before 3.13), or broken
                    skip(LINK_LOOP if _is_loop(exc) else LINK, name)
                    continue
                if real.is_file() and real.is_relative_to(root):
                    stat = real.stat()
                    found.append(InboxFile(real, name, stat.st_size, stat.st_mtime_ns))
                else:
                    skip(LINK, name)
            elif entry.is_file(follow_symlinks=False):
                stat = entry.stat(follow_symlinks=False)
                found.append(InboxFile(entry.path, name, stat.st_size, stat.st_mtime_ns))
            else:
                skip(NOT_A_FILE, name)
        except OSError:  # vanished or unreadable between the listing and the look
            skip(UNREADABLE, name)


def _scan_objects(root) -> list[InboxFile]:
    """Every object below an object store prefix, sorted by name: an object store has no links,
    FIFOs or unreadable folders, so only hidden names (a part starting with a dot) are skipped.
    Size and last-modified come from the listing, one request per thousand objects."""
    try:
        listed = root.fs.find(root.path, detail=True)
    except OSError as exc:
        raise InboxError(f"inbox {root} cannot be listed: {exc}") from None
    found = []
    prefix = root.path.rstrip("/") + "/"
    for key, info in listed.items():
        if info.get("type") != "file" or not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        if any(part.startswith(".") for part in name.split("/")):
            continue
        found.append(InboxFile(root / name, name, int(info["size"]), _mtime_ns(info)))
    return sorted(found, key=lambda f: f.name)


def _mtime_ns(info: dict) -> int:
    """An object's last-modified time in nanoseconds, as `stat()` of its UPath gives it."""
    modified = info.get("LastModified") or info.get("mtime")
    return int(modified.timestamp() * 1_000_000_000) if modified is not None else 0


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")  # os.scandir decodes undecodable bytes to lone surrogates
    except UnicodeEncodeError:
        return False
    return True


def _is_loop(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP


def _sha256_or_none(path: Path) -> str | None:
    try:
        return sha256_of(path)
    except OSError:
        return None


def sha256_of(path: str | os.PathLike) -> str:
    # file_digest reads into one reused buffer; read(1 MiB) in a loop allocated a fresh megabyte
    # per call, which cost more than hashing (13,143 files, 846 MB: 2.75 -> 1.4 s on one thread)
    with storage.open_read(path) as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sha256_of_all(paths: list[Path], threads: int = 2) -> list[str | None]:
    """sha256_of every path, in order, on a few threads (hashing releases the GIL; objects of an
    object store on more, since there the time is waiting on the network); None for a
    file that cannot be read (permissions, gone since the scan). Each thread takes a share of
    the files, not one task per file: with thousands of small files the per-task hand-off cost
    more than the hashing (13,143 files: 2.2 -> 1.2 s)."""
    if any(storage.is_remote(p) for p in paths):
        threads = max(threads, storage.REMOTE_READ_THREADS)
    shares = [paths[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads, thread_name_prefix="claimback-hash") as pool:
        hashed = list(pool.map(lambda share: [_sha256_or_none(p) for p in share], shares))
    out: list[str | None] = [None] * len(paths)
    for i, share in enumerate(hashed):
        out[i::threads] = share
    return out

