"""The Dagster job end to end: synthetic and real inboxes, reruns, duplicates, bad files, the sensor."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from claimback import schema
from claimback.publish import DATABASE_NAME, SQL_DIR
from pipelines.cli import main as cli_main
from pipelines.cli import run_pipeline
from tests.conftest import corpus_files, needs_corpus
from tests.x12.synthetic import remit_file

pytestmark = pytest.mark.slow
AS_OF = date(2026, 11, 1)

def published(warehouse: Path) -> dict[str, pl.DataFrame]:
    """Every published table, sorted on all its columns, for comparing two runs."""
    with duckdb.connect(str(warehouse / DATABASE_NAME), read_only=True) as con:
        names = [r[0] for r in con.sql("SELECT table_name FROM information_schema.tables "
                                       "WHERE table_type = 'BASE TABLE' AND table_schema = 'main'").fetchall()]
        tables = {}
        for name in names:
            if name == "publish_info":
                continue
            frame = con.sql(f'SELECT * FROM "{name}"').pl()
            sortable = [c for c, t in frame.schema.items() if not isinstance(t, (pl.List, pl.Struct))]
            tables[name] = frame.sort(sortable, nulls_last=True) if sortable else frame
    return tables


def _run(inbox: Path, warehouse: Path):
    result = run_pipeline(inbox, warehouse, AS_OF)
    assert result.success, [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return result


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from claimback.synth import generate

    root = tmp_path_factory.mktemp("synthetic")
    generate(root / "inbox", claims=900, seed=11, as_of=AS_OF)  # >= 800: trends planted
    result = _run(root / "inbox", root / "warehouse")
    return root, result


def test_every_asset_materialises_and_every_check_runs(synthetic):
    from pipelines.definitions import defs

    _, result = synthetic
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    expected = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert materialised == expected
    evaluated = {e.event_specific_data.check_name for e in result.all_events
                 if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert {"remit_structure", "submitted_structure", "remit_data_quality", "routes_are_valid"} <= evaluated
    blocking_failed = [e.event_specific_data.check_name for e in result.all_events
                       if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
                       and e.event_specific_data.check_name.endswith("structure")]
    assert blocking_failed == []


def test_published_file_holds_the_contract(synthetic):
    root, _ = synthetic
    with duckdb.connect(str(root / "warehouse" / DATABASE_NAME), read_only=True) as con:
        published = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
        assert set(schema.CONTRACT_TABLES) - published <= {"fee_schedule"}  # no fee schedule in this inbox
        for table in sorted(published & set(schema.TABLES)):  # exactly as claimback/schema.py defines it
            have = [(r[0], r[1]) for r in con.sql(f"DESCRIBE {table}").fetchall()]
            assert have == [(c, schema.duckdb_type(t)) for c, t in schema.TABLES[table].items()], table
        types = {r[0]: r[1] for r in con.sql("DESCRIBE denials").fetchall()}
        assert types["denied_amount"] == "DECIMAL(12,2)"
        routes = {r[0] for r in con.sql("SELECT DISTINCT route FROM work_queue").fetchall()}
        assert routes <= set(schema.ROUTES)
        denied, adjudicated = con.sql(
            "SELECT (SELECT count(*) FROM denials), (SELECT count(DISTINCT patient_control_number) FROM remit_claims)"
        ).fetchone()
        flagged = con.sql("SELECT count(*) FROM trend_clusters WHERE status = 'flagged'").fetchone()[0]
        views = {r[0] for r in con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert 0.04 < denied / adjudicated < 0.25  # industry-like denial rate in the synthetic inbox
    assert flagged >= 1  # the planted trends are found
    assert {p.stem for p in SQL_DIR.glob("*.sql")} <= views


def test_rerunning_the_same_inbox_changes_nothing(synthetic, tmp_path):
    root, _ = synthetic
    warehouse = tmp_path / "warehouse"
    shutil.copytree(root / "warehouse", warehouse)
    before = published(warehouse)
    _run(root / "inbox", warehouse)
    after = published(warehouse)
    assert before.keys() == after.keys()
    for name in before:
        assert before[name].equals(after[name]), f"{name} changed on rerun"


def test_same_remit_under_another_name_or_envelope_loads_once(synthetic, tmp_path):
    root, _ = synthetic
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse"
    shutil.copytree(root / "inbox", inbox)
    shutil.copytree(root / "warehouse", warehouse)
    before = published(warehouse)
    remit = next(p for p in sorted(inbox.iterdir()) if b"*835*" in p.read_bytes()[:400] or b"|835|" in p.read_bytes()[:400])
    shutil.copy(remit, inbox / "resent-copy.x12")
    text = remit.read_bytes()
    isa13 = text.split(text[3:4])[13]
    (inbox / "resent-new-envelope.x12").write_bytes(text.replace(isa13, b"987654321", 2))
    _run(inbox, warehouse)
    after = published(warehouse)
    assert after["remit_claims"].height == before["remit_claims"].height
    files = after["ingested_files"].filter(pl.col("source_file").str.starts_with("resent-"))
    statuses = dict(files.select("source_file", "status").iter_rows())
    assert statuses == {"resent-copy.x12": "duplicate_file", "resent-new-envelope.x12": "duplicate_transactions"}


def test_unreadable_files_are_quarantined_and_the_run_succeeds(synthetic, tmp_path):
    root, _ = synthetic
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse"
    shutil.copytree(root / "inbox", inbox)
    shutil.copytree(root / "warehouse", warehouse)
    (inbox / "scan.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n")
    (inbox / "empty.835").write_bytes(b"")
    good = next(p for p in sorted(inbox.iterdir()) if p.suffix == ".835")
    (inbox / "truncated.835").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    _run(inbox, warehouse)
    tables = published(warehouse)
    quarantined = set(tables["quarantine"]["source_file"].to_list())
    assert {"scan.pdf", "empty.835", "truncated.835"} <= quarantined
    assert all(tables["quarantine"]["error"].str.len_chars() > 10)
    assert (inbox / "scan.pdf").read_bytes().startswith(b"%PDF")  # raw inputs are never modified


@needs_corpus
def test_real_remits_and_claims_run_end_to_end(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in corpus_files("835")[:12] + corpus_files("837")[:12]:
        shutil.copy(path, inbox / path.name)
    _run(inbox, tmp_path / "warehouse")
    tables = published(tmp_path / "warehouse")
    assert tables["remit_claims"].height > 0 and tables["submitted_claims"].height > 0
    assert set(tables["ingested_files"]["source_file"]) == {p.name for p in inbox.iterdir()}


def test_cli_fails_fast_on_bad_setup(tmp_path, capsys):
    assert cli_main(["run", "--inbox", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "w")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "in").mkdir()
    assert cli_main(["run", "--inbox", str(tmp_path / "in"), "--warehouse", str(tmp_path / "w"),
                     "--as-of", "2026-13-01"]) == 2
    assert "not a date" in capsys.readouterr().err
    bad_rules = tmp_path / "rules.yaml"
    bad_rules.write_text("version: 1\npayers: [{name: x, match: {payer_ids: [A]}, level1: {days: 90, anchor: orignal_remit}}]\n")
    assert cli_main(["run", "--inbox", str(tmp_path / "in"), "--warehouse", str(tmp_path / "w"),
                     "--payer-rules", str(bad_rules)]) == 2
    assert "rules.yaml" in capsys.readouterr().err


def test_cli_parse_reports_what_it_read_and_refuses_missing_paths(tmp_path, capsys):
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "era.835").write_bytes(remit_file())
    (inbox / "notes.pdf").write_bytes(b"%PDF-1.4 not x12")
    assert cli_main(["parse", str(inbox / "era.835"), str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "nope: no such file or folder" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing half done
    assert cli_main(["parse", str(inbox), "--out", str(tmp_path / "o")]) == 0
    out, err = capsys.readouterr()
    assert "remit_claims                          4" in out
    assert "2 files read into" in out and "1 with parts that could not be read" in out
    assert "2/2 files" in err  # progress, unless --quiet
    assert cli_main(["-q", "parse", str(inbox), "--out", str(tmp_path / "o")]) == 0
    assert "files," not in capsys.readouterr().err


def test_no_claim_expires_on_an_unconfirmed_or_default_window(synthetic):
    root, _ = synthetic
    queue = published(root / "warehouse")["work_queue"]
    assert queue.filter(pl.col("route") == "expired").height > 0  # confirmed windows still expire claims
    guessed = queue.filter((pl.col("route") == "expired") & ~pl.col("deadline_confirmed").fill_null(False))
    assert guessed.height == 0
    # a claim past a guessed window keeps its action route and is told to verify
    kept = queue.filter(pl.col("deadline_confirmed").not_() & (pl.col("days_left") < 0))
    assert kept["reason"].str.contains("verify").all()
