"""The analyst views in claimback/sql/analyst_*.sql, run in DuckDB over small hand-made tables."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from claimback.publish import SQL_DIR

SQL = SQL_DIR

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
    denied_amount DECIMAL(12, 2), expected_recovery DECIMAL(12, 2), awaiting_payer BOOLEAN);
INSERT INTO denials VALUES ('k1', '2026-11-01'), ('k2', '2026-10-01'), ('k3', '2026-05-01'), ('k4', '2026-11-10'),
    ('k5', '2026-08-15');
-- as of 2026-11-20: deadline - days_left
INSERT INTO work_queue VALUES
    ('k1', 'corrected_claim', '2026-11-30', 10, 100, 40, false),
    ('k2', 'corrected_claim', '2026-11-25', 5, 50, 20, false),
    -- the routing still prices an expired claim; nothing more can come back from it
    ('k3', 'expired', '2026-08-01', -111, 30, 12, false),
    ('k4', 'resolved', NULL, NULL, 10, 0, false),
    -- a Level I filed 2026-08-20: the payer's decision was due 2026-11-18 (45 days + mail), 2 days ago
    ('k5', 'level1_reconsideration', '2026-11-18', -2, 80, 30, true);
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
    rows = con.sql("SELECT route, age_bucket, open_claims, denied_amount::DOUBLE, expected_recovery::DOUBLE, "
                   "past_our_deadline_claims, payer_decision_overdue_claims "
                   "FROM analyst_open_denial_aging").fetchall()
    assert rows == [
        ("corrected_claim", "0-30 days", 1, 100.0, 40.0, 0, 0),  # 19 days since 2026-11-01
        ("corrected_claim", "31-60 days", 1, 50.0, 20.0, 0, 0),  # 50 days
        # 203 days; its window closed: no recovery to expect, and not counted as "our deadline past"
        # (the route says it); resolved k4 is left out
        ("expired", "181-365 days", 1, 30.0, 0.0, 0, 0),
        ("level1_reconsideration", "91-180 days", 1, 80.0, 30.0, 0, 1),  # the payer is late, not us
    ]


PACKETS = """
CREATE TABLE request_packets (claim_key VARCHAR, patient_control_number VARCHAR, payer_name VARCHAR,
    route VARCHAR, level BIGINT, pdf_path VARCHAR, status VARCHAR, why VARCHAR);
INSERT INTO request_packets VALUES
    ('q2', 'P2', 'ACME', 'level1_reconsideration', 1, 'packets/requests/level1_X2.pdf', 'written', 'top of the queue'),
    ('q4', 'P4', 'ACME', 'level1_reconsideration', 1, NULL, 'not_written', 'awaiting the payer');
CREATE TABLE trend_packets (cluster_id VARCHAR, payer_name VARCHAR, pdf_path VARCHAR, csv_path VARCHAR);
INSERT INTO trend_packets VALUES ('TC-1', 'BETA', 'packets/trends/trend_TC-1.pdf', 'packets/trends/trend_TC-1.csv');
CREATE TABLE trend_clusters (cluster_id VARCHAR, status VARCHAR);
INSERT INTO trend_clusters VALUES ('TC-1', 'flagged'), ('TC-2', 'emerging');
CREATE TABLE work_queue (claim_key VARCHAR, route VARCHAR, deadline DATE, days_left BIGINT, payer_name VARCHAR,
    patient_control_number VARCHAR, payer_claim_control_number VARCHAR, denied_amount DECIMAL(12, 2),
    expected_recovery DECIMAL(12, 2), overturn_probability DOUBLE, priority DOUBLE, awaiting_payer BOOLEAN,
    trend_cluster_id VARCHAR, category VARCHAR);
