"""Consolidation keeps each transaction set once: a remit delivered again (another file, the same
transactions) adds nothing to the current tables, whichever way the repeats are dropped."""
from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from claimback import ingest
from claimback.inbox import scan
from claimback import lake as lake_module
from claimback.lake import CURRENT_ORDER, Lake
from tests.reliability.harness import synth_inbox

TABLES = ("remit_claims", "remit_service_lines", "remit_adjustments", "submitted_claims", "validation_findings")


def _ingest(inbox: Path, warehouse: Path) -> Lake:
    lake = Lake(warehouse)
    plan = ingest.plan(scan(inbox), lake)
    for batch in plan.batches():
        ingest.ingest_batch(batch, lake)
    ingest.consolidate(lake)
    return lake


@pytest.fixture(scope="module")
def inboxes(tmp_path_factory):
    root = tmp_path_factory.mktemp("consolidate")
    original = synth_inbox(root, claims=400, claims_per_file=50).path
    resent = root / "resent"
    shutil.copytree(original, resent)
    again: dict[bytes, str] = {}  # the same transactions again, as another system would format them
    for path in sorted(resent.iterdir()):  # remits on one line: a line break per segment makes new bytes
        data = path.read_bytes()
        if "_ERA_" in path.name and b"\n" not in data and b"\r" not in data and len(again) < 3:
            again.setdefault(data.replace(data[105:106], data[105:106] + b"\n"), f"again-{path.stem}.edi")
    for data, name in again.items():
        (resent / name).write_bytes(data)
    assert again
    return original, resent, len(again)


@pytest.mark.parametrize("filter_up_to", [ingest.FILTER_REPEATS_UP_TO, 0], ids=["filter", "join"])
def test_repeated_transactions_load_once(inboxes, tmp_path, monkeypatch, filter_up_to):
    original, resent, repeated_files = inboxes
    monkeypatch.setattr(ingest, "FILTER_REPEATS_UP_TO", filter_up_to)
    once = _ingest(original, tmp_path / "once")
    twice = _ingest(resent, tmp_path / "twice")
    def repeats(lake: Lake) -> int:
        return lake.read("ingested_files").filter(pl.col("status") == "duplicate_transactions").height

    assert repeats(twice) - repeats(once) == repeated_files
    for table in TABLES:
        assert twice.read(table).equals(once.read(table)), table


# --- night by night: the current tables' parts ---------------------------------------------------
def _night(inbox: Path, lake: Lake, batch_files: int = 7) -> None:
    plan = ingest.plan(scan(inbox), lake)
    for batch in plan.batches(max_files=batch_files):
        ingest.ingest_batch(batch, lake)
    ingest.consolidate(lake)


def _parts(lake: Lake) -> dict[str, int]:
    """Every part file of the current tables -> its modification time."""
    return {str(p.relative_to(lake.root)): p.stat().st_mtime_ns
            for p in (lake.root / "current").glob("*/*.parquet")}


def test_nights_write_only_their_own_parts_and_equal_one_run_over_everything(inboxes, tmp_path):
    original, resent, _ = inboxes
    everything = _ingest(resent, tmp_path / "everything")  # one run: the originals and the re-sent copies
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    names = sorted(p.name for p in original.iterdir())
    lake = Lake(tmp_path / "nightly")
    for name in names[: len(names) // 2]:  # night 1: half the inbox
        shutil.copy2(original / name, inbox / name)
    _night(inbox, lake)
    first = _parts(lake)
    assert first, "the current tables are written as parts"

    _night(inbox, lake)  # night 2: nothing new
    assert _parts(lake) == first, "a night with nothing new writes no part"

    for path in resent.iterdir():  # night 3: the rest, and remits delivered again
        if not (inbox / path.name).exists():
            shutil.copy2(path, inbox / path.name)
    _night(inbox, lake)
    third = _parts(lake)
    assert {k: v for k, v in third.items() if k in first} == first, "old parts are left alone"
    assert len(third) > len(first)
    for table in (*TABLES, "quarantine"):
        assert lake.read(table).equals(everything.read(table)), table
    assert lake.read("ingested_files").drop("batch_id", "loaded_at").equals(
        everything.read("ingested_files").drop("batch_id", "loaded_at"))

    lake.state_path(ingest.CONSOLIDATED).unlink()  # bookkeeping lost: every part again, the same rows
    ingest.consolidate(lake)
    assert all(_parts(lake)[k] != v for k, v in third.items())
    for table in TABLES:
        assert lake.read(table).equals(everything.read(table)), table


def test_a_lake_consolidated_before_the_parts_is_moved_to_parts(inboxes, tmp_path):
    original, _, _ = inboxes
    lake = _ingest(original, tmp_path / "lake")
    expected = {table: lake.read(table) for table in TABLES}
    for table in TABLES:  # the old layout: one file per table
        lake.write_current(table, expected[table])
        shutil.rmtree(lake.current_dir(table))
    lake.state_path(ingest.CONSOLIDATED).unlink()
    ingest.consolidate(lake)
    for table in TABLES:
        assert not lake.current_path(table).exists() and lake.current_parts(table)
        assert lake.read(table).equals(expected[table]), table


def test_an_empty_inbox_gives_empty_tables_then_parts(inboxes, tmp_path):
    original, _, _ = inboxes
    inbox, lake = tmp_path / "inbox", Lake(tmp_path / "lake")
    inbox.mkdir()
    _night(inbox, lake)  # nothing in the inbox yet
    for table in TABLES:
        assert lake.read(table).is_empty() and lake.current_path(table).exists(), table
    shutil.copytree(original, inbox, dirs_exist_ok=True)
    _night(inbox, lake)
    once = _ingest(original, tmp_path / "once")
    for table in TABLES:
        assert not lake.current_path(table).exists(), table
        assert lake.read(table).equals(once.read(table)), table


def test_parts_read_in_one_order_whether_their_file_names_interleave_or_not(inboxes, tmp_path):
    """A partitioned table reads as its parts' rows sorted by CURRENT_ORDER (a file's rows in the
    order the reader wrote them). When the nights' file names do not interleave the parts are
    simply read one after another; when they do (the second night's names sort between the
    first's), the rows are sorted on read. Either way: the one order."""
    original, _, _ = inboxes
    names = sorted(p.name for p in original.iterdir())
    inbox, lake = tmp_path / "inbox", Lake(tmp_path / "lake")
    inbox.mkdir()

    def in_one_order(table: str) -> pl.DataFrame:
        rows = pl.concat([pl.read_parquet(p) for p in lake.current_parts(table)])
        return rows.sort([c for c in CURRENT_ORDER if c in rows.columns], nulls_last=True, maintain_order=True)

    for night, chosen in enumerate((names[: len(names) // 3], names[len(names) // 3:][::2], names)):
        for name in chosen:
            shutil.copy2(original / name, inbox / name)
        _night(inbox, lake, batch_files=1000)
        parts_follow = lake_module._parts_in_name_order(lake.current_parts("remit_claims")) is not None
        assert parts_follow == (night < 2), night  # night 2 brings names after night 1's; night 3 fills the gaps
        for table in (*TABLES, "quarantine"):
            assert lake.read(table).equals(in_one_order(table)), (night, table)
