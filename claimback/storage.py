"""Where the lake and the inbox live: a local folder or an object store (`s3://bucket/prefix`),
behind one path type.

`location("s3://bucket/claimback/lake")` is a `upath.UPath` over fsspec (s3fs), `location("/srv/lake")`
a plain `pathlib.Path`; both answer `/`, `glob`, `exists`, `stat`, `open`, `unlink` the same way, so
the lake and the inbox have one code path. What differs is said here once:

* an object store has no rename: a write goes straight to its final key, and a PUT (or a multipart
  upload, completed on close) is all or nothing, so a reader never sees half an object;
* Polars and DuckDB read by the path's text (`str(path)`): Polars reads `s3://` with its own object
  store client, DuckDB through the same fsspec filesystem (`register`), both with the standard
  AWS settings of the environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ... or an instance role);
* s3fs caches listings by default, which would hide an object another process (a parse step on
  another worker) wrote since: listings are never cached here.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

# Schemes read through fsspec. A local path (or file://) stays a pathlib.Path.
REMOTE_SCHEMES = ("s3://", "s3a://", "gs://", "gcs://", "az://", "abfs://", "memory://")


def is_url(text: str | os.PathLike) -> bool:
    return isinstance(text, str) and text.startswith(REMOTE_SCHEMES)


def location(text: str | os.PathLike) -> Path:
    """The path of a folder or file given as text: a `Path`, or a `UPath` for an object store URL.
    (Typed `Path` for the callers: a UPath answers the same methods.)"""
    if isinstance(text, Path) or not is_url(str(text)):
        return Path(text)
    from upath import UPath  # imported only where an object store is used

    return UPath(str(text), use_listings_cache=False)  # another worker's writes must show at once


def is_remote(path: str | os.PathLike) -> bool:
    """True for a path on an object store (a UPath that is not a local file)."""
    return not isinstance(path, Path) and hasattr(path, "fs")


def open_read(path: str | os.PathLike):
    """A binary file object for reading, local or remote."""
    return path.open("rb") if is_remote(path) else open(path, "rb")


# Threads hashing objects of an object store: the time is the network's, not the CPU's.
REMOTE_READ_THREADS = 16


def register(con, paths: Sequence) -> None:
    """Let a DuckDB connection read `s3://...` paths through the same fsspec filesystem."""
    remote = next((p for p in paths if is_remote(p)), None)
    if remote is not None:
        con.register_filesystem(remote.fs)


@contextmanager
def local_copies(paths: Sequence) -> Iterator[list[Path]]:
    """Local files to hand a reader that needs a real file (the X12 reader maps or opens paths):
    local paths as they are, objects downloaded to a private temporary folder that is removed
    afterwards (with what it holds: PHI never stays on a worker's disk)."""
    if not any(is_remote(p) for p in paths):
        yield [Path(p) for p in paths]
        return
    folder = Path(tempfile.mkdtemp(prefix="claimback-objects-"))
    try:
        local = [Path(p) if not is_remote(p) else folder / f"{i:06d}-{p.name}" for i, p in enumerate(paths)]
        remote = [(p, target) for p, target in zip(paths, local) if is_remote(p)]
        # One call for all of them: s3fs fetches many objects at once (a batch of 250 small files
        # one GET after another spent most of its time waiting on the network).
        remote[0][0].fs.get([p.path for p, _ in remote], [str(t) for _, t in remote])
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)
