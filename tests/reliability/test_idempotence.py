"""Running again changes nothing: the same inbox twice, or the same remit delivered twice (a copy
under another name, or the same transaction re-sent in a new envelope), publishes the same tables.
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


def _reenveloped(data: bytes) -> bytes:
    """The same interchange with a new ISA control number, as a clearinghouse re-sending it would."""
    text = data.decode("latin-1")
    separator = text[3]
    fields = text.split(separator, 16)
    old, fields[13] = fields[13], "987654321"
    text = separator.join(fields)
    trailer = f"IEA{separator}"
    at = text.rindex(trailer) + len(trailer)
    at = text.index(separator, at) + 1  # IEA02 repeats ISA13
    return (text[:at] + text[at:].replace(old, "987654321", 1)).encode("latin-1")


def test_the_same_remit_delivered_twice_loads_once(full_night, tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(full_night.inbox.path, inbox)
    remits = [p for p in sorted(inbox.iterdir()) if p.name.endswith("-835.x12")]
    copied, resent = remits[0], remits[1]
    shutil.copy(copied, inbox / f"resent-{copied.stem}.txt")
    (inbox / f"reenveloped-{resent.stem}.edi").write_bytes(_reenveloped(resent.read_bytes()))
    warehouse = tmp_path / "warehouse"
    shutil.copytree(full_night.warehouse, warehouse)

    run(inbox, warehouse)

    assert_same_tables(published_tables(warehouse, inbox), full_night.tables, ignore={"ingested_files"})
    with duckdb.connect(str(warehouse / DATABASE), read_only=True) as con:
        status = dict(con.execute(
            "SELECT source_file, status FROM ingested_files WHERE source_file LIKE 'resent-%' "
            "OR source_file LIKE 'reenveloped-%'").fetchall())
    assert status == {
        f"resent-{copied.stem}.txt": "duplicate_file",
        f"reenveloped-{resent.stem}.edi": "duplicate_transactions",
    }
