"""Publishing starts from last night's file and changes only what the lake's files changed, by the
files' fingerprints: a table whose files hold the same bytes is kept (however often a stage wrote
them again), a table that only gained files (a night's new batches) gets their rows appended, a
table in parts of which some changed has those parts' rows replaced, anything else is loaded again;
the file always holds what a build from nothing holds, and a file that is not the one this code
last published (deleted, written into, built by another version) is built from nothing."""
from __future__ import annotations

import logging
import shutil
from datetime import date
from pathlib import Path

import duckdb

from claimback import ingest
from claimback.inbox import scan
from claimback.lake import Lake
import polars as pl
import pytest

from claimback import publish as publishing
from claimback.lake import write_parquet_atomic
from claimback.publish import DATABASE_NAME, PUBLISHED, publish
from tests.compare_published import compare_published
from tests.reliability.harness import synth_inbox


def _night(inbox: Path, lake: Lake) -> None:
    for batch in ingest.plan(scan(inbox), lake).batches(max_files=5):
        ingest.ingest_batch(batch, lake)
    ingest.consolidate(lake)


def _same_as_built_from_nothing(lake: Lake, tmp_path: Path, table: str = "remit_claims") -> dict[str, int]:
    scratch = Lake(tmp_path / "from-nothing")
    shutil.rmtree(scratch.warehouse, ignore_errors=True)
    shutil.copytree(lake.root, scratch.root)
    scratch.state_path(PUBLISHED).unlink(missing_ok=True)
    publish(scratch)
    differences, counted = compare_published.compare(lake.warehouse, scratch.warehouse)
    assert counted[table] > 0
    assert not differences, [(d.relation, d.problem) for d in differences]
    return counted


