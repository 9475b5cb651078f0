"""Every adjustment counted, on hand-written remits: partial denials and bare reversals.

partial_denials.835 (ACME pays River Family Practice, 2026-11-09):
- PD301: 97110 charge 600 paid 550, CO-210 $50 (authorization not obtained in time).
- PD302: 97112 billed 4 units (SVC07), 3 paid: charge 400 paid 300, CO-151 $100 (information
  does not support this many services).
- PD303: 99214 paid 200 (CO-45 $50 contract pricing) and 36415 charge 30 bundled, CO-97 $30.
- PD304: 99213 paid 50 with CO-45 $200 and PR-2 $50: pricing and coinsurance, no denial.

bare_reversals.835: three claims paid on 2026-09-01 (RV401 $120, RV402 $120, RV403 $100).
2026-10-01: RV401 reversed (CLP02 22, CLP04 -120) with nothing after it; RV403 reversed and
re-adjudicated in the same remit (paid 120). 2026-11-10: RV402 reversed. Run as of 2026-11-20 with
the default 30 days' wait: RV401 (50 days) is a recoupment of $120; RV402 (10 days) may still get
its replacement; RV403 was replaced.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from tests.facts.helpers import run

pytestmark = pytest.mark.slow


def test_denials_on_paid_lines_are_counted(tmp_path):
    tables = run(tmp_path, {"era.835": "partial_denials.835"})
    denials = tables["denials"].sort("patient_control_number")
    assert denials.select("patient_control_number", "primary_reason", "denied_amount", "denial_level",
                          "category", "procedure_codes").rows() == [
        ("PD301", "CO-210", Decimal("50.00"), "line", "authorization", ["97110"]),
        ("PD302", "CO-151", Decimal("100.00"), "line", "medical_necessity", ["97112"]),
        ("PD303", "CO-97", Decimal("30.00"), "line", "coding_bundling", ["36415"]),
    ]
    queue = tables["work_queue"].sort("patient_control_number")
    assert queue["patient_control_number"].to_list() == ["PD301", "PD302", "PD303"]
    assert queue["denied_amount"].to_list() == [Decimal("50.00"), Decimal("100.00"), Decimal("30.00")]


def test_a_bare_reversal_left_standing_is_a_recoupment_in_the_work_queue(tmp_path):
    tables = run(tmp_path, {"era.835": "bare_reversals.835"})
    assert tables["denials"].height == 0  # nothing is denied
    recoupments = tables["recoupments"]
    assert recoupments.select("patient_control_number", "reversed_on", "recouped_amount",
                              "days_without_replacement").rows() == [
        ("RV401", date(2026, 10, 1), Decimal("120.00"), 50)]
    [row] = tables["work_queue"].rows(named=True)
    assert (row["patient_control_number"], row["route"], row["denied_amount"]) == (
        "RV401", "recoupment", Decimal("120.00"))
    # the payer's Level I window (shipped default: 60 days + mail days) from the reversal
    assert row["anchor_date"] == date(2026, 10, 1) and row["deadline"] >= date(2026, 11, 30)
    assert row["days_left"] == (row["deadline"] - date(2026, 11, 20)).days
    assert "ICN-RV401" in row["reason"] and row["priority"] > 0
    adjudications = tables["adjudications"]
    rv403 = adjudications.filter(pl.col("patient_control_number") == "RV403").sort("adjudication_seq")
    assert rv403["adjudication_kind"].to_list() == ["original", "reversal", "readjudication"]
