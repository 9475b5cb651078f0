"""The analyst views in sql/analyst_*.sql, run in DuckDB over small hand-made tables."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

SQL = Path(__file__).resolve().parents[2] / "sql"

ADJUDICATIONS = """
CREATE TABLE adjudications (claim_id VARCHAR, claim_key VARCHAR, adjudication_seq BIGINT, is_latest BOOLEAN,
    adjudication_kind VARCHAR, is_reversal BOOLEAN, remit_date DATE, payer_name VARCHAR,
    patient_control_number VARCHAR, payer_claim_control_number VARCHAR, original_payer_claim_control_number VARCHAR,
    paid_amount DECIMAL(12, 2), is_denied BOOLEAN, denied_amount DECIMAL(12, 2));
INSERT INTO adjudications VALUES
    -- A: denied, then paid after a Level I
    ('A', 'a1', 1, false, 'original', false, '2026-08-03', 'ACME', 'PA', 'X1', NULL, 0, true, 100),
    ('A', 'a2', 2, true, 'readjudication', false, '2026-09-20', 'ACME', 'PA', 'X2', 'X1', 80, false, 0),
    -- B: paid first time
    ('B', 'b1', 1, true, 'original', false, '2026-08-10', 'ACME', 'PB', 'Y1', NULL, 50, false, 0),
    -- C: denied, Level I upheld, Level II then paid
    ('C', 'c1', 1, false, 'original', false, '2026-09-01', 'ACME', 'PC', 'Z1', NULL, 0, true, 200),
    ('C', 'c2', 2, false, 'readjudication', false, '2026-10-01', 'ACME', 'PC', 'Z2', 'Z1', 0, true, 200),
    ('C', 'c3', 3, true, 'readjudication', false, '2026-11-10', 'ACME', 'PC', 'Z3', 'Z2', 150, false, 0),
    -- D: another payer, still denied
    ('D', 'd1', 1, true, 'original', false, '2026-09-05', 'BETA', 'PD', 'W1', NULL, 0, true, 70);
CREATE TABLE recovered_claims (claim_id VARCHAR, recovered_on DATE, recovered_amount DECIMAL(12, 2));
INSERT INTO recovered_claims VALUES ('A', '2026-09-20', 80), ('C', '2026-11-10', 150);
CREATE TABLE reconsideration_outcomes (patient_control_number VARCHAR, payer_claim_control_number VARCHAR,
    level BIGINT, submitted_on DATE, outcome VARCHAR, decided_on DATE);
INSERT INTO reconsideration_outcomes VALUES
    ('PA', 'X1', 1, '2026-08-20', 'overturned', '2026-09-15'),
    ('PC', 'Z1', 1, '2026-09-10', 'upheld', '2026-09-30'),
    ('PC', 'Z2', 2, '2026-10-15', 'overturned', '2026-11-05'),
    ('PD', 'W1', 1, '2026-09-25', 'pending', NULL);
"""

QUEUE = """
CREATE TABLE denials (claim_key VARCHAR, remit_date DATE);
CREATE TABLE work_queue (claim_key VARCHAR, route VARCHAR, deadline DATE, days_left BIGINT,
    denied_amount DECIMAL(12, 2), expected_recovery DECIMAL(12, 2));
INSERT INTO denials VALUES ('k1', '2026-11-01'), ('k2', '2026-10-01'), ('k3', '2026-05-01'), ('k4', '2026-11-10');
-- as of 2026-11-20: deadline - days_left
INSERT INTO work_queue VALUES
    ('k1', 'corrected_claim', '2026-11-30', 10, 100, 40),
    ('k2', 'corrected_claim', '2026-11-25', 5, 50, 20),
    ('k3', 'expired', '2026-08-01', -111, 30, 0),
    ('k4', 'resolved', NULL, NULL, 10, 0);
"""


def _connect(setup: str, *views: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(setup)
    for view in views:
        con.execute((SQL / f"{view}.sql").read_text())
    return con


@pytest.mark.parametrize("path", sorted(SQL.glob("analyst_*.sql")), ids=lambda p: p.stem)
def test_each_file_is_one_documented_view_named_after_it(path: Path):
    lines = path.read_text().strip().splitlines()
    assert lines[0].startswith("-- ") and lines[0].rstrip().endswith(tuple(".?")), "first line: the question"
    assert f"CREATE OR REPLACE VIEW {path.stem} AS" in lines[1]
    assert path.read_text().count("CREATE OR REPLACE VIEW") == 1


def test_first_pass_yield_counts_first_adjudications():
    con = _connect(ADJUDICATIONS, "analyst_first_pass_yield")
    rows = con.sql("SELECT payer_name, strftime(first_remit_month, '%Y-%m'), adjudicated_claims, paid_first_pass, "
                   "denied_first_pass, first_pass_yield, denied_then_paid FROM analyst_first_pass_yield").fetchall()
    assert rows == [
        ("ACME", "2026-08", 2, 1, 1, 0.5, 1),
        ("ACME", "2026-09", 1, 0, 1, 0.0, 1),
        ("BETA", "2026-09", 1, 0, 1, 0.0, 0),
    ]


def test_recovery_is_credited_to_the_request_before_the_money():
    con = _connect(ADJUDICATIONS, "analyst_recovered_after_reconsideration")
    rows = con.sql("SELECT payer_name, level, requests, overturned, upheld, pending, overturn_rate, "
                   "recovered_claims, recovered_amount::DOUBLE FROM analyst_recovered_after_reconsideration "
                   "ORDER BY payer_name, level").fetchall()
    assert rows == [
        # A's Level I gets A's $80; C's $150 came after its Level II, not its upheld Level I
        ("ACME", 1, 2, 1, 1, 0, 0.5, 1, 80.0),
        ("ACME", 2, 1, 1, 0, 0, 1.0, 1, 150.0),
        ("BETA", 1, 1, 0, 0, 1, None, 0, 0.0),
    ]


def test_open_denial_aging_buckets_from_the_runs_as_of_date():
    con = _connect(QUEUE, "analyst_open_denial_aging")
    rows = con.sql("SELECT route, age_bucket, open_claims, denied_amount::DOUBLE, past_deadline_claims "
                   "FROM analyst_open_denial_aging").fetchall()
    assert rows == [
        ("corrected_claim", "0-30 days", 1, 100.0, 0),  # 19 days since 2026-11-01
        ("corrected_claim", "31-60 days", 1, 50.0, 0),  # 50 days
        ("expired", "181-365 days", 1, 30.0, 1),  # 203 days; resolved k4 is left out
    ]
