"""Codes on hand-written remits: an unknown code is a finding and a review, new codes are what X12 says.

unknown_and_new_codes.835 (one payment from ACME to River Family Practice):
- UNK2001: charge 120, paid 0, CAS*CO*999*120 (no CARC 999 exists) and LQ*HE*N999 (no RARC N999;
  the list ends at N940).
- NEW2002: charge 200, paid 140 on J9035, CAS*CO*307*40*1*308*20: CARC 307 (Medicare maximum fair
  price refund adjustment) and 308 (contracted funding agreement), new in the 2026-08-17 list, are
  price adjustments, not denials; LQ*HE*N907 (no refund: drug bought at the maximum fair price).
"""
from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from tests.facts.helpers import run

pytestmark = pytest.mark.slow


def test_unknown_codes_are_findings_and_their_denial_goes_to_review(tmp_path):
    tables = run(tmp_path, {"era.835": "unknown_and_new_codes.835"})
    findings = tables["validation_findings"].filter(pl.col("rule").str.starts_with("unknown"))
    assert sorted(findings.select("rule", "severity").rows()) == [
        ("unknown_carc", "warning"), ("unknown_rarc", "warning")]
    messages = " ".join(findings["message"])
    assert "CO-999" in messages and "N999" in messages and "UNK2001" in messages
    denials = tables["denials"]
    # only UNK2001 is denied: CO-999 of the whole 120, category unknown, the unknown remark kept
    assert denials.select("patient_control_number", "primary_reason", "category", "denied_amount",
                          "remark_codes").rows() == [
        ("UNK2001", "CO-999", "unknown", Decimal("120.00"), ["N999"])]
    [queue] = tables["work_queue"].rows(named=True)
    assert queue["patient_control_number"] == "UNK2001"
    assert "CO-999" in queue["reason"] and "review" in queue["reason"]
