"""The job runs under Dagster's multiprocess executor, each step in its own process and the parse
batches side by side, and publishes exactly what the in-process run (`claimback run`) publishes:
nothing in the pipeline relies on sharing one process (no shared DuckDB writer, no globals)."""
from __future__ import annotations

import dagster as dg
import pytest

from tests.reliability.harness import (
    AS_OF, assert_same_tables, claimback_job, published_tables, step_failures, synth_inbox)


pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


BATCH_FILES = 25  # small batches, so a small inbox still fans out into several parse steps


def _resources(inbox, warehouse) -> dict:
    config = {"inbox": str(inbox), "warehouse": str(warehouse), "as_of": AS_OF.isoformat(),
              "payer_rules": "", "provider_profile": "", "batch_files": BATCH_FILES}
    return {"claimback": {"config": config}}


def test_multiprocess_run_publishes_the_same_tables_as_in_process(tmp_path):
    from pipelines.cli import run_pipeline

    # One claim per file: dozens of small files, several ingest batches, so parse steps fan out.
    inbox = synth_inbox(tmp_path / "synth", 40, claims_per_file=1)
    assert len(inbox.x12_files()) > 2 * BATCH_FILES

    serial = tmp_path / "serial"
    serial.mkdir()
    in_process = run_pipeline(inbox.path, serial, AS_OF)
    assert in_process.success, step_failures(in_process)

    parallel = tmp_path / "parallel"
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
        result = dg.execute_job(
            dg.reconstructable(claimback_job),
            instance=instance,
            run_config={
                "execution": {"config": {"multiprocess": {"max_concurrent": 2}}},
                "resources": _resources(inbox.path, parallel),
            },
        )
        assert result.success, step_failures(result)
        starts = [e for e in result.all_events if e.event_type_value == "STEP_START"]

    parse_steps = [e for e in starts if e.step_key.startswith("x12_lake.parse_batch[")]
    assert len(parse_steps) >= 3
    assert len({e.pid for e in starts}) > 1  # steps ran in their own processes
    assert_same_tables(published_tables(parallel), published_tables(serial))
