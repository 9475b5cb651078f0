"""One writer per warehouse, and files hashed from the bytes actually parsed.

Two runs on one warehouse used to register the same files twice (every later run then failed on
duplicate claim keys), and a file still being written when a run started was registered under
the hash of its first half while its rows carried the hash of the whole: the next run read it
again as new and doubled every transaction. Here: two runs started at once (one refuses, the
published file is one run's), every way a run starts takes the lock (CLI, Dagster executor,
sensor and schedule skip), and a file appended while a run reads it is left for the next run.
"""
from __future__ import annotations

import logging
import subprocess
import sys

import dagster as dg
import polars as pl
import pytest

from claimback import ingest
from claimback.inbox import scan
from claimback.lake import Lake
from claimback.warehouse import LOCK_NAME, WarehouseBusy, holder, one_writer
from tests.reliability.harness import (
    AS_OF, ROOT, _env, assert_same_tables, claimback_job, published_tables, run, step_failures, synth_inbox)
from tests.x12.synthetic import REMIT_1, REMIT_2, interchange, render

pytestmark = pytest.mark.timeout(600)


def _cli_run(inbox, warehouse) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run", "--inbox", str(inbox), "--warehouse", str(warehouse),
         "--as-of", AS_OF.isoformat()],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())


@pytest.mark.slow
def test_two_runs_started_at_once_one_refuses_and_the_published_file_is_one_runs(tmp_path):
    inbox = synth_inbox(tmp_path / "synth", 60, claims_per_file=5)
    shared = tmp_path / "shared"
    first, second = _cli_run(inbox.path, shared), _cli_run(inbox.path, shared)
    outcomes = sorted([(p.wait(300), p.communicate()[1]) for p in (first, second)])
    (ok, _), (busy, why) = outcomes
    assert (ok, busy) == (0, 3), outcomes
    assert "another claimback run is using the warehouse" in why and "claimback run, process" in why

    alone = tmp_path / "alone"
    run(inbox.path, alone)
    assert_same_tables(published_tables(shared, inbox.path), published_tables(alone, inbox.path))
    # and a later run on the shared warehouse, with the lock free again, succeeds and changes nothing
    run(inbox.path, shared)
    assert_same_tables(published_tables(shared, inbox.path), published_tables(alone, inbox.path))


def test_a_held_warehouse_refuses_the_command_with_exit_code_3(tmp_path, capsys):
    from pipelines.cli import main

    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse"
    inbox.mkdir()
    with one_writer(warehouse, "a test holding the lock"):
        code = main(["run", "--inbox", str(inbox), "--warehouse", str(warehouse), "--as-of", "2026-11-01"])
    assert code == 3
    err = capsys.readouterr().err
    assert "a test holding the lock" in err and "changed nothing" in err
    assert not (warehouse / "lake").exists()  # nothing was read or written


def test_runs_launched_by_dagster_take_the_lock_in_their_executor(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse"
    inbox.mkdir()
    (tmp_path / "dagster_home").mkdir()
    config = {"inbox": str(inbox), "warehouse": str(warehouse), "as_of": AS_OF.isoformat()}
    with one_writer(warehouse, "a test holding the lock"), \
            dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "dagster_home")) as instance:
        result = dg.execute_job(dg.reconstructable(claimback_job), instance=instance, raise_on_error=False,
                                run_config={"resources": {"claimback": {"config": config}}})
        failure = next(r.dagster_event for r in instance.all_logs(result.run_id)
                       if r.dagster_event and r.dagster_event.event_type == dg.DagsterEventType.RUN_FAILURE)
    assert not result.success
    assert "another claimback run is using the warehouse" in str(failure.event_specific_data.error)
    assert "a test holding the lock" in str(failure.event_specific_data.error)
    assert not (warehouse / "lake").exists()
    assert not [e for e in result.all_events if e.event_type_value == "STEP_START"]


def test_sensor_and_schedule_skip_while_a_run_holds_the_warehouse(tmp_path):
    from pipelines.defs.resources import ClaimbackResource
    from pipelines.automation import inbox_sensor, nightly_refresh

    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse"
    inbox.mkdir()
    (inbox / "remit.835").write_bytes(render(interchange([("835", REMIT_1)])))
    resource = ClaimbackResource(inbox=str(inbox), warehouse=str(warehouse))

    def sensor():
        return inbox_sensor(dg.build_sensor_context(resources={"claimback": resource}))

    def schedule():
        return nightly_refresh(dg.build_schedule_context(resources={"claimback": resource}))

    assert holder(warehouse) is None and not warehouse.exists()  # looking creates nothing
    with one_writer(warehouse, "Dagster run abc"):
        assert holder(warehouse).startswith("Dagster run abc")
        skipped = [sensor(), schedule()]
    assert all(isinstance(s, dg.SkipReason) and "a run is using the warehouse" in s.skip_message for s in skipped)
    assert isinstance(sensor(), dg.RunRequest) and isinstance(schedule(), dg.RunRequest)
    assert holder(warehouse) is None


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path):
    warehouse = tmp_path / "warehouse"
    code = (f"import time; from claimback.warehouse import one_writer\n"
            f"with one_writer({str(warehouse)!r}, 'doomed'):\n    print('held', flush=True); time.sleep(60)")
    doomed = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=_env())
    assert doomed.stdout.readline().strip() == "held"
    assert holder(warehouse).startswith("doomed")
    with pytest.raises(WarehouseBusy):
        with one_writer(warehouse, "second", grace_seconds=0.2):
            pass
    doomed.kill()
    doomed.wait()
    with one_writer(warehouse, "after the kill"):  # no stale lock, nobody deletes a file
        assert (warehouse / LOCK_NAME).stat().st_mode & 0o777 == 0o600


