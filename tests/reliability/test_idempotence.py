"""Running again changes nothing: the same inbox twice, or the same remit delivered twice (a copy
under another name, or the same transactions re-sent with other formatting), publishes the same
tables.
"""
from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.reliability.harness import DATABASE, assert_same_tables, published_tables, run


pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_second_run_on_the_same_inbox_publishes_identical_tables(full_night, tmp_path):
    warehouse = tmp_path / "warehouse"
    shutil.copytree(full_night.warehouse, warehouse)
    run(full_night.inbox.path, warehouse)
    assert_same_tables(published_tables(warehouse, full_night.inbox.path), full_night.tables)


def _reformatted(data: bytes) -> bytes:
    """The same interchanges with a line break after every segment, as another clearinghouse
    (or a resend through another system) would format them: new bytes, the same transactions."""
    terminator = data[105:106]
    flat = data.replace(b"\r", b"").replace(b"\n", b"")
    return flat.replace(terminator, terminator + b"\r\n")


def test_the_same_remit_delivered_twice_loads_once(full_night, tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(full_night.inbox.path, inbox)
    remits = [p for p in sorted(inbox.iterdir()) if p.name.endswith("-835.x12")]
    copied = remits[0]
    resent = next(p for p in remits if p.read_bytes()[105:106] not in b"\r\n")  # a terminator other than a line break
    shutil.copy(copied, inbox / f"resent-{copied.stem}.txt")
    (inbox / f"reformatted-{resent.stem}.edi").write_bytes(_reformatted(resent.read_bytes()))
    warehouse = tmp_path / "warehouse"
    shutil.copytree(full_night.warehouse, warehouse)

    run(inbox, warehouse)

    assert_same_tables(published_tables(warehouse, inbox), full_night.tables, ignore={"ingested_files"})
    with duckdb.connect(str(warehouse / DATABASE), read_only=True) as con:
        status = dict(con.execute(
            "SELECT source_file, status FROM ingested_files WHERE source_file LIKE 'resent-%' "
            "OR source_file LIKE 'reformatted-%'").fetchall())
    assert status == {
        f"resent-{copied.stem}.txt": "duplicate_file",
        f"reformatted-{resent.stem}.edi": "duplicate_transactions",
    }
