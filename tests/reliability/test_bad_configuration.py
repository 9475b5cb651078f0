"""Bad configuration fails fast, through the command line, with exit code 2 and a message that says
what to fix; a malformed row in a hand-kept reconsideration log is reported, not fatal."""
from __future__ import annotations

import duckdb

from tests.reliability.harness import AS_OF, DATABASE, MALFORMED_LOG_ROW, cli

EXIT_USAGE = 2


def _run(inbox, warehouse, *extra):
    return cli("run", "--inbox", str(inbox), "--warehouse", str(warehouse), "--as-of", AS_OF.isoformat(), *extra)


def _the_complaint(result) -> str:
    """The run's complaint: the lines starting `claimback:`; there must be exactly one, and no traceback."""
    assert "Traceback" not in result.stderr
    complaints = [line for line in result.stderr.splitlines() if line.startswith("claimback:")]
    assert len(complaints) == 1, result.stderr
    return complaints[0]


def test_missing_inbox(tmp_path):
    result = _run(tmp_path / "no-such-inbox", tmp_path / "warehouse")
    assert result.returncode == EXIT_USAGE
    complaint = _the_complaint(result)
    assert "no-such-inbox" in complaint and "does not exist" in complaint
    assert not (tmp_path / "warehouse" / DATABASE).exists()


def test_unwritable_warehouse(tmp_path):
    (tmp_path / "inbox").mkdir()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    # A path below a regular file cannot be created, even by root (chmod does not stop root).
    result = _run(tmp_path / "inbox", blocker / "warehouse")
    assert result.returncode == EXIT_USAGE
    complaint = _the_complaint(result)
    assert "warehouse" in complaint and str(blocker) in complaint


def test_payer_rules_with_an_unknown_key_name_the_file_and_the_key(tmp_path):
    (tmp_path / "inbox").mkdir()
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: '1'\n"
        "default:\n"
        "  level1: {days: 60, anchor: original_remit, source: test}\n"
        "  level2: {days: 30, anchor: level1_decision, source: test}\n"
        "  corrected_claim: {days: 90, anchor: original_remit, source: test}\n"
        "  clinical_appeal: {days: 60, anchor: original_remit, source: test}\n"
        "  rebill_other_payer: {days: 90, anchor: original_remit, source: test}\n"
        "payers:\n"
        "  - name: acme\n"
        "    match: {payer_ids: [ACME1]}\n"
        "    levle1: {days: 90, anchor: original_remit, source: test}\n"
    )
    result = _run(tmp_path / "inbox", tmp_path / "warehouse", "--payer-rules", str(rules))
    assert result.returncode == EXIT_USAGE
    assert "Traceback" not in result.stderr
    assert str(rules) in result.stderr
    assert "payers[0].levle1" in result.stderr and "unknown key" in result.stderr
    assert not (tmp_path / "warehouse" / DATABASE).exists()


def test_missing_payer_rules_file(tmp_path):
    (tmp_path / "inbox").mkdir()
    result = _run(tmp_path / "inbox", tmp_path / "warehouse", "--payer-rules", str(tmp_path / "nope.yaml"))
    assert result.returncode == EXIT_USAGE
    assert "nope.yaml" in _the_complaint(result)


def test_malformed_reconsideration_row_is_reported_and_the_run_goes_on(full_night):
    # full_night's inbox carries MALFORMED_LOG_ROW as the log's last line; its run exited 0.
    log = full_night.inbox.path / "reconsiderations.csv"
    last_line = len(log.read_text().splitlines())
    claim_number = MALFORMED_LOG_ROW.split(",")[0]
    with duckdb.connect(str(full_night.warehouse / DATABASE), read_only=True) as con:
        logged = con.execute("SELECT count(*) FROM reconsiderations WHERE patient_control_number = ?",
                             [claim_number]).fetchone()[0]
        problems = con.execute("SELECT source_file, line_number, problem FROM reconsideration_log_problems "
                               "ORDER BY problem").fetchall()
    assert logged == 0
    assert {line for _, line, _ in problems} == {last_line}
    assert all(source.endswith("reconsiderations.csv") for source, *_ in problems)
    said = " ".join(problem for *_, problem in problems)
    assert "level" in said and "submitted_on" in said  # says which fields to fix