-- as of 2026-11-20; q9 a 999's rejection whose 837 is not in the inbox: no date of service, no deadline
INSERT INTO work_queue VALUES
    ('q1', 'corrected_claim', '2026-11-27', 7, 'ACME', 'P1', 'X1', 100, 60, 0.6, 70.5, false, NULL, 'coding'),
    ('q2', 'level1_reconsideration', '2026-11-22', 2, 'ACME', 'P2', 'X2', 300, 104, 0.3466586552975782, 178.0, false, NULL, 'medical_necessity'),
    ('q3', 'trend_report', '2026-11-22', 2, 'BETA', 'P3', 'Y3', 50, 30, 0.6, 51.2, false, 'TC-1', 'coding'),
    ('q4', 'level1_reconsideration', '2026-11-24', 4, 'ACME', 'P4', 'X4', 80, 20, 0.25, 0.0, true, NULL, 'authorization'),
    ('q5', 'level2_dispute', '2026-11-19', -1, 'ACME', 'P5', 'X5', 90, 20, 0.22, 30.0, true, NULL, 'authorization'),
    ('q6', 'corrected_claim', '2026-11-28', 8, 'ACME', 'P6', 'X6', 900, 500, 0.55, 600.0, false, NULL, 'coding'),
    ('q7', 'expired', '2026-10-01', -50, 'ACME', 'P7', 'X7', 400, 120, 0.3, 0.0, false, NULL, 'timely_filing'),
    ('q8', 'resolved', NULL, NULL, 'ACME', 'P8', 'X8', 70, 35, 0.5, 0.0, false, NULL, 'coding'),
    ('q9', 'corrected_claim', NULL, NULL, NULL, 'P9', NULL, NULL, 0, 0.7, 0.0, false, NULL, 'front_door_rejection');
"""


def test_today_lists_the_next_7_days_by_deadline_then_priority_with_packets():
    con = _connect(PACKETS, "analyst_today")
    rows = con.sql("SELECT patient_control_number, days_left, action, overturn_probability, packet "
                   "FROM analyst_today").fetchall()
    assert rows == [
        # 2026-11-22: two items, the more valuable (priority 178.0) first
        ("P2", 2, "file by deadline", 0.35, "packets/requests/level1_X2.pdf"),
        ("P3", 2, "file by deadline", 0.6, "packets/trends/trend_TC-1.pdf"),
        ("P4", 4, "payer decision due", 0.25, None),
        ("P1", 7, "file by deadline", 0.6, None),  # a corrected claim goes out from the billing system
        # a rejected claim with no deadline to count: today, after every dated item
        ("P9", None, "fix and resend now: its 837 is not in the inbox, deadline unknown", 0.7, None),
        # P6 is due in 8 days, P5's decision is already overdue, P7 expired, P8 resolved: not today's list
    ]


def test_today_counts_keep_ours_and_the_payers_overdue_apart():
    con = _connect(PACKETS, "analyst_today", "analyst_today_counts")
    counts = con.sql("SELECT due_this_week, past_our_deadline, past_confirmed_deadline, awaiting_payer, "
                     "payer_decision_overdue, open_expected_recovery::DOUBLE, flagged_trends "
                     "FROM analyst_today_counts").fetchone()
    # expected recovery: q1..q6 only (60 + 104 + 30 + 20 + 20 + 500); expired q7 and resolved q8 excluded;
    # q7 is the one claim lost to a confirmed window (only a confirmed window expires a claim); q9 is due now
    assert counts == (5, 0, 1, 2, 1, 734.0, 1)


def test_work_queue_by_route_counts_only_recoverable_dollars_and_splits_overdue():
    con = _connect(PACKETS, "analyst_work_queue_by_route")
    rows = {r[0]: r[1:] for r in con.sql(
        "SELECT route, expected_recovery::DOUBLE, next_deadline::VARCHAR, past_our_deadline, "
        "payer_decision_overdue, avg_overturn_probability FROM analyst_work_queue_by_route").fetchall()}
    assert rows["expired"] == (0.0, None, 0, 0, 0.3)  # 120 of "expected recovery" no longer counted
    assert rows["resolved"] == (0.0, None, 0, 0, 0.5)
    assert rows["level2_dispute"] == (20.0, None, 0, 1, 0.22)  # the payer is late; no deadline ahead
    assert rows["level1_reconsideration"] == (124.0, "2026-11-22", 0, 0, 0.3)  # round(0.2983..., 2)


def test_renamed_views_keep_answering_to_their_old_names(tmp_path):
    from claimback.publish import _create_views

    (tmp_path / "analyst_x.sql").write_text("-- What is one?\nCREATE OR REPLACE VIEW analyst_x AS SELECT 1 AS one;")
    (tmp_path / "renamed_views.csv").write_text("# old_name,new_name\nx,analyst_x\n")
    con = duckdb.connect()
    assert _create_views(con, tmp_path) == ["analyst_x"]  # the old name is not listed as a view of its own
    assert con.sql("SELECT one FROM x").fetchone() == (1,)


def test_every_view_follows_the_one_naming_scheme_and_every_old_name_has_its_view():
    assert [p.stem for p in SQL.glob("*.sql") if not p.stem.startswith("analyst_")] == []
    pairs = [line.split(",") for line in (SQL / "renamed_views.csv").read_text().splitlines()
             if line and not line.startswith("#")]
    assert pairs and all((SQL / f"{new}.sql").exists() and new == f"analyst_{old}" for old, new in pairs)


BRANCHES = """
CREATE TABLE work_queue (claim_key VARCHAR, route VARCHAR, category VARCHAR, deadline DATE, days_left BIGINT,
    denied_amount DECIMAL(12, 2), expected_recovery DECIMAL(12, 2), awaiting_payer BOOLEAN);
