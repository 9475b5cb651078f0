"""The small ways a run used to go wrong, each with a message that says what to fix: a warehouse
path with glob characters, an as-of date at the ends of the calendar, a failed step that printed
only Dagster's wrapper and not the cause (a full disk), and a "new trend" alert lost because the
run that found it failed before publishing."""
from __future__ import annotations

import errno

import pytest

from tests.reliability.harness import AS_OF, published_tables, step_failures
from tests.x12.synthetic import REMIT_1, REMIT_2, interchange, render

pytestmark = pytest.mark.timeout(900)


def _small_inbox(root):
    inbox = root / "inbox"
    inbox.mkdir()
    (inbox / "remit.835").write_bytes(render(interchange([("835", REMIT_1), ("835", REMIT_2)])))
    return inbox


@pytest.mark.slow
def test_a_warehouse_path_with_glob_characters_runs(tmp_path):
    from pipelines.cli import run_pipeline

    inbox = _small_inbox(tmp_path)
    warehouse = tmp_path / "wg[ab]*"  # Polars expanded this as a pattern and found no lake files
    for _ in range(2):  # the second run reads the lake the first wrote
        result = run_pipeline(inbox, warehouse, AS_OF)
        assert result.success, step_failures(result)
    assert len(published_tables(warehouse)["remit_claims"]) == 4


def test_a_warehouse_path_duckdb_cannot_use_is_refused_saying_so(tmp_path, capsys):
    from pipelines.cli import main

    inbox = _small_inbox(tmp_path)
    assert main(["run", "--inbox", str(inbox), "--warehouse", str(tmp_path / "what?")]) == 2
    assert "contains '?', which DuckDB cannot use in a database file's path; rename" in capsys.readouterr().err
    assert not (tmp_path / "what?").exists()


@pytest.mark.parametrize("as_of", ["0001-01-01", "1989-12-31", "2200-01-01", "9999-12-31"])
def test_an_as_of_date_outside_the_calendar_we_count_in_is_a_usage_error(tmp_path, capsys, as_of):
    from pipelines.cli import main

    inbox = _small_inbox(tmp_path)
    code = main(["run", "--inbox", str(inbox), "--warehouse", str(tmp_path / "w"), "--as-of", as_of])
    assert code == 2
    assert f"--as-of: the as-of date {as_of} is outside 1990-01-01 to 2199-12-31" in capsys.readouterr().err
    assert not (tmp_path / "w" / "lake").exists()


def test_the_dagster_resource_refuses_such_a_date_too():
    from pipelines.defs.resources import ClaimbackResource

    with pytest.raises(ValueError, match="outside 1990-01-01 to 2199-12-31"):
        ClaimbackResource(inbox="i", warehouse="w", as_of="9999-12-31").settings()


@pytest.mark.slow
def test_a_failed_publish_prints_its_cause_and_the_next_run_still_raises_the_new_trend_alert(
        demo_inbox, tmp_path, monkeypatch, capsys):
    import claimback.publish
    from pipelines.cli import main, run_pipeline

    empty = tmp_path / "empty"
    empty.mkdir()
    warehouse = tmp_path / "warehouse"
    assert run_pipeline(empty, warehouse, AS_OF).success  # a published night with no trend

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    # the next night finds the planted trends, then the disk fills while it publishes
    monkeypatch.setattr(claimback.publish, "publish", disk_full)
    code = main(["run", "--inbox", str(demo_inbox.path), "--warehouse", str(warehouse), "--as-of", AS_OF.isoformat()])
    err = capsys.readouterr().err
    assert code == 1
    assert ("step claimback_duckdb failed: OSError: [Errno 28] No space left on device (free space on the "
            "warehouse's disk and run again; the published file is still the previous one)") in err, err[-1500:]
    monkeypatch.undo()

    result = run_pipeline(demo_inbox.path, warehouse, AS_OF)
    assert result.success, step_failures(result)
    check = next(e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                 and e.event_specific_data.check_name == "no_new_trend")
    assert not check.passed and "new trend clusters to report to the payer" in check.description
    flagged = [row for row in published_tables(warehouse)["trend_clusters"] if "flagged" in row]
    assert check.description.startswith(f"{len(flagged)} new trend clusters") and flagged

    again = run_pipeline(demo_inbox.path, warehouse, AS_OF)  # reported once published: not again
    check = next(e.event_specific_data for e in again.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                 and e.event_specific_data.check_name == "no_new_trend")
    assert check.passed and check.description == "no new trend cluster"
