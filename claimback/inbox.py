"""The inbox: which files are there, what each one is, and its identity (SHA-256).

Files are read, never modified, moved or deleted. A file is named by its path relative to the
inbox, and only files that really lie inside the inbox are taken: a link pointing elsewhere is
refused, so a crafted name can never make claimback read or write outside its folders.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

RECONSIDERATION_LOG_SUFFIX = "reconsiderations.csv"
_CHUNK = 1 << 20


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


def scan(inbox: str | os.PathLike) -> list[InboxFile]:
    """Every regular file below `inbox`, sorted by name; hidden files and folders are skipped."""
    root = Path(inbox)
    if not root.exists():
        raise InboxError(f"inbox folder {root} does not exist; create it or pass --inbox")
    if not root.is_dir():
        raise InboxError(f"inbox {root} is not a folder")
    root = root.resolve()
    found: list[InboxFile] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for fname in files:
            if fname.startswith("."):
                continue
            path = Path(folder, fname)
            real = path.resolve()
            if not real.is_file() or not real.is_relative_to(root):
                continue
            stat = real.stat()
            found.append(InboxFile(real, path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns))
    return sorted(found, key=lambda f: f.name)


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()
