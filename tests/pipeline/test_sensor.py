"""The inbox sensor decides by content: new bytes start a run, new file times alone do not.

The inbox is two hand-built X12 files (tests/x12/synthetic.py: 835 and 837 written segment by
segment from the implementation guides) and a reconsideration log, read into the lake by the same
ingest the job uses; the sensor is then evaluated tick by tick with its cursor carried over.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

import pipelines.automation as automation
from pipelines.defs.resources import ClaimbackResource
from claimback import ingest
from claimback.inbox import scan
from claimback.lake import Lake
from pipelines.automation import inbox_sensor
from tests.x12.synthetic import claims_file, remit_file

LOG = ("patient_control_number,payer_claim_control_number,level,submitted_on,reference_number,outcome,decided_on\n"
       "PCN1,PAYER1,1,2026-10-01,REF1,,\n")


@pytest.fixture()
def read_inbox(tmp_path: Path) -> tuple[Path, Path]:
    """An inbox whose every file a committed batch has read (what a finished run leaves behind)."""
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse"
    inbox.mkdir()
    (inbox / "era-1.835").write_bytes(remit_file())
    (inbox / "claims-1.837").write_bytes(claims_file())
    (inbox / "reconsiderations.csv").write_text(LOG)
    lake = Lake(warehouse)
    plan = ingest.plan(scan(inbox), lake)
    for batch in plan.batches(max_files=10):
        ingest.ingest_batch(batch, lake)
    ingest.record_logs(plan.logs, lake)
    return inbox, warehouse


@pytest.fixture()
def hashed(monkeypatch) -> list[int]:
    """How many files each tick hashed."""
    counts: list[int] = []
    real = automation.sha256_of_all

    def counting(paths, *args, **kwargs):
        counts.append(len(paths))
        return real(paths, *args, **kwargs)

    monkeypatch.setattr(automation, "sha256_of_all", counting)
    return counts


class Ticks:
    """Evaluates the sensor as the daemon does: each tick starts from the cursor the last one left."""

    def __init__(self, inbox: Path, warehouse: Path, batch_files: int = 250):
        self.resource = ClaimbackResource(inbox=str(inbox), warehouse=str(warehouse), batch_files=batch_files)
        self.cursor: str | None = None

    def tick(self):
        context = dg.build_sensor_context(cursor=self.cursor, resources={"claimback": self.resource})
        result = inbox_sensor(context)
        self.cursor = context.cursor
        return result


def _later(folder: Path, seconds: int = 3600) -> None:
    for path in folder.iterdir():
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns + seconds * 10**9, stat.st_mtime_ns + seconds * 10**9))


def test_an_inbox_restored_with_new_file_times_starts_no_run_and_is_hashed_once(read_inbox, hashed):
    inbox, warehouse = read_inbox
    _later(inbox)  # a restore from backup: every modification time changes, no byte does
    ticks = Ticks(inbox, warehouse)
    first = ticks.tick()
    assert isinstance(first, dg.SkipReason) and "nothing new" in first.skip_message
    second = ticks.tick()
    assert isinstance(second, dg.SkipReason)
    assert hashed == [3, 0]  # the size+time shortcut: the cursor remembers what it hashed


def test_a_copied_inbox_starts_no_run(read_inbox, tmp_path):
    inbox, warehouse = read_inbox
    copy = tmp_path / "copied-inbox"
    copy.mkdir()
    for path in inbox.iterdir():
        shutil.copyfile(path, copy / path.name)  # new files, new times, the same bytes
    (copy / "era-1 (copy).835").write_bytes((inbox / "era-1.835").read_bytes())  # and under another name
    assert isinstance(Ticks(copy, warehouse).tick(), dg.SkipReason)


def test_new_content_starts_one_run_and_a_skipped_tick_says_why_once(read_inbox):
    inbox, warehouse = read_inbox
    ticks = Ticks(inbox, warehouse)
    assert ticks.tick().skip_message  # nothing new: said
    assert ticks.tick().skip_message is None  # the same again: not repeated
    (inbox / "era-2.835").write_bytes(remit_file() + b"\n")  # one byte more: content never read
    request = ticks.tick()
    assert isinstance(request, dg.RunRequest)
    assert request.tags["claimback/new_files"] == "1" and request.tags["claimback/executor"] == "in_process"
    assert request.run_config == {}  # the job's default: in process
    waiting = ticks.tick()
    assert isinstance(waiting, dg.SkipReason) and "already requested" in waiting.skip_message
    assert ticks.tick().skip_message is None


def test_a_changed_reconsideration_log_starts_a_run(read_inbox):
    inbox, warehouse = read_inbox
    ticks = Ticks(inbox, warehouse)
    assert isinstance(ticks.tick(), dg.SkipReason)
    (inbox / "reconsiderations.csv").write_text(LOG + "PCN2,PAYER2,1,2026-10-05,REF2,,\n")
    request = ticks.tick()
    assert isinstance(request, dg.RunRequest) and request.tags["claimback/new_files"] == "1"


def test_a_fee_schedule_is_an_input_of_its_own_and_a_changed_one_starts_a_run(read_inbox):
    inbox, warehouse = read_inbox
    fees = "payer,product,procedure,modifier,expected_allowed,effective_from,effective_to\nACME1,,99214,,162.00,,\n"
    (inbox / "fee_schedule.csv").write_text(fees)
    plan = ingest.plan(scan(inbox), Lake(warehouse))
    assert [p.file.name for p in plan.logs] == ["fee_schedule.csv"] and not plan.new  # never read as X12
    ingest.record_logs(plan.logs, Lake(warehouse))
    ticks = Ticks(inbox, warehouse)
    assert isinstance(ticks.tick(), dg.SkipReason)
    (inbox / "fee_schedule.csv").write_text(fees + "ACME1,,99213,,85.00,,\n")
    request = ticks.tick()
    assert isinstance(request, dg.RunRequest) and request.tags["claimback/new_files"] == "1"


def test_a_large_drop_is_parsed_by_the_multiprocess_executor(read_inbox):
    inbox, warehouse = read_inbox
    (inbox / "one-more.835").write_bytes(remit_file() + b"\n" * 9)
    assert Ticks(inbox, warehouse, batch_files=1).tick().run_config == {}  # 1 new file: one process
    for n in range(automation.FAN_OUT_BATCHES):  # with it, more than FAN_OUT_BATCHES batches of one file
        (inbox / f"new-{n}.835").write_bytes(remit_file() + b"\n" * (n + 1))
    request = Ticks(inbox, warehouse, batch_files=1).tick()
    assert request.run_config == automation.MULTIPROCESS
    assert request.tags["claimback/executor"] == "multiprocess"


def test_an_unreadable_inbox_is_a_skip_with_the_reason(tmp_path):
    result = Ticks(tmp_path / "missing", tmp_path / "warehouse").tick()
    assert isinstance(result, dg.SkipReason) and result.skip_message
