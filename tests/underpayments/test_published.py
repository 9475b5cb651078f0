"""The whole pipeline on the hand-written underpayment inbox (tests/underpayments/remits.py):
the published table and view, and the Level I packets of the two underpaid claims."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from claimback.publish import DATABASE_NAME
from pipelines.cli import run_pipeline
from tests.forms.conftest import pdf_text
from tests.routing.x12_inbox import write
from tests.underpayments.remits import FEE_SCHEDULE, history_835, underpaid_835

pytestmark = pytest.mark.slow


def test_underpayments_are_published_with_their_route_and_packet(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse"
    write(inbox, "history.835", history_835())
    write(inbox, "era.835", underpaid_835())
    write(inbox, "fee_schedule.csv", FEE_SCHEDULE)
    assert run_pipeline(inbox, warehouse, date(2026, 11, 20)).success
    with duckdb.connect(str(warehouse / DATABASE_NAME), read_only=True) as con:
        view = con.sql("SELECT patient_control_number, procedure_code, modifiers, allowed_amount, expected_allowed, "
                       "expected_source, shortfall, hidden_by, route FROM analyst_underpayments").fetchall()
        packets = con.sql("SELECT pdf_path FROM request_packets WHERE pdf_path IS NOT NULL "
                          "ORDER BY pdf_path").fetchall()
        files = con.sql("SELECT source_file, status, file_type FROM ingested_files ORDER BY source_file").fetchall()
    assert view == [
        ("UP3", "97110", "GP", Decimal("60.00"), Decimal("90.00"), "payer_modal_180d", Decimal("30.00"), "CO-45",
         "level1_reconsideration"),
        ("UP2", "99214", "", Decimal("95.00"), Decimal("120.00"), "fee_schedule", Decimal("25.00"), "CO-45",
         "level1_reconsideration"),
        # listed, though the claim's work is its CO-97 denial (a corrected claim)
        ("UP6", "99214", "", Decimal("97.00"), Decimal("120.00"), "fee_schedule", Decimal("23.00"), "CO-45",
         "corrected_claim"),
        ("UP7", "99213", "", Decimal("90.00"), Decimal("100.00"), "fee_schedule", Decimal("10.00"), "CO-45",
         "level1_reconsideration"),
    ]
    assert [p for (p,) in packets] == ["packets/requests/level1_ICN-UP2.pdf", "packets/requests/level1_ICN-UP3.pdf",
                                       "packets/requests/level1_ICN-UP7.pdf"]
    text = " ".join(pdf_text(warehouse / packets[0][0]).split())
    assert "Underpaid lines" in text
    assert "the expected allowed amount is $120.00, from our contract fee schedule (fee_schedule.csv line 2)" in text
    assert ("fee_schedule.csv", "fee_schedule", "fee_schedule") in files
