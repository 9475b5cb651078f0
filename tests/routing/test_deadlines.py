"""Deadline arithmetic (month ends, leap days, mail days) and every window anchor, end to end."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from claimback.routing import build_work_queue, load_rules
from claimback.routing.deadlines import days_between, filing_deadline

from .helpers import denial, denials, log

D = dt.date


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.mark.parametrize(
    ("anchor_day", "days", "mail_days", "expected"),
    [
        (D(2028, 1, 30), 30, 0, D(2028, 2, 29)),  # into a leap day
        (D(2028, 2, 29), 365, 0, D(2029, 2, 28)),  # a year from a leap day
        (D(2028, 2, 29), 1, 0, D(2028, 3, 1)),
        (D(2027, 2, 28), 1, 0, D(2027, 3, 1)),  # no leap day in 2027
        (D(2026, 1, 31), 28, 0, D(2026, 2, 28)),  # month end to month end
        (D(2026, 2, 26), 0, 3, D(2026, 3, 1)),  # mail days cross a month end
        (D(2026, 12, 3), 28, 3, D(2027, 1, 3)),  # and a year end
        (D(2027, 12, 1), 90, 0, D(2028, 2, 29)),
    ],
)
def test_deadline_is_anchor_plus_days_plus_mail_days(anchor_day, days, mail_days, expected):
    frame = pl.DataFrame(
        {"first_remit_date": [anchor_day], "remit_date": [anchor_day], "service_date": [None],
         "l1_decided_on": [None], "anchor": ["original_remit"], "days": [days], "mail": [mail_days]},
        schema_overrides={"service_date": pl.Date, "l1_decided_on": pl.Date},
    )
    got = frame.select(filing_deadline(pl.col("anchor"), pl.col("days"), pl.col("mail"))).item()
    assert got == expected


def test_days_left_counts_calendar_days_across_february():
    frame = pl.DataFrame({"deadline": [D(2028, 3, 1), D(2028, 2, 28)]})
    got = frame.select(days_between(pl.col("deadline"), D(2028, 2, 27))).to_series().to_list()
    assert got == [3, 1]


def queue_row(rules, rows, recon=None, as_of=D(2026, 3, 1), **kw):
    queue, _ = build_work_queue(denials(*rows), recon, None, rules, as_of, **kw)
    return queue.row(0, named=True)


def test_original_remit_anchor_counts_from_the_first_adjudication(rules):
    row = queue_row(rules, [denial("A", "payer_error", "CO-133", payer_id="SUNSH",
                                   first_remit_date="2026-01-01", remit_date="2026-02-01")])
    assert (row["window_anchor"], row["anchor_date"], row["deadline"]) == ("original_remit", D(2026, 1, 1), D(2026, 4, 1))
    assert row["days_left"] == 31


def test_latest_remit_anchor_for_ambetter_level2(rules):
    row = queue_row(
        rules,
        [denial("A", "payer_error", "CO-133", payer_id="AMB", payer_name="AMBETTER HEALTH PLAN",
                first_remit_date="2025-10-01", remit_date="2026-01-15")],
        recon=log(("A", 1, "2025-10-20", "upheld", "2025-12-01")),
    )
    assert row["route"] == "level2_dispute"
    assert row["payer_rule"] == "ambetter"
    assert (row["window_anchor"], row["deadline"]) == ("latest_remit", D(2026, 1, 15) + dt.timedelta(days=180))


def test_level1_decision_anchor_for_sunshine_level2(rules):
    row = queue_row(rules, [denial("A", "payer_error", "CO-133", payer_id="SUNSH", remit_date="2025-12-01")],
                    recon=log(("A", 1, "2025-12-10", "upheld", "2026-01-30")))
    assert (row["window_anchor"], row["anchor_date"], row["deadline"]) == (
        "level1_decision", D(2026, 1, 30), D(2026, 4, 30))


def test_inferred_upheld_without_decision_date_counts_from_the_latest_remit(rules):
    row = queue_row(rules, [denial("A", "payer_error", "CO-133", payer_id="SUNSH", first_remit_date="2025-12-01",
                                   remit_date="2026-01-20")],
                    recon=log(("A", 1, "2025-12-10", "upheld", None, "inferred")))
    assert row["route"] == "level2_dispute"
    assert row["anchor_date"] == D(2026, 1, 20)
    assert "(inferred)" in row["reason"]


def test_date_of_service_anchor_for_rebilling_another_payer(rules):
    row = queue_row(rules, [denial("A", "wrong_payer_cob", "CO-22", payer_id="ACME1", service_date="2026-01-10",
                                   remit_date="2026-02-15")])
    assert row["route"] == "rebill_other_payer"
    # default: 365 days from service (42 CFR 447.45(d)(1)), and a default is never confirmed
    assert (row["window_anchor"], row["deadline"]) == ("date_of_service", D(2027, 1, 10))
    assert row["deadline_confirmed"] is False


def test_missing_service_date_falls_back_to_the_first_remit(rules):
    row = queue_row(rules, [denial("A", "wrong_payer_cob", "CO-22", payer_id="ACME1", service_date=None,
                                   first_remit_date="2026-01-20", remit_date="2026-02-15")])
    assert row["anchor_date"] == D(2026, 1, 20)


def test_uhc_mail_days_extend_the_deadline(rules):
    row = queue_row(rules, [denial("A", "contractual_underpayment", "CO-45", payer_id="UHCCP", remit_date="2026-01-01")])
    assert row["deadline"] == D(2026, 1, 1) + dt.timedelta(days=123)
    assert "markettransfer" in row["rule_source"]


def test_leap_day_deadline_end_to_end(rules):
    row = queue_row(rules, [denial("A", "payer_error", "CO-133", payer_id="SUNSH", remit_date="2027-12-01")],
                    as_of=D(2028, 2, 28))
    assert (row["deadline"], row["days_left"], row["route"]) == (D(2028, 2, 29), 1, "level1_reconsideration")


def test_past_a_confirmed_window_is_expired_with_negative_days_left(rules):
    # Sunshine Health: 1st level within 90 days of the original EOP (confirmed, sunshinehealth.com)
    row = queue_row(rules, [denial("A", "payer_error", "CO-133", payer_id="SUNSH", remit_date="2025-11-11")],
                    as_of=D(2026, 2, 10))
    assert row["route"] == "expired"
    assert row["expired_route"] == "level1_reconsideration"
    assert (row["deadline"], row["days_left"], row["priority"]) == (D(2026, 2, 9), -1, 0.0)
    assert row["deadline_confirmed"] is True
    assert row["reason"].startswith("The Level I reconsideration window (90 days from original remit) closed on 2026-02-09.")


def test_past_an_unconfirmed_window_keeps_its_route_and_says_to_verify(rules):
    # Coordinated Care WA: the WAC 284-170-440 floor of 30 days stands in, marked confirmed: false
    row = queue_row(rules, [denial("A", "payer_error", "CO-133", payer_id="CCWA1", remit_date="2026-01-10")],
                    as_of=D(2026, 2, 10))
    assert row["route"] == "level1_reconsideration" and row["expired_route"] is None
    assert (row["deadline"], row["days_left"], row["deadline_confirmed"]) == (D(2026, 2, 9), -1, False)
    assert "has passed, but the payer's real window is not confirmed" in row["reason"]
    assert row["priority"] > 0


def test_past_a_default_window_keeps_its_route(rules):
    row = queue_row(rules, [denial("A", "payer_error", "CO-133", payer_id="ACME1", remit_date="2025-01-10")],
                    as_of=D(2026, 2, 10))
    assert row["route"] == "level1_reconsideration" and row["deadline_confirmed"] is False
    assert "the conservative default rule" in row["reason"]


def test_later_of_window_caresource_ohio(rules):
    # OAC 5160-26-05.1 as quoted by CareSource OH: 12 months from service or 60 days after the
    # denial, whichever is later. Service 2025-03-01 -> 2026-03-01; denial 2026-02-15 -> 2026-04-16.
    late = queue_row(rules, [denial("A", "payer_error", "CO-133", payer_id="CSOH1", service_date="2025-03-01",
                                    remit_date="2026-02-15")], as_of=D(2026, 3, 1))
    assert late["deadline"] == D(2026, 4, 16)
    early = queue_row(rules, [denial("B", "payer_error", "CO-133", payer_id="CSOH1", service_date="2025-12-01",
                                     remit_date="2026-01-05")], as_of=D(2026, 3, 1))
    assert early["deadline"] == D(2026, 12, 1)


def test_optional_reconsideration_lets_level2_be_filed_directly(tmp_path):
    # A payer whose reconsideration is optional (UHC Community Plan, Sunflower/KanCare): once the
    # Level I window has closed, the formal appeal window (counted from the remit) is still open.
    import yaml

    from claimback.routing import PACKAGED_RULES, load_rules

    doc = yaml.safe_load(PACKAGED_RULES.read_text())
    doc["payers"].append({"name": "optional_l1", "match": {"payer_ids": ["OPT1"]},
                          "level1": {"days": 30, "anchor": "original_remit", "optional": True, "source": "test"},
                          "level2": {"days": 90, "anchor": "level1_decision", "source": "test"}})
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(doc))
    row = queue_row(load_rules(path), [denial("A", "payer_error", "CO-133", payer_id="OPT1", remit_date="2026-01-10")],
                    as_of=D(2026, 3, 1))
    assert (row["route"], row["deadline"], row["deadline_confirmed"]) == ("level2_dispute", D(2026, 4, 10), True)
    assert row["reason"].startswith("Reconsideration is optional at this payer")


def test_last_day_of_the_window_is_still_open(rules):
    row = queue_row(rules, [denial("A", "payer_error", "CO-133", payer_id="CCWA1", remit_date="2026-01-10")],
                    as_of=D(2026, 2, 9))
    assert (row["route"], row["days_left"]) == ("level1_reconsideration", 0)


def test_payer_without_an_id_is_matched_by_name(rules):
    row = queue_row(rules, [denial("A", "payer_error", "CO-133", payer_id=None, payer_name="SUNSHINE HEALTH",
                                   remit_date="2026-01-01")])
    assert (row["payer_rule"], row["deadline"]) == ("sunshine_health", D(2026, 4, 1))
