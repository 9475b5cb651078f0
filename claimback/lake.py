"""The Parquet lake under the warehouse folder: where every stage keeps its tables between runs.

Layout (all below WAREHOUSE/lake):

    raw/<table>/<batch_id>.parquet   what the reader produced, one file per ingest batch
    current/<table>.parquet          the de-duplicated tables every later stage reads
    derived/<table>.parquet          denials, trend clusters, work queue, ...

Every write goes to a temporary name in the same folder and is renamed into place, so a reader
(or a crash) never sees half a file. Every read names its files literally (glob=False): a
warehouse path may contain `[`, `*` or `?`, which Polars would otherwise expand as a pattern. Parquet between stages, rather than one DuckDB file, lets
parallel steps write without a shared writer and lets analysts read without blocking a run.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from claimback import schema


class Lake:
    def __init__(self, warehouse: str | os.PathLike):
        self.warehouse = Path(warehouse)
        self.root = self.warehouse / "lake"

    # --- locations -------------------------------------------------------------------------
    def raw_dir(self, table: str) -> Path:
        return self.root / "raw" / table

    def current_path(self, table: str) -> Path:
        return self.root / "current" / f"{table}.parquet"

    def derived_path(self, table: str) -> Path:
        return self.root / "derived" / f"{table}.parquet"

    def state_path(self, table: str) -> Path:
        """Run-to-run bookkeeping (what changed since the last run): kept, never published."""
        return self.root / "state" / f"{table}.parquet"

    def path_of(self, table: str) -> Path:
        """Where the readable version of a table lives (current for ingested, else derived)."""
        current = self.current_path(table)
        return current if current.exists() else self.derived_path(table)

    # --- reading ---------------------------------------------------------------------------
    def read(self, table: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """A published-shape table from the lake; the empty contract table if not built yet.

        `columns` reads only those (in that order): a stage that needs five columns of a wide
        table should not hold the other thirty, PHI included, in memory. A column the file does
        not have (an older lake) is left out, as a whole-table read would have it.
        """
        path = self.path_of(table)
        if not path.exists():
            frame = schema.empty(table) if table in schema.TABLES else pl.DataFrame()
        elif columns is None:
            return pl.read_parquet(path, glob=False)
        else:
            present = pl.scan_parquet(path, glob=False).collect_schema()
            return pl.read_parquet(path, columns=[c for c in columns if c in present], glob=False)
        return frame if columns is None else frame.select(c for c in columns if c in frame.columns)

    def scan(self, table: str) -> pl.LazyFrame:
        path = self.path_of(table)
        if not path.exists():
            return (schema.empty(table) if table in schema.TABLES else pl.DataFrame()).lazy()
        return pl.scan_parquet(path, glob=False)

    def tables(self) -> dict[str, Path]:
        """Every readable table: name -> Parquet file (current wins over derived)."""
        found: dict[str, Path] = {}
        for kind in ("derived", "current"):
            for path in sorted((self.root / kind).glob("*.parquet")):
                found[path.stem] = path
        return found

    # --- writing ---------------------------------------------------------------------------
    def write_raw(self, table: str, batch_id: str, frame: pl.DataFrame) -> Path:
        return write_parquet_atomic(frame, self.raw_dir(table) / f"{batch_id}.parquet")

    def write_current(self, table: str, frame: pl.DataFrame | pl.LazyFrame) -> Path:
        return write_parquet_atomic(frame, self.current_path(table))

    def write_derived(self, table: str, frame: pl.DataFrame) -> Path:
        return write_parquet_atomic(frame, self.derived_path(table))

    def write_state(self, table: str, frame: pl.DataFrame) -> Path:
        return write_parquet_atomic(frame, self.state_path(table))

    def read_state(self, table: str) -> pl.DataFrame:
        path = self.state_path(table)
        return pl.read_parquet(path, glob=False) if path.exists() else pl.DataFrame()


def write_parquet_atomic(frame: pl.DataFrame | pl.LazyFrame, target: Path) -> Path:
    """Write `frame` to `target` through a temporary file and a rename: all or nothing."""
    private_dir(target.parent)
    handle, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        if isinstance(frame, pl.LazyFrame):
            frame.sink_parquet(tmp, compression="zstd")
        else:
            frame.write_parquet(tmp, compression="zstd")
        _fsync(tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def private_dir(folder: Path) -> None:
    """Create `folder` and any missing parents readable by the owner only: the lake holds PHI,
    and even its file names (batch ids, table names) are nobody else's business."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
