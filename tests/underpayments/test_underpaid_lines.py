"""Underpaid lines on hand-written remits (tests/underpayments/remits.py): expected rows by hand.

Fee schedule: 99214 $120, 99213 $85 (ACME, 2026). Remits of 2026-11-09 (as of 2026-11-20):
UP1 at contract (AMT*B6 $120), UP2 99214 allowed $95 behind CO-45 ($25 short, fee schedule),
UP3 97110-GP 2 units allowed $60 where the payer allowed $45 a unit on 5 of 5 lines since
2026-10-01 ($30 short, payer_modal_180d), UP4 $3 short (not material), UP5 no evidence, UP6 $23
short on a claim denied CO-97 on its other line (listed, no second denial), UP7 $10 short of the
HMO product's own row. Not underpaid: UP8 (AMT*B6 says the contract; only a sequestration cut
the payment), UP9 (the payer's history has no clear mode), UP10 (billed below the contract).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from claimback import stages
from tests.routing.route_inbox import denials_of
from tests.routing.x12_inbox import write
from tests.underpayments.remits import FEE_SCHEDULE, history_835, underpaid_835

AS_OF = date(2026, 11, 20)


def _inbox(tmp_path, fee_schedule: str | None = FEE_SCHEDULE):
    inbox = tmp_path / "inbox"
    write(inbox, "history.835", history_835())
    write(inbox, "era.835", underpaid_835())
    if fee_schedule is not None:
        write(inbox / "contracts", "acme_fee_schedule.csv", fee_schedule)
    return inbox


def test_underpaid_lines_by_fee_schedule_and_payer_mode(tmp_path):
    settings = denials_of(_inbox(tmp_path), tmp_path / "warehouse", AS_OF)
    lines = settings.lake.read("underpaid_lines").sort("patient_control_number")
    assert lines.select(
        "patient_control_number", "line_number", "procedure_code", "modifiers", "units", "allowed_amount",
        "allowed_source", "expected_per_unit", "expected_allowed", "expected_source", "expected_basis",
        "modal_observations", "shortfall", "hidden_by", "is_denial",
    ).rows() == [
        ("UP2", 1, "99214", [], 1.0, Decimal("95.00"), "paid + patient share", Decimal("120.00"),
         Decimal("120.00"), "fee_schedule", "contracts/acme_fee_schedule.csv line 2", None, Decimal("25.00"),
         "CO-45", True),
        ("UP3", 1, "97110", ["GP"], 2.0, Decimal("60.00"), "paid + patient share", Decimal("45.00"),
         Decimal("90.00"), "payer_modal_180d",
         "the payer's modal allowed amount $45.00 per unit, on 5 of 5 lines remitted 2026-05-13 to 2026-11-08",
         5, Decimal("30.00"), "CO-45", True),
        ("UP6", 1, "99214", [], 1.0, Decimal("97.00"), "paid + patient share", Decimal("120.00"),
         Decimal("120.00"), "fee_schedule", "contracts/acme_fee_schedule.csv line 2", None, Decimal("23.00"),
         "CO-45", False),
        ("UP7", 1, "99213", [], 1.0, Decimal("90.00"), "paid + patient share", Decimal("100.00"),
         Decimal("100.00"), "fee_schedule", "contracts/acme_fee_schedule.csv line 6", None, Decimal("10.00"),
         "CO-45", True),
    ]
    denials = settings.lake.read("denials").filter(pl.col("category") == "underpayment").sort("patient_control_number")
    assert denials.select("patient_control_number", "primary_reason", "denied_amount", "denial_level",
                          "procedure_codes", "fixable_by", "suggested_route", "paid_amount").rows() == [
        ("UP2", "CO-45", Decimal("25.00"), "line", ["99214"], "contracting", "level1_reconsideration",
         Decimal("95.00")),
        ("UP3", "CO-45", Decimal("30.00"), "line", ["97110"], "contracting", "level1_reconsideration",
         Decimal("60.00")),
        ("UP7", "CO-45", Decimal("10.00"), "line", ["99213"], "contracting", "level1_reconsideration",
         Decimal("90.00")),
    ]
    # UP6 stays the coding denial it is; its underpaid line does not make it a second one
    up6 = settings.lake.read("denials").filter(pl.col("patient_control_number") == "UP6")
    assert up6.select("category", "primary_reason", "denied_amount").rows() == [
        ("coding_bundling", "CO-97", Decimal("30.00"))]
    # an underpayment's line detail adds up to its denied amount
    lines_of = settings.lake.read("denial_lines").filter(pl.col("category") == "underpayment").sort(
        "patient_control_number")
    assert lines_of.select("patient_control_number", "line_number", "reason", "amount", "carc_label").rows() == [
        ("UP2", 1, "CO-45", Decimal("25.00"), "Allowed $95.00 where $120.00 was expected (fee_schedule)"),
        ("UP3", 1, "CO-45", Decimal("30.00"), "Allowed $60.00 where $90.00 was expected (payer_modal_180d)"),
        ("UP7", 1, "CO-45", Decimal("10.00"), "Allowed $90.00 where $100.00 was expected (fee_schedule)"),
    ]
    # routed like any payment dispute
    queue, _, _ = stages.build_queue(settings)
    routed = queue.filter(pl.col("category") == "underpayment").sort("patient_control_number")
    assert routed.select("patient_control_number", "route", "denied_amount").rows() == [
        ("UP2", "level1_reconsideration", Decimal("25.00")),
        ("UP3", "level1_reconsideration", Decimal("30.00")),
        ("UP7", "level1_reconsideration", Decimal("10.00")),
    ]
    assert "CO-45" in routed["reason"][0]


def test_bad_fee_schedule_rows_are_reported_and_the_rest_load(tmp_path):
    settings = denials_of(_inbox(tmp_path), tmp_path / "warehouse", AS_OF)
    loaded = settings.lake.read("fee_schedule")
    assert loaded.select("payer", "procedure", "modifier", "expected_allowed", "effective_from", "effective_to",
                         "source_line").rows() == [
        ("ACME01", "99214", None, Decimal("120.00"), date(2026, 1, 1), date(2026, 12, 31), 2),
        ("Acme Health Plan", "99213", None, Decimal("85.00"), date(2026, 1, 1), None, 3),
        ("ACME01", "99214", "25", Decimal("150.00"), date(2026, 1, 1), date(2026, 12, 31), 4),
        ("ACME01", "99213", None, Decimal("100.00"), date(2026, 1, 1), None, 6),
    ]
    problems = settings.lake.read("fee_schedule_problems")
    assert problems.rows() == [
        ("contracts/acme_fee_schedule.csv", 5, "procedure is blank"),
        ("contracts/acme_fee_schedule.csv", 5, "expected_allowed is not an amount (e.g. 120.00)"),
        ("contracts/acme_fee_schedule.csv", 5, "effective_from is not a date (YYYY-MM-DD or MM/DD/YYYY)"),
    ]
    # the fee schedule is an input of its own, never read as X12 (nothing quarantined)
    assert settings.lake.read("quarantine").height == 0


def test_without_a_fee_schedule_only_the_payer_mode_judges(tmp_path):
    settings = denials_of(_inbox(tmp_path, fee_schedule=None), tmp_path / "warehouse", AS_OF)
    lines = settings.lake.read("underpaid_lines")
    assert lines.select("patient_control_number", "expected_source", "shortfall").rows() == [
        ("UP3", "payer_modal_180d", Decimal("30.00"))]


def test_thresholds_are_settings(tmp_path):
    inbox = _inbox(tmp_path)
    settings = denials_of(inbox, tmp_path / "warehouse", AS_OF)
    strict = stages.Settings(inbox=inbox, warehouse=settings.warehouse, as_of=AS_OF,
                             underpayment_min_dollars=2.0, underpayment_min_share=0.01, modal_min_observations=6)
    stages.build_denials(strict)
    lines = strict.lake.read("underpaid_lines")
    # UP4's $3 is now material; 5 lines are too few for the payer's mode
    assert lines.select("patient_control_number", "shortfall").sort("patient_control_number").rows() == [
        ("UP2", Decimal("25.00")), ("UP4", Decimal("3.00")), ("UP6", Decimal("23.00")), ("UP7", Decimal("10.00"))]


def test_the_level1_packet_states_the_expected_amount_and_its_source(tmp_path):
    from claimback.forms.claim_facts import packet_facts
    from claimback.forms.reconsideration import draft_reason

    settings = denials_of(_inbox(tmp_path), tmp_path / "warehouse", AS_OF)
    lake = settings.lake
    denied = lake.read("denials").filter(pl.col("category") == "underpayment").sort("patient_control_number")
    facts = packet_facts(denied, remit_claims=lake.read("remit_claims"), underpaid_lines=lake.read("underpaid_lines"))
    up2, up3, _ = facts.rows(named=True)
    assert [(line["line_number"], line["procedure_code"], line["billed"], line["denied"], line["reasons"])
            for line in up2["lines"]] == [(1, "99214", Decimal("200.00"), Decimal("25.00"), ["CO-45"])]
    text = draft_reason(up2)
    assert ("Line 1 (99214, date of service 2026-10-21) was allowed $95.00; the expected allowed amount is "
            "$120.00, from our contract fee schedule (contracts/acme_fee_schedule.csv line 2): $25.00 short.") in text
    assert "difference of $25.00 paid" in text and "CO-45 took the difference" in text
    assert ("the expected allowed amount is $90.00, from your own payments for this service (the payer's modal "
            "allowed amount $45.00 per unit, on 5 of 5 lines") in draft_reason(up3)


def test_the_payer_mode_groups_by_the_one_payer_key():
    """A payer's mode is counted per payer key, the one every claim identity uses
    (claimback.lifecycle.payer_key): its id upper-cased, else its name compared as words. A payer
    id is never the same payer as a name that happens to read the same."""
    from claimback.underpayments import with_payer_key

    lines = pl.DataFrame({
        "payer_id": ["60054", " 60054", None, None, "ACME"],
        "payer_name": ["Aetna", "AETNA", "Acme Health, Inc.", "ACME HEALTH INC", None],
        "practice_key": ["NPI:1", None, "NPI:1", "NPI:1", "NPI:1"],
    })
    keyed = with_payer_key(lines)
    assert keyed["payer_key"].to_list() == ["ID:60054", "ID:60054", "NAME:ACME HEALTH INC", "NAME:ACME HEALTH INC",
                                            "ID:ACME"]
    assert keyed["practice_key"].to_list() == ["NPI:1", "?", "NPI:1", "NPI:1", "NPI:1"]
