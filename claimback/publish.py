"""Publish the lake as one DuckDB file analysts open: built aside, swapped in whole.

The file is built under a temporary name in the warehouse folder, checkpointed and closed, made
readable by its owner only, and renamed over `claimback.duckdb`. An analyst's open read-only
connection keeps reading the previous night's file until it reconnects; nobody ever sees half a
build, and no analyst connection can block a run (DuckDB allows one writer per file, and the
pipeline never writes to the file analysts have open).
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from claimback import __version__
from claimback.lake import Lake

log = logging.getLogger(__name__)

DATABASE_NAME = "claimback.duckdb"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class PublishError(Exception):
    """The DuckDB file could not be built; the previous one is still in place."""


@dataclass
class Published:
    path: Path
    tables: dict[str, int]
    views: list[str]


def publish(lake: Lake, sql_dir: Path | None = None, as_of: date | None = None) -> Published:
    target = lake.warehouse / DATABASE_NAME
    lake.warehouse.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".claimback.", suffix=".duckdb.tmp", dir=lake.warehouse)
    os.close(handle)
    os.unlink(tmp)  # DuckDB must create the file itself
    try:
        with duckdb.connect(tmp) as con:
            con.execute("SET threads TO 2")
            counts = _load_tables(con, lake)
            views = _create_views(con, sql_dir) if sql_dir else []
            _write_publish_info(con, counts, as_of)
            con.execute("CHECKPOINT")
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except Exception as exc:
        for leftover in (tmp, tmp + ".wal"):
            Path(leftover).unlink(missing_ok=True)
        if isinstance(exc, PublishError):
            raise
        raise PublishError(f"could not build {DATABASE_NAME}: {exc}") from exc
    log.info("published %s: %d tables, %d views", target.name, len(counts), len(views))
    return Published(target, counts, views)


def _load_tables(con: duckdb.DuckDBPyConnection, lake: Lake) -> dict[str, int]:
    counts = {}
    for name, path in sorted(lake.tables().items()):
        if not _IDENTIFIER.match(name):
            continue
        literal = str(path).replace("'", "''")
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM read_parquet(\'{literal}\')')
        counts[name] = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
    return counts


def _create_views(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> list[str]:
    """Run every sql/*.sql; a view may use another, so retry until nothing more succeeds."""
    pending = {p.name: p.read_text() for p in sorted(Path(sql_dir).glob("*.sql"))}
    created: list[str] = []
    while pending:
        errors = {}
        for name, text in list(pending.items()):
            try:
                con.execute(text)
            except duckdb.Error as exc:
                errors[name] = exc
                continue
            created.append(name.removesuffix(".sql"))
            del pending[name]
        if errors and len(errors) == len(pending):
            first = next(iter(errors))
            raise PublishError(f"sql/{first} failed: {errors[first]}")
    return created


def _write_publish_info(con: duckdb.DuckDBPyConnection, counts: dict[str, int], as_of: date | None) -> None:
    con.execute(
        "CREATE TABLE publish_info AS SELECT ?::DATE AS as_of, ?::TIMESTAMPTZ AS published_at, "
        "?::VARCHAR AS claimback_version, ?::VARCHAR AS duckdb_version, ?::MAP(VARCHAR, BIGINT) AS row_counts",
        [as_of, datetime.now(timezone.utc), __version__, duckdb.__version__, counts],
    )