CREATE TABLE lonely_payments (claim_key VARCHAR, paid_amount DECIMAL(12, 2));
-- as of 2026-11-20
INSERT INTO work_queue VALUES
    ('d1', 'level1_reconsideration', 'coding_bundling', '2026-12-10', 20, 100, 50, false),
    ('d2', 'recoupment', 'recoupment', '2026-12-01', 11, 40, 20, false),
    ('d3', 'bill_patient', 'patient_responsibility', NULL, NULL, 15, 0, false),
    ('d4', 'expired', 'coding_bundling', '2026-10-01', -50, 70, 0, false),
    ('s1', 'claim_status_inquiry', 'silent_claim', '2027-08-12', 265, 320, 192, false),
    ('s2', 'claim_status_inquiry', 'silent_claim', '2026-11-01', -19, 80, 48, false),
    ('r1', 'corrected_claim', 'front_door_rejection', '2027-08-10', 263, 100, 70, false),
    -- a Level I whose decision was due 20 days ago, and one still within the payer's time
    ('o1', 'level1_reconsideration', 'coding_bundling', '2026-10-31', -20, 180, 97.2, true),
    ('o2', 'level1_reconsideration', 'coding_bundling', '2026-12-31', 41, 210, 113.4, true),
    -- underpayments: one to dispute, one in a fee-schedule trend, one already filed (awaiting the payer)
    ('u1', 'level1_reconsideration', 'underpayment', '2027-01-05', 46, 25, 16.25, false),
    ('u2', 'trend_report', 'underpayment', '2027-01-08', 49, 30, 19.5, false),
    ('u3', 'level1_reconsideration', 'underpayment', '2027-01-20', 61, 40, 26, true);
INSERT INTO lonely_payments VALUES ('l1', 90), ('l2', 110);
"""


def test_today_branches_count_each_branch_with_its_dollars():
    con = _connect(BRANCHES, "analyst_today_branches")
    rows = con.sql("SELECT branch, items, dollars::DOUBLE, dollars_are, expected_recovery::DOUBLE, "
                   "next_deadline::VARCHAR FROM analyst_today_branches").fetchall()
    assert rows == [
        # d1 and d2 to file; the patient's share, the expired claim and the waiting o2 are no work today
        ("denials and take-backs to work", 2, 140.0, "denied or taken back", 70.0, "2026-12-01"),
        ("silent claims", 2, 400.0, "billed", 240.0, "2027-08-12"),
        ("front-door rejections", 1, 100.0, "billed", 70.0, "2027-08-10"),
        ("lonely payments", 2, 200.0, "paid, on no claim of ours", None, None),
        ("underpayments", 2, 55.0, "short of the expected allowed amount", 35.75, "2027-01-05"),
        ("payer overdue", 1, 180.0, "denied, decision overdue", 97.2, None),
    ]
