"""Lonely payments on a hand-written 837P + 835 pair: 835 claims with no 837, and where to look.

Expected rows are written from the files' segments, not from claimback's output.

lonely_payments.837 (005010X222A1), one ST, payer ACME HEALTH PLAN (2010BB NM1*PR PI ACME01):
  HL*1 20  NM1*85 RIVER FAMILY PRACTICE XX 1234567893, REF*EI 111111111 (2010AA billing provider)
    HL*2 22  NM1*IL MI MEMBER-C3   CLM*LON1001 $120, SV1 99213, DTP*472 2026-10-05
    HL*3 22  NM1*IL MI MEMBER-D4   CLM*LON1002 $250, SV1 99214, DTP*472 2026-10-06
                                   CLM*LON1003 $90,  SV1 97110, DTP*472 2026-10-08 (two days later)
  HL*4 20  NM1*85 LAKESIDE PEDIATRICS XX 1245319599, REF*EI 222222222 (the other practice's
           billing system, which names the payer its own way: NM1*PR ACME HLTH, PI ACMLAKE)
    HL*5 22  NM1*IL MI MEMBER-F6   CLM*LAK2001 $140, SV1 99213, DTP*472 2026-10-09

lonely_payments.835 (005010X221A1), one ST: BPR*I $500 paid 2026-11-05 (BPR16), N1*PR ACME HEALTH
PLAN XV ACME01, N1*PE RIVER FAMILY PRACTICE XX 1234567893 (REF*TJ 111111111):
  CLP*LON1001*1*120*100  NM1*QC MEMBER-C3, DTM*232 2026-10-05, CAS*CO*45*20  -> answers CLM LON1001
  CLP*LON1O02*1*250*200  NM1*QC MEMBER-D4, DTM*232 2026-10-06, CAS*CO*45*50  -> letter O for zero:
      no 837 LON1O02; LON1002 is the same member, payer and date (rule 1), LON1003 the same member
      and payer two days off (rule 2)
  CLP*OTH9001*1*90*90    NM1*QC MEMBER-E5, DTM*232 2026-10-07               -> billed by a system
      whose 837s we never see: no member, no patient control number in common, no candidate
  CLP*LAK2001*1*140*110  NM1*QC MEMBER-F6, DTM*232 2026-10-09, CAS*CO*45*30  -> paid to River but
      billed by Lakeside: claims never match across practices; the same patient control number at
      the other practice is the candidate (rule 3; the payer ids differ, so rules 1-2 do not apply)
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from claimback import lonely
from claimback.publish import DATABASE_NAME
from tests.facts.helpers import run

pytestmark = pytest.mark.slow

FILES = {"remit.835": "lonely_payments.835", "claims.837": "lonely_payments.837"}


def test_lonely_payments_are_listed_with_their_closest_837s(tmp_path):
    tables = run(tmp_path, FILES)
    submitted = dict(tables["submitted_claims"].select("patient_control_number", "claim_key").rows())
    rows = tables["lonely_payments"].sort("patient_control_number")
    assert rows.select(
        "patient_control_number", "practice_key", "payer_id", "service_date", "remit_date",
        "charge_amount", "paid_amount", "candidate_count", "candidate_reason", "closest_candidate_pcn",
    ).rows() == [
        ("LAK2001", "NPI:1234567893", "ACME01", date(2026, 10, 9), date(2026, 11, 5),
         Decimal("140.00"), Decimal("110.00"), 1, "same_pcn_other_practice", "LAK2001"),
        ("LON1O02", "NPI:1234567893", "ACME01", date(2026, 10, 6), date(2026, 11, 5),
         Decimal("250.00"), Decimal("200.00"), 2, "same_member_payer_service_date", "LON1002"),
        ("OTH9001", "NPI:1234567893", "ACME01", date(2026, 10, 7), date(2026, 11, 5),
         Decimal("90.00"), Decimal("90.00"), 0, None, None),
    ]
    # LON1001 was answered: it is no lonely payment
    assert "LON1001" not in rows["patient_control_number"].to_list()
    key = dict(rows.select("patient_control_number", "claim_key").rows())
    candidates = tables["lonely_payment_candidates"].sort("claim_key", "candidate_rank")
    assert sorted(candidates.select(
        "claim_key", "candidate_rank", "candidate_count", "candidate_reason", "submitted_claim_key",
        "patient_control_number", "practice_key", "service_date", "days_apart",
    ).rows()) == sorted([
        (key["LAK2001"], 1, 1, "same_pcn_other_practice", submitted["LAK2001"], "LAK2001",
         "NPI:1245319599", date(2026, 10, 9), 0),
        (key["LON1O02"], 1, 2, "same_member_payer_service_date", submitted["LON1002"], "LON1002",
         "NPI:1234567893", date(2026, 10, 6), 0),
        (key["LON1O02"], 2, 2, "same_member_payer_near_date", submitted["LON1003"], "LON1003",
         "NPI:1234567893", date(2026, 10, 8), 2),
    ])
    # no member id is published
    text = str(rows.rows()) + str(candidates.rows())
    assert not any(member in text for member in ("MEMBER-C3", "MEMBER-D4", "MEMBER-E5", "MEMBER-F6"))
    # the analyst view: largest payment first, the closest candidates beside it
    with duckdb.connect(str(tmp_path / "warehouse" / DATABASE_NAME), read_only=True) as con:
        view = con.sql("SELECT patient_control_number, paid_amount::DOUBLE, closest_candidate_pcn, "
                       "candidate_reason, candidate_pcns FROM analyst_lonely_payments").fetchall()
    assert view == [
        ("LON1O02", 200.0, "LON1002", "same_member_payer_service_date", "LON1002, LON1003"),
        ("LAK2001", 110.0, "LAK2001", "same_pcn_other_practice", "LAK2001"),
        ("OTH9001", 90.0, None, None, ""),
    ]


def test_without_any_837_nothing_is_lonely(tmp_path):
    # an 835-only deployment: there is no 837 to miss, so the table stays empty
    tables = run(tmp_path, {"remit.835": "lonely_payments.835"})
    assert tables["lonely_payments"].height == tables["lonely_payment_candidates"].height == 0


def _one_lonely_payment(claims: list[tuple[str, str, str, date]]):
    """`lonely_payments` of one payment, LON1O02 of 2026-10-06 to River Family Practice
    (NPI 1234567893) for MEMBER-D4 at ACME01, against 837 `claims` (CLM01, billing NPI,
    subscriber, date of service), all to ACME01, in file order."""
    adjudications = pl.DataFrame({
        "claim_id": ["C1"], "claim_key": ["r1"], "adjudication_seq": [1], "is_latest": [True],
        "is_reversal": [False], "practice_key": ["NPI:1234567893"], "service_date": [date(2026, 10, 6)],
        "patient_control_number": ["LON1O02"], "remit_date": [date(2026, 11, 5)],
    })
    remits = pl.DataFrame({
        "claim_key": ["r1"], "patient_control_number": ["LON1O02"], "payer_id": ["ACME01"],
        "payer_name": ["ACME HEALTH PLAN"], "remit_date": [date(2026, 11, 5)], "member_id": ["MEMBER-D4"],
        "original_payer_claim_control_number": [None], "payer_claim_control_number": ["ICN-L-2"],
    })
    n = len(claims)
    submitted = pl.DataFrame({
        "claim_key": [f"s{i}" for i in range(n)], "patient_control_number": [c[0] for c in claims],
        "payer_id": ["ACME01"] * n, "payer_name": ["ACME HEALTH PLAN"] * n,
        "billing_npi": [c[1] for c in claims], "billing_tax_id": [None] * n,
        "subscriber_member_id": [c[2] for c in claims], "statement_from": [c[3] for c in claims],
        "frequency_code": ["1"] * n, "original_payer_claim_control_number": [None] * n,
        "source_file": ["claims.837"] * n, "claim_ordinal": list(range(1, n + 1)),
    }, schema_overrides={"billing_tax_id": pl.String, "original_payer_claim_control_number": pl.String})
    return lonely.lonely_payments(adjudications, remits, submitted)


def test_near_date_rule_stops_at_near_days():
    # the same member and payer 3 and 4 days later: only the first is "near" (NEAR_DAYS = 3)
    payments, candidates = _one_lonely_payment([
        ("LON1009", "1234567893", "MEMBER-D4", date(2026, 10, 9)),
        ("LON1010", "1234567893", "MEMBER-D4", date(2026, 10, 10)),
    ])
    assert payments.select("candidate_count", "closest_candidate_pcn").rows() == [(1, "LON1009")]
    assert candidates.select("patient_control_number", "days_apart").rows() == [("LON1009", 3)]


def test_closest_first_and_at_most_three():
    # five 837s of MEMBER-D4 (and one of another member, never a candidate): within a rule the
    # payment's own practice comes first, then the nearest date; only the closest 3 are kept
    payments, candidates = _one_lonely_payment([
        ("LON0002", "1234567893", "MEMBER-D4", date(2026, 10, 5)),  # rule 2, 1 day
        ("LON0003", "1234567893", "MEMBER-D4", date(2026, 10, 6)),  # rule 1, own practice
        ("LON0004", "1234567893", "MEMBER-D4", date(2026, 10, 8)),  # rule 2, 2 days
        ("LON0005", "1234567893", "MEMBER-Z9", date(2026, 10, 6)),  # another member
        ("LAK0001", "1245319599", "MEMBER-D4", date(2026, 10, 6)),  # rule 1, other practice, sent last
    ])
    assert payments.select("candidate_count", "candidate_reason", "closest_candidate_pcn").rows() == [
        (4, "same_member_payer_service_date", "LON0003")]
    assert candidates.select("candidate_rank", "patient_control_number", "candidate_reason").rows() == [
        (1, "LON0003", "same_member_payer_service_date"),
        (2, "LAK0001", "same_member_payer_service_date"),
        (3, "LON0002", "same_member_payer_near_date"),
    ]
