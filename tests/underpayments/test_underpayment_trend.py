"""10+ underpaid claims of one procedure at one payer and practice are a trend: a fee schedule
loaded wrong. Hand-written remit (tests/underpayments/remits.py, wrong_fee_schedule_835): ACME
allowed 99214 at $95 on 12 claims (dates of service 2026-10-01 to 2026-10-12) where the contract
says $120; expected cluster row written by hand."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from claimback import stages
from tests.forms.conftest import pdf_text
from tests.routing.route_inbox import denials_of
from tests.routing.x12_inbox import write
from tests.underpayments.remits import FEE_SCHEDULE, wrong_fee_schedule_835

AS_OF = date(2026, 11, 20)


def _settings(tmp_path, claims: int) -> stages.Settings:
    inbox = tmp_path / "inbox"
    write(inbox, "era.835", wrong_fee_schedule_835(claims))
    write(inbox, "fee_schedule.csv", FEE_SCHEDULE)
    return denials_of(inbox, tmp_path / "warehouse", AS_OF)


def test_a_wrong_fee_schedule_on_twelve_claims_is_a_trend(tmp_path):
    settings = _settings(tmp_path, 12)
    stages.find_trends(settings)
    clusters = settings.lake.read("trend_clusters")
    assert clusters.select("signature", "category", "claim_count", "denied_amount", "status", "payer_id",
                           "first_service_date", "last_service_date").rows() == [
        ("underpaid 99214", "underpayment", 12, Decimal("300.00"), "flagged", "ACME01",
         date(2026, 10, 1), date(2026, 10, 12))]
    assert clusters["description"][0] == (
        "CPT 99214 paid at $95.00 instead of contracted $120.00 on 12 claims remitted since 2026-11-09 "
        "(dates of service from 2026-10-01).")
    # the payer's trend packet says what the claims share and what to correct
    [pdf_path] = settings.lake.read("trend_packets")["pdf_path"].to_list()
    text = " ".join(pdf_text(settings.warehouse / pdf_path).split())
    assert "12 of this practice's claims were paid below the expected allowed amount for the same procedure" in text
    assert "Check the fee schedule loaded for this procedure against our agreement" in text
    # every member goes on the trend report, not twelve Level I requests
    queue, _, _ = stages.build_queue(settings)
    assert queue["route"].unique().to_list() == ["trend_report"]
    assert queue.height == 12


def test_nine_underpaid_claims_are_nine_level1_disputes(tmp_path):
    settings = _settings(tmp_path, 9)
    stages.find_trends(settings)
    assert settings.lake.read("trend_clusters").filter(pl.col("status") == "flagged").height == 0
    queue, _, _ = stages.build_queue(settings)
    assert queue["route"].to_list() == ["level1_reconsideration"] * 9
