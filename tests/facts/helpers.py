"""Run the whole pipeline on a small inbox of the hand-written X12 files in tests/facts/x12/.

The files are real X12 written by hand from the 835 (005010X221A1) and 837P (005010X222A1)
segment definitions, one segment per line; what each one shows is in tests/facts/x12/README.md.
"""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from claimback.publish import DATABASE_NAME
from pipelines.cli import run_pipeline

X12 = Path(__file__).parent / "x12"
AS_OF = date(2026, 11, 20)


def inbox_of(root: Path, files: dict[str, str]) -> Path:
    """An inbox holding `files` (name in the inbox -> hand-written file in tests/facts/x12)."""
    inbox = root / "inbox"
    inbox.mkdir(parents=True)
    for name, source in files.items():
        shutil.copyfile(X12 / source, inbox / name)
    return inbox


def run(root: Path, files: dict[str, str], as_of: date = AS_OF) -> dict[str, pl.DataFrame]:
    """Every published table after one run on an inbox of `files`."""
    inbox = inbox_of(root, files)
    warehouse = root / "warehouse"
    result = run_pipeline(inbox, warehouse, as_of)
    assert result.success
    return published_tables(warehouse)


def published_tables(warehouse: Path) -> dict[str, pl.DataFrame]:
    """Every table of the published file."""
    with duckdb.connect(str(warehouse / DATABASE_NAME), read_only=True) as con:
        names = [r[0] for r in con.sql("SELECT table_name FROM information_schema.tables "
                                       "WHERE table_type = 'BASE TABLE'").fetchall()]
        return {name: con.sql(f'SELECT * FROM "{name}"').pl() for name in names}
