"""Front-door rejections in the queue, and never also silent: claimback.silent and
claimback.routing.unanswered on hand-built claim_rejections rows (the columns of the table the
999 / 277CA reader writes), with the expected rows worked out by hand.

Payer ACME01 matches no payer entry: the default rule (filing limit 365 days from the date of
service, unconfirmed; status inquiry after 45 days). As of 2026-11-20.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from claimback.routing import load_rules
from claimback.routing.unanswered import rejection_queue
from claimback.silent import silent_claims

AS_OF = date(2026, 11, 20)
RULES = load_rules()


def _submitted() -> pl.DataFrame:
    # Three 837 claims of River Family Practice sent 2026-08-18 (94 days before the as-of date),
    # none answered by an 835.
    return pl.DataFrame({
        "claim_key": ["K1", "K2", "K3"],
        "source_file": ["claims.837"] * 3,
        "claim_ordinal": [1, 2, 3],
        "patient_control_number": ["RJ1", "RJ2", "RJ3"],
        "payer_name": ["ACME HEALTH PLAN"] * 3,
        "payer_id": ["ACME01"] * 3,
        "billing_npi": ["1234567893"] * 3,
        "billing_tax_id": ["111111111"] * 3,
        "subscriber_member_id": ["M1", "M2", "M3"],
        "statement_from": [date(2026, 8, 10), date(2026, 8, 11), date(2026, 8, 12)],
        "total_charge": [Decimal("100.00"), Decimal("200.00"), Decimal("300.00")],
        "frequency_code": ["1"] * 3,
        "claim_filing_indicator": ["CI"] * 3,
        "submitted_on": [date(2026, 8, 18)] * 3,
    })


def _rejections() -> pl.DataFrame:
    # RJ1: the payer's 277CA rejected it (A7:21, invalid member id) and it was never sent again;
    # RJ2: a 999 rejected an 837 the inbox does not have (no key): matched by practice, payer,
    #      claim number and date of service; still rejected;
    # RJ3: rejected once, then accepted on a resend (still_rejected false): it can still be silent.
    return pl.DataFrame({
        "acknowledgment_key": ["A1", "A2", "A3"],
        "submitted_claim_key": ["K1", None, "K3"],
        "practice_key": ["NPI:1234567893"] * 3,
        "payer_name": ["ACME HEALTH PLAN"] * 3,
        "payer_id": ["ACME01"] * 3,
        "patient_control_number": ["RJ1", "RJ2", "RJ3"],
        "service_date": [date(2026, 8, 10), date(2026, 8, 11), date(2026, 8, 12)],
        "billed_amount": [Decimal("100.00"), Decimal("200.00"), Decimal("300.00")],
        "rejected_on": [date(2026, 8, 20), date(2026, 8, 18), date(2026, 8, 19)],
        "acknowledgment": ["277CA", "999", "277CA"],
        "status_codes": [["A7:21"], ["IK403:7"], ["A7:21"]],
        "error_location": [None, "CLM05-3", None],
        "reason": ["Missing or invalid information: the member id", "Invalid code value", "Invalid member id"],
        "source_file": ["ack.277", "ack.999", "ack2.277"],
        "still_rejected": [True, True, False],
    })


NO_MATCHES = pl.DataFrame(schema={"remit_claim_key": pl.String, "submitted_claim_key": pl.String,
                                  "match_method": pl.String})


def test_a_claim_still_rejected_is_never_also_silent():
    silent = silent_claims(_submitted(), NO_MATCHES, _rejections(), RULES, AS_OF)
    assert silent["patient_control_number"].to_list() == ["RJ3"]
    # without the rejections all three are silent (94 days > 45)
    alone = silent_claims(_submitted(), NO_MATCHES, pl.DataFrame(), RULES, AS_OF)
    assert sorted(alone["patient_control_number"].to_list()) == ["RJ1", "RJ2", "RJ3"]


def test_an_answered_claim_is_not_silent():
    matches = NO_MATCHES.vstack(pl.DataFrame({"remit_claim_key": ["R1"], "submitted_claim_key": ["K2"],
                                              "match_method": ["pcn_payer_id"]}))
    silent = silent_claims(_submitted(), matches, pl.DataFrame(), RULES, AS_OF)
    assert sorted(silent["patient_control_number"].to_list()) == ["RJ1", "RJ3"]


def test_each_claim_still_rejected_is_a_corrected_claim_due_by_the_filing_limit():
    rows = rejection_queue(_rejections(), RULES, AS_OF).sort("patient_control_number")
    # deadlines: 2026-08-10 + 365 = 2027-08-10 (263 days after 2026-11-20); 2026-08-11 + 365 = 2027-08-11 (264)
    assert rows.select("claim_key", "patient_control_number", "route", "category", "primary_reason", "deadline",
                       "days_left", "denied_amount", "expected_recovery", "claim_frequency_to_send",
                       "deadline_confirmed", "submitted_claim_key").rows() == [
        ("K1", "RJ1", "corrected_claim", "front_door_rejection", "A7:21", date(2027, 8, 10), 263,
         Decimal("100.00"), Decimal("70.00"), "1", False, "K1"),
        ("A2", "RJ2", "corrected_claim", "front_door_rejection", "IK403:7",
         date(2027, 8, 11), 264, Decimal("200.00"), Decimal("140.00"), "1", False, None),
    ]
    assert rows["reason"][1] == (
        "Rejected at the payer's front door: the 999 of 2026-08-18 says IK403:7 at CLM05-3 (Invalid code value). "
        "The payer never accepted the claim: fix it and send it as a new claim (frequency 1) by 2027-08-11, the "
        "payer's timely-filing limit (365 days from the date of service 2026-08-11; a default or unconfirmed "
        "limit: verify it with the payer).")


def test_a_claim_rejected_again_after_a_resend_is_one_work_item_its_latest_rejection():
    # RJ1 sent again on 2026-09-01 (837 K4) and rejected again by the 999 of 2026-09-02 at NM109
    again = _rejections().head(1).with_columns(
        acknowledgment_key=pl.lit("A4"), submitted_claim_key=pl.lit("K4"), rejected_on=pl.lit(date(2026, 9, 2)),
        acknowledgment=pl.lit("999"), status_codes=pl.lit(["IK403:7"]), error_location=pl.lit("NM109"),
        source_file=pl.lit("ack3.999"))
    rows = rejection_queue(pl.concat([_rejections(), again]), RULES, AS_OF).filter(patient_control_number="RJ1")
    assert rows.select("claim_key", "primary_reason", "submitted_claim_key").rows() == [("K4", "IK403:7", "K4")]
    assert "the 999 of 2026-09-02 says IK403:7 at NM109" in rows["reason"][0]


def test_no_rejections_table_means_no_rows():
    assert rejection_queue(pl.DataFrame(), RULES, AS_OF).height == 0

