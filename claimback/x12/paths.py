"""parse_paths: the `claimback parse PATH... --out DIR` batch — files and folders → Parquet.

Every file is converted on its own (no de-duplication across files; that is the lake's job)
— small files share one Polars plan per chunk through read_x12_many, with results identical
to reading each alone — and the tables are concatenated over files and written as
out_dir/<table>.parquet for every table in schema.PARSED_TABLES, each atomically (temp file + os.replace) so a reader of the
folder never sees half a file.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import polars as pl

from claimback import schema
from claimback.x12.reader import read_x12_many


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files named directly, plus every file under named folders (recursive, any extension,
    dotfiles and dot-folders skipped), in a stable sorted order."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(Path(root) / f for f in sorted(files) if not f.startswith("."))
        elif p.is_file():
            out.append(p)
    return out


def parse_paths(
    paths: list[str | os.PathLike],
    out_dir: str | os.PathLike,
    progress: Callable[[int, int, int, float], None] | None = None,
) -> dict:
    """Parse every file under `paths` and write one Parquet file per parsed table to `out_dir`.

    Returns {"files": n, "tables": {table: rows}, "per_file": [{source_file, file_type,
    transactions, quarantined, <table>: rows...}], "missing": [paths that do not exist]}.
    `progress(files_done, files_total, bytes_done, seconds)` is called after each file (files
    are read in chunks, so the calls of one chunk arrive together).
    """
    files = expand_paths(paths)
    missing = [str(p) for p in paths if not Path(p).exists()]
    collected: dict[str, list[pl.DataFrame]] = {t: [] for t in schema.PARSED_TABLES}
    per_file = []
    started, done_bytes = time.perf_counter(), 0
    for chunk in _chunks(files):
        for path, pf in zip(chunk, read_x12_many(chunk, [str(p) for p in chunk])):
            for table, frame in pf.tables.items():
                if frame.height:
                    collected[table].append(frame)
            per_file.append({
                "source_file": str(path), "file_sha256": pf.file_sha256, "file_type": pf.file_type,
                "transactions": pf.transactions, "quarantined": pf.quarantined,
                **{t: pf.tables[t].height for t in schema.PARSED_TABLES},
            })
            done_bytes += pf.bytes
            if progress:
                progress(len(per_file), len(files), done_bytes, time.perf_counter() - started)
    pf = None  # the last file's tables are in `collected` too; hold them once, not twice
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table in schema.PARSED_TABLES:
        frames = collected.pop(table)  # let each table go once written
        frame = pl.concat(frames, rechunk=False) if frames else schema.empty(table)
        del frames
        _write_atomically(frame, out / f"{table}.parquet")
        counts[table] = frame.height
        del frame
    return {"files": len(files), "tables": counts, "per_file": per_file, "missing": missing}


CHUNK_FILES = 200
CHUNK_BYTES = 64_000_000


def _chunks(files: list[Path]) -> Iterator[list[Path]]:
    """Consecutive groups of at most CHUNK_FILES files / CHUNK_BYTES bytes (a larger file alone),
    so a batch of small files shares one plan without reading a whole inbox into memory."""
    chunk: list[Path] = []
    size = 0
    for path in files:
        try:
            n = path.stat().st_size
        except OSError:
            n = 0  # the reader quarantines it
        if chunk and (len(chunk) >= CHUNK_FILES or size + n > CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(path)
        size += n
    if chunk:
        yield chunk


def _write_atomically(frame: pl.DataFrame, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        frame.write_parquet(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def stderr_progress(done: int, total: int, nbytes: int, seconds: float) -> None:
    rate = nbytes / 1e6 / seconds if seconds > 0 else 0.0
    print(f"\r{done}/{total} files, {nbytes / 1e6:.1f} MB, {rate:.1f} MB/s", end="", file=sys.stderr, flush=True)
    if done == total:
        print(file=sys.stderr)