def _publish(lake: Lake, caplog) -> str:
    """Publish; the log line that says what happened to the tables ("kept 1, appended 0, ...")."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="claimback.publish"):
        publish(lake)
    return next(r.getMessage() for r in caplog.records if r.getMessage().startswith("publish: kept"))


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
    assert _publish(lake, caplog) == f"publish: kept {tables}, appended 0, updated 0, loaded 0 tables"  # nothing new

    shutil.copytree(source, inbox, dirs_exist_ok=True)
    _night(inbox, lake)
    # the registry is one file, written again: loaded again
    assert _publish(lake, caplog) == f"publish: kept 0, appended {partitioned}, updated 0, loaded 1 tables"
    _same_as_built_from_nothing(lake, tmp_path)


def test_a_published_file_changed_since_is_built_from_nothing(tmp_path, caplog):
    inbox = synth_inbox(tmp_path / "synth", claims=100, claims_per_file=40).path
    lake = Lake(tmp_path / "warehouse")
    _night(inbox, lake)
    publish(lake)
    with duckdb.connect(str(lake.warehouse / DATABASE_NAME)) as con:  # someone wrote into it
        con.execute("INSERT INTO remit_claims SELECT * FROM remit_claims LIMIT 1")
    assert _publish(lake, caplog) == f"publish: kept 0, appended 0, updated 0, loaded {len(lake.tables())} tables"
    _same_as_built_from_nothing(lake, tmp_path)


# --- derived tables, written whole or in parts (hand-made rows: what publish does with files) ------
# Three claims' denials by the month of the claim's first adjudication, as a derived table written
# in parts (lake/derived/denials/<month>.parquet), and a work queue written as one file.
DENIALS = pl.DataFrame(
    {"claim_key": ["A1", "A2", "B1", "B2", "C1"],
     "month": ["2026-01", "2026-01", "2026-02", "2026-02", "2026-03"],
     "denied_amount": [120.0, 80.5, 200.0, 15.25, 99.0],
     "remark_codes": [["N290"], [], ["M15", "N130"], None, ["MA130"]]},
    schema_overrides={"denied_amount": pl.Decimal(12, 2)})


def _write_denials(lake: Lake, frame: pl.DataFrame) -> None:
    for (month,), part in frame.group_by("month"):
        write_parquet_atomic(part.sort("claim_key"), lake.derived_dir("denials") / f"{month}.parquet")


def _derived_lake(tmp_path: Path) -> Lake:
    lake = Lake(tmp_path / "warehouse")
    _write_denials(lake, DENIALS)
    lake.write_derived("work_queue", pl.DataFrame({"claim_key": ["A1", "B1"], "days_left": [30, 12]}))
    return lake


def test_a_stage_writing_the_same_rows_again_changes_nothing(tmp_path, caplog):
    lake = _derived_lake(tmp_path)
    assert _publish(lake, caplog) == "publish: kept 0, appended 0, updated 0, loaded 2 tables"
    # the next night every stage writes its files again, with the same rows: new files, same bytes
    _write_denials(lake, DENIALS)
    lake.write_derived("work_queue", lake.read("work_queue"))
    assert _publish(lake, caplog) == "publish: kept 2, appended 0, updated 0, loaded 0 tables"
    _same_as_built_from_nothing(lake, tmp_path, "denials")


def test_a_part_whose_rows_change_has_them_replaced_and_the_rest_stays(tmp_path, caplog):
    lake = _derived_lake(tmp_path)
    publish(lake)
    # February: B1's amount corrected, B2 gone, B3 new; March's part removed; April's added.
    tonight = pl.concat([
        DENIALS.filter(pl.col("month") == "2026-01"),
        pl.DataFrame({"claim_key": ["B1", "B3", "D1"], "month": ["2026-02", "2026-02", "2026-04"],
                      "denied_amount": [180.0, 5.0, 42.0], "remark_codes": [["M15", "N130"], [], None]},
                     schema=DENIALS.schema)])
    (lake.derived_dir("denials") / "2026-03.parquet").unlink()
    _write_denials(lake, tonight)
    lake.write_derived("work_queue", pl.DataFrame({"claim_key": ["A1", "B1"], "days_left": [29, 11]}))
    assert _publish(lake, caplog) == "publish: kept 0, appended 0, updated 1, loaded 1 tables"
    _same_as_built_from_nothing(lake, tmp_path, "denials")
    with duckdb.connect(str(lake.warehouse / DATABASE_NAME), read_only=True) as con:
        rows = con.execute("SELECT claim_key, denied_amount::VARCHAR FROM denials ORDER BY 1").fetchall()
    assert rows == [("A1", "120.00"), ("A2", "80.50"), ("B1", "180.00"), ("B3", "5.00"), ("D1", "42.00")]


def test_a_changed_row_equal_to_a_row_kept_elsewhere_loads_the_table_again(tmp_path, caplog):
    """Rows are told apart by content: a changed part's old row equal to an unchanged part's row
    is not deleted with its part (the twin keeps it), so the counts disagree and the table is
    loaded whole instead."""
    lake = _derived_lake(tmp_path)
    may = lake.derived_dir("denials") / "2026-05.parquet"
    write_parquet_atomic(DENIALS.filter(pl.col("claim_key") == "A1"), may)  # the same row as in January's part
    publish(lake)
    write_parquet_atomic(DENIALS.filter(pl.col("claim_key") == "C1"), may)
    assert _publish(lake, caplog) == "publish: kept 1, appended 0, updated 0, loaded 1 tables"
    _same_as_built_from_nothing(lake, tmp_path, "denials")


def test_a_table_that_becomes_empty_or_goes_is_published_so(tmp_path, caplog):
    lake = _derived_lake(tmp_path)
    publish(lake)
    lake.write_derived("work_queue", pl.DataFrame(schema={"claim_key": pl.String, "days_left": pl.Int64}))
    for part in sorted(lake.derived_dir("denials").glob("*.parquet"))[1:]:
        part.unlink()  # every month but January gone: the rows of the parts that went are deleted
    assert _publish(lake, caplog) == "publish: kept 0, appended 0, updated 1, loaded 1 tables"
    counted = _same_as_built_from_nothing(lake, tmp_path, "denials")
    assert counted["work_queue"] == 0 and counted["denials"] == 2
    shutil.rmtree(lake.derived_dir("denials"))  # no file at all: not published, as from nothing
    _publish(lake, caplog)
    with duckdb.connect(str(lake.warehouse / DATABASE_NAME), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "denials" not in tables and "work_queue" in tables


@pytest.mark.parametrize("change", ["deleted", "another version", "moved"])
def test_a_night_after_the_file_was_deleted_or_built_by_another_version_builds_it_whole(
        tmp_path, caplog, monkeypatch, change):
    lake = _derived_lake(tmp_path)
    publish(lake)
    lake.write_derived("work_queue", pl.DataFrame({"claim_key": ["A1"], "days_left": [1]}))
    if change == "deleted":
        (lake.warehouse / DATABASE_NAME).unlink()
    elif change == "another version":
        monkeypatch.setattr(publishing, "PUBLISH_FORMAT", publishing.PUBLISH_FORMAT + 1)
    else:  # the whole warehouse moved, lake and file: still the file published, still incremental
        shutil.move(lake.warehouse, tmp_path / "moved")
        lake = Lake(tmp_path / "moved")
    expected = "kept 1, appended 0, updated 0, loaded 1" if change == "moved" else "kept 0, appended 0, updated 0, loaded 2"
    assert _publish(lake, caplog) == f"publish: {expected} tables"
    _same_as_built_from_nothing(lake, tmp_path, "denials")


# --- last night's file copied while the run works (publish.previous_copied_early) ------------------
def _early_files(lake: Lake) -> list[Path]:
    return sorted(lake.warehouse.glob(".claimback.*.early"))


def _started_early(caplog) -> bool:
    return any("copied while the stages ran" in r.getMessage() for r in caplog.records)


def test_publish_starts_from_the_copy_made_while_the_run_worked(tmp_path, caplog):
    lake = _derived_lake(tmp_path)
    publish(lake)
    with publishing.previous_copied_early(lake.warehouse):
        lake.write_derived("work_queue", pl.DataFrame({"claim_key": ["A1", "B1"], "days_left": [29, 11]}))
        assert _publish(lake, caplog) == "publish: kept 1, appended 0, updated 0, loaded 1 tables"
        assert _started_early(caplog)
    assert not _early_files(lake)
    assert _same_as_built_from_nothing(lake, tmp_path, "denials")["work_queue"] == 2
    # a run that never publishes leaves no copy behind
    with publishing.previous_copied_early(lake.warehouse):
        pass
    assert not _early_files(lake)


def test_a_file_written_into_after_its_copy_is_built_from_nothing_the_copy_unused(tmp_path, caplog):
    lake = _derived_lake(tmp_path)
    publish(lake)
    with publishing.previous_copied_early(lake.warehouse):
        publishing._EARLY[lake.warehouse.resolve()].thread.join()  # the copy made, then the file written into
        with duckdb.connect(str(lake.warehouse / DATABASE_NAME)) as con:
            con.execute("INSERT INTO work_queue VALUES ('Z9', 1)")
        assert _publish(lake, caplog) == "publish: kept 0, appended 0, updated 0, loaded 2 tables"
        assert not _started_early(caplog)
    assert not _early_files(lake)
    _same_as_built_from_nothing(lake, tmp_path, "denials")


def test_a_run_copies_ahead_unless_from_scratch(tmp_path, caplog, monkeypatch):
    """`claimback run` (pipelines.cli.run_settings) copies the file ahead in process once there is
    one; from scratch the file is built from nothing, so it is not copied."""
    from pipelines.cli import run_pipeline

    inbox = synth_inbox(tmp_path / "synth", claims=120, claims_per_file=40).path
    warehouse = tmp_path / "warehouse"
    calls = []
    real = publishing.previous_copied_early
    monkeypatch.setattr(publishing, "previous_copied_early", lambda w: calls.append(w) or real(w))
    started = []
    for as_of, options in ((date(2026, 11, 20), {}), (date(2026, 11, 21), {}),
                           (date(2026, 11, 21), {"from_scratch": True})):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="claimback.publish"):
            assert run_pipeline(inbox, warehouse, as_of, **options).success
        started.append(_started_early(caplog))
    assert calls == [warehouse, warehouse] and started == [False, True, False]
    assert not _early_files(Lake(warehouse))


def test_a_copy_that_fails_is_removed_at_once_and_publish_copies_itself(tmp_path, caplog, monkeypatch):
    lake = _derived_lake(tmp_path)
    publish(lake)
    real_copy = shutil.copyfile

    def disk_full(source, target, **kwargs):
        Path(target).write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publishing.shutil, "copyfile", disk_full)
    with caplog.at_level(logging.INFO, logger="claimback.publish"):
        with publishing.previous_copied_early(lake.warehouse):
            publishing._EARLY[lake.warehouse.resolve()].thread.join()
            assert not _early_files(lake)  # not left to fill the disk through the run
            monkeypatch.setattr(publishing.shutil, "copyfile", real_copy)
            lake.write_derived("work_queue", pl.DataFrame({"claim_key": ["A1"], "days_left": [1]}))
            assert _publish(lake, caplog) == "publish: kept 1, appended 0, updated 0, loaded 1 tables"
            assert not _started_early(caplog)
    _same_as_built_from_nothing(lake, tmp_path, "denials")