# --- a file that grows while a run reads it ------------------------------------------------------
# Two checks a payer sends in one 835 file (005010X221A1: any number of ST..SE per GS), the
# second appended by the clearinghouse's transfer while the run is reading the file.
FIRST_CHECK = render(interchange([("835", REMIT_1)]))
BOTH_CHECKS = FIRST_CHECK + render(interchange([("835", REMIT_2)], control="000000102"))


def test_a_file_appended_while_it_is_read_is_left_for_the_next_run(tmp_path, monkeypatch, caplog):
    inbox, lake = tmp_path / "inbox", Lake(tmp_path / "warehouse")
    inbox.mkdir()
    growing = inbox / "remit.835"
    growing.write_bytes(FIRST_CHECK)
    plan = ingest.plan(scan(inbox), lake)  # hashed the first half

    read_all = ingest._read_all

    def appended_first(batch):
        with open(growing, "ab") as handle:  # the transfer finishes between the plan and the read
            handle.write(BOTH_CHECKS[len(FIRST_CHECK):])
        return read_all(batch)

    monkeypatch.setattr(ingest, "_read_all", appended_first)
    with caplog.at_level(logging.WARNING, "claimback"):
        summary = ingest.ingest_batch(plan.new, lake)
    assert summary["files"] == 0
    assert "remit.835 changed while this run read it; it is left for the next run" in caplog.text
    ingest.consolidate(lake)
    assert lake.read("ingested_files").is_empty() and lake.read("remit_claims").is_empty()

    monkeypatch.setattr(ingest, "_read_all", read_all)
    for _ in range(2):  # the next run reads the settled file whole; the one after reads nothing
        again = ingest.plan(scan(inbox), lake)
        for batch in again.batches():
            ingest.ingest_batch(batch, lake)
        ingest.consolidate(lake)
    claims = lake.read("remit_claims")
    # REMIT_1 has three CLPs (PCN001, PCN002, the reversal PCN003), REMIT_2 one (PCN004)
    assert sorted(claims["patient_control_number"].to_list()) == ["PCN001", "PCN002", "PCN003", "PCN004"]
    assert claims["claim_key"].n_unique() == claims.height
    files = lake.read("ingested_files")
    assert files.select("source_file", "status").rows() == [("remit.835", "loaded")]
    assert files["sha256"].item() == claims["file_sha256"].unique().item()  # registry and rows agree


@pytest.mark.slow
def test_a_run_during_which_a_file_grows_publishes_and_the_next_run_is_clean(tmp_path, monkeypatch):
    from pipelines.cli import run_pipeline

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    growing = inbox / "remit.835"
    growing.write_bytes(FIRST_CHECK)
    read_all = ingest._read_all

    def appended_first(batch):
        with open(growing, "ab") as handle:
            handle.write(BOTH_CHECKS[len(FIRST_CHECK):])
        monkeypatch.setattr(ingest, "_read_all", read_all)  # once
        return read_all(batch)

    monkeypatch.setattr(ingest, "_read_all", appended_first)
    warehouse = tmp_path / "warehouse"
    for night in range(2):
        result = run_pipeline(inbox, warehouse, AS_OF)
        assert result.success, step_failures(result)
        tables = published_tables(warehouse)
        loaded = [row[0] for row in tables["ingested_files"]]
        assert loaded == ([] if night == 0 else ["remit.835"])
    assert len(tables["remit_claims"]) == 4  # once each: the blocking claim-key check passed too


def test_a_lake_an_earlier_version_doubled_is_repaired_by_the_next_consolidation(tmp_path, monkeypatch, caplog):
    """What the old code left: a file registered under the hash of its first half, its rows under
    the hash of the whole, and the next run storing the whole again. Every later run used to fail
    on duplicate claim keys, even with the file gone from the inbox."""
    inbox, lake = tmp_path / "inbox", Lake(tmp_path / "warehouse")
    inbox.mkdir()
    growing = inbox / "remit.835"
    growing.write_bytes(FIRST_CHECK)
    monkeypatch.setattr(ingest, "_changed_since_planned", lambda planned, sha: None)  # the old code
    first = ingest.plan(scan(inbox), lake)
    growing.write_bytes(BOTH_CHECKS)
    ingest.ingest_batch(first.new, lake)
    for batch in ingest.plan(scan(inbox), lake).batches():  # read again as new, stored again
        ingest.ingest_batch(batch, lake)
    raw_claims = _raw(lake, "remit_claims")
    assert raw_claims.height == 8 and raw_claims["claim_key"].n_unique() == 4  # the damage

    growing.unlink()
    with caplog.at_level(logging.WARNING, "claimback"):
        ingest.consolidate(lake)
    claims = lake.read("remit_claims")
    assert claims["claim_key"].n_unique() == claims.height
    assert sorted(claims["patient_control_number"]) == ["PCN001", "PCN002", "PCN003", "PCN004"]
    assert "1 files had their rows stored twice by an earlier version" in caplog.text
    assert _raw(lake, "remit_claims").height == 4  # repaired once, in the raw files


def _raw(lake: Lake, table: str) -> pl.DataFrame:
    """Every row the batches stored for `table`, before consolidation."""
    return pl.read_parquet(sorted(lake.raw_dir(table).glob("*.parquet")))
