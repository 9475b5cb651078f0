"""Publishing starts from last night's file: a table loaded from the same Parquet files is kept, a
partitioned reader table that only gained parts (the night's new batches) gets their rows
appended, anything else is loaded again; the file always holds what a build from nothing holds."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import duckdb

from claimback import ingest
from claimback.inbox import scan
from claimback.lake import Lake
from claimback.publish import DATABASE_NAME, PUBLISHED, publish
from tests.compare_published import compare_published
from tests.reliability.harness import synth_inbox


def _night(inbox: Path, lake: Lake) -> None:
    for batch in ingest.plan(scan(inbox), lake).batches(max_files=5):
        ingest.ingest_batch(batch, lake)
    ingest.consolidate(lake)


def _same_as_built_from_nothing(lake: Lake, tmp_path: Path) -> None:
    scratch = Lake(tmp_path / "from-nothing")
    shutil.rmtree(scratch.warehouse, ignore_errors=True)
    shutil.copytree(lake.root, scratch.root)
    scratch.state_path(PUBLISHED).unlink(missing_ok=True)
    publish(scratch)
    differences, counted = compare_published.compare(lake.warehouse, scratch.warehouse)
    assert counted["remit_claims"] > 0
    assert not differences, [(d.relation, d.problem) for d in differences]


def test_a_night_appends_its_parts_and_equals_a_build_from_nothing(tmp_path, caplog):
    source = synth_inbox(tmp_path / "synth", claims=300, claims_per_file=40).path
    inbox, lake = tmp_path / "inbox", Lake(tmp_path / "warehouse")
    inbox.mkdir()
    names = sorted(p.name for p in source.iterdir())
    for name in names[: len(names) // 2]:
        shutil.copy2(source / name, inbox / name)
    _night(inbox, lake)
    publish(lake)
    _same_as_built_from_nothing(lake, tmp_path)

    tables = len(lake.tables())
    partitioned = sum(1 for table in lake.tables() if lake.current_dir(table).is_dir())
    assert partitioned == tables - 1  # every reader table; the file registry is one file
    with caplog.at_level(logging.INFO, logger="claimback.publish"):
        publish(lake)  # nothing new: every table kept
    assert f"kept {tables}, appended 0, loaded 0 tables" in caplog.text

    shutil.copytree(source, inbox, dirs_exist_ok=True)
    _night(inbox, lake)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="claimback.publish"):
        publish(lake)
    assert f"kept 0, appended {partitioned}, loaded 1 tables" in caplog.text  # the registry loaded again
    _same_as_built_from_nothing(lake, tmp_path)


def test_a_published_file_changed_since_is_built_from_nothing(tmp_path, caplog):
    inbox = synth_inbox(tmp_path / "synth", claims=100, claims_per_file=40).path
    lake = Lake(tmp_path / "warehouse")
    _night(inbox, lake)
    publish(lake)
    with duckdb.connect(str(lake.warehouse / DATABASE_NAME)) as con:  # someone wrote into it
        con.execute("INSERT INTO remit_claims SELECT * FROM remit_claims LIMIT 1")
    with caplog.at_level(logging.INFO, logger="claimback.publish"):
        publish(lake)
    assert f"kept 0, appended 0, loaded {len(lake.tables())} tables" in caplog.text
    _same_as_built_from_nothing(lake, tmp_path)
