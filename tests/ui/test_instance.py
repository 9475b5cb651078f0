"""`claimback run` records in the warehouse's persistent Dagster instance, read back through Dagster's
own API: the run, a materialization of every asset and every check's result, so the UI opened
after last night's cron shows last night."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from pipelines.cli import main as cli_main
from pipelines.definitions import defs
from pipelines.instance import HOME_FOLDER, dagster_home

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("recorded_runs")]
AS_OF = date(2026, 11, 20)


@pytest.fixture(scope="module")
def night(tmp_path_factory, recorded_runs):
    from claimback.synth import generate

    root = tmp_path_factory.mktemp("night")
    generate(root / "inbox", claims=900, seed=11, as_of=AS_OF)  # >= 800: trends planted, items due
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DAGSTER_HOME", raising=False)  # the warehouse's own home, as on a fresh machine
        code = cli_main(["run", "--inbox", str(root / "inbox"), "--warehouse", str(root / "warehouse"),
                         "--as-of", AS_OF.isoformat(), "-q"])
        assert code == 0
        yield root


def test_the_home_is_the_warehouses_own_unless_dagster_home_is_set(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert dagster_home(tmp_path / "w") == (tmp_path / "w" / HOME_FOLDER).resolve()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    assert dagster_home(tmp_path / "w") == (tmp_path / "elsewhere").resolve()


def test_claimback_run_is_recorded_with_every_asset_and_check(night):
    home = night / "warehouse" / HOME_FOLDER
    assert (home / "dagster.yaml").exists()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1
        assert runs[0].job_name == "claimback" and runs[0].status == dg.DagsterRunStatus.SUCCESS
        assert runs[0].tags.get("claimback/started_by") == "claimback run"
        graph = defs.resolve_asset_graph()
        for key in graph.get_all_asset_keys():
            event = instance.get_latest_materialization_event(key)
            assert event is not None and event.run_id == runs[0].run_id, key.to_user_string()
        for check in graph.asset_check_keys:
            evaluations = instance.event_log_storage.get_asset_check_execution_history(check, limit=1)
            assert evaluations and evaluations[0].run_id == runs[0].run_id, check.name
        # the UI on this home shows no pop-up and sends nothing out
        assert instance.get_settings("nux").get("enabled") is False
        assert instance.get_settings("telemetry").get("enabled") is False


def test_an_existing_dagster_yaml_is_kept(tmp_path):
    from pipelines.instance import prepare_home

    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    prepare_home(tmp_path)
    assert (tmp_path / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


def test_a_second_run_adds_to_the_same_history(night, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    code = cli_main(["run", "--inbox", str(night / "inbox"), "--warehouse", str(night / "warehouse"),
                     "--as-of", AS_OF.isoformat(), "-q"])
    assert code == 0
    with dg.DagsterInstance.from_config(str(night / "warehouse" / HOME_FOLDER)) as instance:
        assert [r.status for r in instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS] * 2


def test_the_work_queue_page_is_todays_page(night):
    """The Today table is Dagster table metadata (rendered as a table, not Markdown text) with the same
    rows as the analyst_today view, and the counts are numbers Dagster can plot."""
    import duckdb

    with dg.DagsterInstance.from_config(str(night / "warehouse" / HOME_FOLDER)) as instance:
        metadata = instance.get_latest_materialization_event(
            dg.AssetKey("work_queue")).asset_materialization.metadata
    with duckdb.connect(str(night / "warehouse" / "claimback.duckdb"), read_only=True) as con:
        today = con.sql("SELECT patient_control_number, packet FROM analyst_today").fetchall()
        counts = con.sql("SELECT * FROM analyst_today_counts").pl().row(0, named=True)
    assert list(metadata)[0] == "today"
    table = metadata["today"]
    assert isinstance(table, dg.TableMetadataValue)
    assert [(r.data["patient_control_number"], r.data["packet"]) for r in table.records] == today[:50]
    assert today, "the test night has nothing due this week: the comparison would prove nothing"
    for name in ("due_this_week", "past_our_deadline", "awaiting_payer", "payer_decision_overdue"):
        assert isinstance(metadata[name], dg.IntMetadataValue) and metadata[name].value == counts[name], name
    assert isinstance(metadata["new_trends_since_last_run"], dg.IntMetadataValue)
    assert metadata["open_expected_recovery"].value == float(counts["open_expected_recovery"])


def test_claimback_ui_opens_the_warehouses_instance(tmp_path, monkeypatch):
    """`make ui` = `claimback ui`: dagster dev on the same home `claimback run` records in."""
    import os

    seen = {}

    def fake_execve(path, argv, env):  # instead of replacing the test process with dagster dev
        seen.update(path=path, argv=argv, env=env, cwd=os.getcwd())

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setattr(os, "execve", fake_execve)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inbox").mkdir()
    cli_main(["ui", "--inbox", "inbox", "--warehouse", "warehouse", "--port", "3999"])
    home = (tmp_path / "warehouse" / HOME_FOLDER).resolve()
    assert seen["env"]["DAGSTER_HOME"] == str(home) and (home / "dagster.yaml").exists()
    assert seen["env"]["CLAIMBACK_WAREHOUSE"] == str((tmp_path / "warehouse").resolve())
    assert seen["env"]["CLAIMBACK_INBOX"] == str((tmp_path / "inbox").resolve())
    assert seen["argv"][1:] == ["dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", "3999"]
    assert (Path(seen["cwd"]) / "workspace.yaml").exists()
