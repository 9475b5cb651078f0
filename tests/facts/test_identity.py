"""Claim identity on hand-written remits: practices and members never merge, the payer's dates order.

Expected rows are written from the files' segments (see tests/facts/x12/README.md), not from
claimback's output.
"""
from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from tests.facts.helpers import run

pytestmark = pytest.mark.slow


def test_two_practices_reusing_a_patient_control_number_stay_two_claims(tmp_path):
    # two_practices_one_pcn.835: ST 0001 pays River Family Practice (N1*PE*XX*1234567893)
    # ENC1001 for member MEMBER-A1 $150 of $200 (CO-45 $50 is contract pricing, no denial);
    # ST 0002 denies Lakeside Pediatrics (N1*PE*XX*1245319599) ENC1001 for MEMBER-B7 in full,
    # CO-4 $180 (modifier inconsistent with the procedure). The 837 bills each from its own
    # 2010AA billing provider.
    tables = run(tmp_path, {"remit.835": "two_practices_one_pcn.835", "claims.837": "two_practices_one_pcn.837"})
    adjudications = tables["adjudications"].sort("practice_key")
    assert adjudications.select("claim_id", "adjudication_count", "is_denied").rows() == [
        ("ID:ACME01|NPI:1234567893|ENC1001|2026-10-01", 1, False),
        ("ID:ACME01|NPI:1245319599|ENC1001|2026-10-01", 1, True),
    ]
    denials = tables["denials"]
    assert denials.select("patient_control_number", "practice_key", "primary_reason", "denied_amount",
                          "billing_npi", "category").rows() == [
        ("ENC1001", "NPI:1245319599", "CO-4", Decimal("180.00"), "1245319599", "coding_bundling"),
    ]
    queue = tables["work_queue"]
    assert queue.select("patient_control_number", "denied_amount").rows() == [("ENC1001", Decimal("180.00"))]
    assert queue["route"].to_list() == ["corrected_claim"]  # CO-4: the provider fixes the modifier
    assert tables["recovered_claims"].height == 0  # A's payment is not B's recovery


def test_template_remit_reusing_one_pcn_for_three_members_is_three_claims(tmp_path):
    # template_pcn_three_members.835: three CLPs under ACCT0000, same payer, payee and date of
    # service, members AA11111A (paid 80, CO-45 20), BB22222B (CO-29 timely filing, 100) and
    # CC33333C (CO-197 + LQ*HE*N54, no authorization, 100).
    tables = run(tmp_path, {"medicaid.835": "template_pcn_three_members.835"})
    adjudications = tables["adjudications"].sort("claim_id")
    base = "ID:SMCD1|NPI:1234567893|ACCT0000|2026-10-20"
    assert adjudications.select("claim_id", "adjudication_count", "primary_reason").rows() == [
        (base, 1, None), (base + "|2", 1, "CO-29"), (base + "|3", 1, "CO-197"),
    ]
    denials = tables["denials"].sort("primary_reason")
    assert denials.select("claim_id", "primary_reason", "remark_codes", "denied_amount").rows() == [
        (base + "|3", "CO-197", ["N54"], Decimal("100.00")),
        (base + "|2", "CO-29", [], Decimal("100.00")),
    ]
    assert tables["work_queue"].height == 2
    # the member id is never part of an identifier anyone sees
    for table in ("adjudications", "denials", "work_queue"):
        text = str(tables[table].rows())
        assert not any(member in text for member in ("AA11111A", "BB22222B", "CC33333C"))


@pytest.mark.parametrize("names", [("AAA_remit.835", "ZZZ_remit.835"), ("ZZZ_remit.835", "AAA_remit.835")])
def test_a_corrected_remit_replaces_the_one_it_corrects_whatever_the_file_names(tmp_path, names):
    # resend_original.835 and resend_corrected.835: one payment (TRN02 EFT-0001105, BPR16
    # 2026-11-05, same payer and payee) sent twice. The original (GS04/GS05 20261105 0900) denies
    # RS103 CO-16; the corrected one (GS 1400, later the same day) pays it like the other five.
    original, corrected = names
    tables = run(tmp_path, {original: "resend_original.835", corrected: "resend_corrected.835"})
    adjudications = tables["adjudications"]
    assert adjudications.height == 6  # the five unchanged claims are not adjudicated twice
    assert adjudications["adjudication_count"].to_list() == [1] * 6
    assert adjudications.filter(pl.col("patient_control_number") == "RS103")["paid_amount"].to_list() == [
        Decimal("80.00")
    ]
    assert tables["denials"].height == 0
    assert tables["work_queue"].height == 0
