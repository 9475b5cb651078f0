"""Silent claims and overdue follow-ups on hand-written 837P + 835 files and a reconsideration log.

Expected rows are written from the files' segments and the default payer rule (ACME01 matches no
payer entry of payer_rules.yaml: status_inquiry_after 45 days, filing limit 365 days from the date
of service, unconfirmed; Level I decision_days 60), not from claimback's output. As of 2026-11-20.

silent_claims_august.837 (GS04 2026-08-18), River Family Practice (NPI 1234567893) to ACME01:
  SIL1001 MEMBER-G1 $150 DOS 2026-08-10  -> answered by the 835 (paid 120): not silent
  SIL1002 MEMBER-H2 $320 DOS 2026-08-12  -> no 835: silent 2026-08-18 .. 2026-11-20 = 94 days > 45
  SIL1004 MEMBER-K4 $200 DOS 2026-08-14  -> resent in November (below): its latest submission counts
  REC2001 MEMBER-L5 $180 DOS 2026-08-05  -> denied CO-16 on the 835; Level I filed 2026-09-01
  REC2002 MEMBER-M6 $210 DOS 2026-08-06  -> denied CO-16 on the 835; Level I filed 2026-11-01
  SIL1005 MEMBER-N7 $140 DOS 2026-08-15  -> no 835 answers SIL1005, but the payer paid "SIL1O05" (letter
                                            O for zero) for the same member, payer and date: a lonely
                                            payment whose closest candidate it is, so not silent
silent_claims_november.837 (GS04 2026-11-01):
  SIL1003 MEMBER-J3 $95 DOS 2026-10-28   -> 19 days: within the window, no row
  SIL1004 MEMBER-K4 $200 DOS 2026-08-14  -> the same claim sent again: 19 days since, no row
silent_claims.835 (BPR16 2026-08-25): SIL1001 paid, REC2001 and REC2002 denied in full (CO-16),
  SIL1O05 paid (110 of 140).
follow_ups.reconsiderations.csv: REC2001 Level I 2026-09-01 (decision due 2026-09-01 + 60 =
  2026-10-31, 20 days overdue); REC2002 Level I 2026-11-01 (due 2026-12-31, 41 days left).

SIL1002's row by hand: deadline 2026-08-12 + 365 days = 2027-08-12; 2026-11-20 .. 2027-08-12 = 265
days left; denied_amount = billed $320.00; expected recovery = 320 × 0.6 (the registry's prior of
claim_status_inquiry) = $192.00.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from claimback.publish import DATABASE_NAME
from tests.facts.helpers import run

pytestmark = pytest.mark.slow

FILES = {
    "claims-august.837": "silent_claims_august.837",
    "claims-november.837": "silent_claims_november.837",
    "remit.835": "silent_claims.835",
    "follow_ups.reconsiderations.csv": "follow_ups.reconsiderations.csv",
}


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return run(tmp_path_factory.mktemp("silent"), FILES)


def test_only_the_claim_silent_beyond_its_window_is_listed(tables):
    silent = tables["silent_claims"]
    assert silent.select(
        "patient_control_number", "practice_key", "payer_id", "service_date", "billed_amount", "submission_count",
        "submitted_on", "days_silent", "window_days", "payer_rule", "filing_limit_days", "deadline", "days_left",
        "deadline_confirmed", "source_file",
    ).rows() == [
        ("SIL1002", "NPI:1234567893", "ACME01", date(2026, 8, 12), Decimal("320.00"), 1, date(2026, 8, 18), 94, 45,
         "default", 365, date(2027, 8, 12), 265, False, "claims-august.837"),
    ]
    submitted = dict(tables["submitted_claims"].select("patient_control_number", "claim_key").rows())
    assert silent["submitted_claim_key"].to_list() == [submitted["SIL1002"]]
    assert "MEMBER-H2" not in str(silent.rows())  # no member id is published


def test_the_silent_claim_is_a_claim_status_inquiry(tables):
    rows = tables["work_queue"].filter(route="claim_status_inquiry")
    assert rows.select("patient_control_number", "payer_name", "deadline", "days_left", "denied_amount",
                       "expected_recovery", "category", "window_anchor", "anchor_date",
                       "deadline_confirmed").rows() == [
        ("SIL1002", "ACME HEALTH PLAN", date(2027, 8, 12), 265, Decimal("320.00"), Decimal("192.00"), "silent_claim",
         "date_of_service", date(2026, 8, 12), False),
    ]
    reason = rows["reason"][0]
    assert reason.startswith("837 sent 2026-08-18, no 835 after 94 days; the payer's window is 45 days.")
    assert "send it again by 2027-08-12" in reason and "verify it with the payer" in reason
    assert "276" in rows["follow_up_channel"][0]
    assert rows["priority"][0] > 0
    # answered, within-window and resent claims are no work item
    pcns = tables["work_queue"]["patient_control_number"].to_list()
    assert not {"SIL1001", "SIL1003", "SIL1004", "SIL1005"} & set(pcns)


def test_a_claim_paid_under_a_mistyped_number_is_a_lonely_payment_not_silent(tables):
    lonely = tables["lonely_payments"]
    assert lonely.select("patient_control_number", "closest_candidate_pcn", "candidate_reason").rows() == [
        ("SIL1O05", "SIL1005", "same_member_payer_service_date")]
    assert "SIL1005" not in tables["silent_claims"]["patient_control_number"].to_list()


def test_an_overdue_request_is_a_follow_up_and_an_in_time_one_is_not(tables):
    queue = tables["work_queue"].filter(tables["work_queue"]["patient_control_number"].is_in(["REC2001", "REC2002"]))
    rows = {r["patient_control_number"]: r for r in queue.iter_rows(named=True)}
    overdue, in_time = rows["REC2001"], rows["REC2002"]
    assert (overdue["route"], overdue["awaiting_payer"], overdue["deadline"], overdue["days_left"]) == (
        "level1_reconsideration", True, date(2026, 10, 31), -20)
    assert overdue["reason"].startswith("Payer decision overdue: it was due 2026-10-31, 20 days ago. Chase it: ")
    assert "RQ-2001" in overdue["reason"] and "276" in overdue["follow_up_channel"]
    assert overdue["priority"] > 0
    assert (in_time["route"], in_time["awaiting_payer"], in_time["deadline"], in_time["days_left"]) == (
        "level1_reconsideration", True, date(2026, 12, 31), 41)
    assert in_time["follow_up_channel"] is None and not in_time["reason"].startswith("Payer decision overdue")


def test_the_analyst_view_lists_the_silent_claim(tables, tmp_path_factory):
    warehouse = next(tmp_path_factory.getbasetemp().glob("silent*")) / "warehouse"
    with duckdb.connect(str(warehouse / DATABASE_NAME), read_only=True) as con:
        rows = con.sql("SELECT patient_control_number, billed_amount::DOUBLE, days_silent, window_days, deadline "
                       "FROM analyst_silent_claims").fetchall()
    assert rows == [("SIL1002", 320.0, 94, 45, date(2027, 8, 12))]
