"""Front-door rejections in the work queue, and never also silent: the hand-written 837, 999 and
277CA of tests/facts/x12 ("front door", README.md) routed as of 2027-01-10.

frontdoor.837 (GS04 2026-10-15), River Family Practice (NPI 1234567893) to ACME01, which matches no
payer entry (default rule: status inquiry after 45 days, filing limit 365 days from the date of
service, unconfirmed):
  FD1001 $150 DOS 2026-10-12 -> the 277CA accepts it (A2:20), no 835 follows: silent,
                                2026-10-15 .. 2027-01-10 = 87 days > 45
  FD1002 $200 DOS 2026-10-13 -> the 277CA of 2026-10-17 rejects it (A7:164, member id): a corrected
                                claim, not silent
  FD2001 $175 DOS 2026-10-14 -> the 999 of 2026-10-16 rejects its transaction set at CLM05-3: a
                                corrected claim, not silent
Expected rows by hand: deadlines DOS + 365 days (2027-10-12, -13, -14), days left from 2027-01-10
(275, 276, 277); expected recovery = billed × the route's prior (claim_status_inquiry 0.6,
corrected_claim 0.7): 90.00, 140.00, 122.50.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from tests.facts.helpers import run

pytestmark = pytest.mark.slow

FILES = {"frontdoor.837": "frontdoor.837", "frontdoor.999": "frontdoor.999", "frontdoor.277": "frontdoor.277"}
AS_OF = date(2027, 1, 10)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return run(tmp_path_factory.mktemp("front_door"), FILES, as_of=AS_OF)


def test_each_claim_still_rejected_is_a_corrected_claim_and_the_accepted_unanswered_one_is_silent(tables):
    keys = dict(tables["submitted_claims"].select("patient_control_number", "claim_key").iter_rows())
    queue = tables["work_queue"].sort("patient_control_number")
    assert queue.select("patient_control_number", "route", "category", "primary_reason", "deadline", "days_left",
                        "denied_amount", "expected_recovery", "claim_frequency_to_send", "submitted_claim_key",
                        "claim_key").rows() == [
        ("FD1001", "claim_status_inquiry", "silent_claim", None, date(2027, 10, 12), 275, Decimal("150.00"),
         Decimal("90.00"), None, keys["FD1001"], keys["FD1001"]),
        ("FD1002", "corrected_claim", "front_door_rejection", "A7:164", date(2027, 10, 13), 276, Decimal("200.00"),
         Decimal("140.00"), "1", keys["FD1002"], keys["FD1002"]),
        ("FD2001", "corrected_claim", "front_door_rejection", "IK403:7", date(2027, 10, 14), 277,
         Decimal("175.00"), Decimal("122.50"), "1", keys["FD2001"], keys["FD2001"]),
    ]
    reasons = dict(queue.select("patient_control_number", "reason").iter_rows())
    assert reasons["FD2001"].startswith("Rejected at the payer's front door: the 999 of 2026-10-16 says IK501:R, "
                                        "IK502:5, IK304:8, IK403:7 at CLM05-3 (")
    assert reasons["FD1002"].startswith("Rejected at the payer's front door: the 277CA of 2026-10-17 says A7:164 (")
    assert "send it as a new claim (frequency 1) by 2027-10-13" in reasons["FD1002"]
    assert reasons["FD1001"].startswith("837 sent 2026-10-15, no 835 after 87 days; the payer's window is 45 days.")
    assert tables["silent_claims"]["patient_control_number"].to_list() == ["FD1001"]


def test_the_today_branches_count_them(tables, tmp_path_factory):
    import duckdb

    from claimback.publish import DATABASE_NAME
    warehouse = next(tmp_path_factory.getbasetemp().glob("front_door*")) / "warehouse"
    with duckdb.connect(str(warehouse / DATABASE_NAME), read_only=True) as con:
        rows = dict((b, (n, float(d))) for b, n, d in con.sql(
            "SELECT branch, items, dollars FROM analyst_today_branches").fetchall())
    assert rows["silent claims"] == (1, 150.0)
    assert rows["front-door rejections"] == (2, 375.0)


def test_a_rejection_whose_837_is_not_in_the_inbox_waits_for_its_date_of_service(tmp_path):
    """The 999 and 277CA without frontdoor.837 (a clearinghouse delivers acknowledgments before, or
    without, the 837s they answer). The 277CA names FD1002's dates (DTP*472 RD8 2026-10-13): its
    deadline stands as with the 837. The 999 names only FD2001's patient control number (IK3 CTX
    CLM01): no date of service, payer or charge, so no deadline to count; the row is still the
    analyst's to work, its reason says why it has no deadline, and the run does not fail on it."""
    tables = run(tmp_path, {"frontdoor.999": "frontdoor.999", "frontdoor.277": "frontdoor.277"}, as_of=AS_OF)
    queue = tables["work_queue"].sort("patient_control_number")
    assert queue.select("patient_control_number", "route", "primary_reason", "deadline", "days_left",
                        "anchor_date", "deadline_confirmed", "submitted_claim_key").rows() == [
        ("FD1002", "corrected_claim", "A7:164", date(2027, 10, 13), 276, date(2026, 10, 13), False, None),
        ("FD2001", "corrected_claim", "IK403:7", None, None, None, False, None),
    ]
    reason = queue.filter(pl.col("patient_control_number") == "FD2001")["reason"].item()
    assert reason.startswith("Rejected at the payer's front door: the 999 of 2026-10-16 says IK501:R, "
                             "IK502:5, IK304:8, IK403:7 at CLM05-3 (")
    assert reason.endswith("send it as a new claim (frequency 1) now. Its 837 is not in the inbox, so its date "
                           "of service, and with it the payer's timely-filing deadline, is unknown: find claim "
                           "FD2001 in the billing system; the row gets its deadline when the 837 reaches the inbox.")
