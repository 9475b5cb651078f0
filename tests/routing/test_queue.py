"""Route rules and their precedence, the Level II gate, trend and resolved handling, queue shape."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import polars as pl
import pytest

from claimback.routing import build_work_queue, load_rules
from claimback.schema import ROUTES, WORK_QUEUE

from .helpers import AS_OF, denial, denials, log, members


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def route(rules, *rows, recon=None, trend=None, resolved=None):
    queue, _ = build_work_queue(denials(*rows), recon, trend, rules, AS_OF, resolved=resolved)
    return {r["patient_control_number"]: r for r in queue.iter_rows(named=True)}


@pytest.mark.parametrize(
    ("category", "primary", "extra", "expected"),
    [
        ("eligibility_registration", "CO-31", {}, "corrected_claim"),
        ("coding_bundling", "CO-4", {}, "corrected_claim"),
        ("missing_information", "CO-16", {"remark_codes": ["N290"]}, "corrected_claim"),
        # CO-170 "not payable to this provider type": a Level I with the credentials (code registry)
        ("network_credentialing", "CO-170", {}, "level1_reconsideration"),
        ("eligibility_registration", "CO-27", {}, "rebill_other_payer"),
        ("missing_information", "CO-252", {}, "level1_reconsideration"),
        ("non_covered_benefit_limit", "PR-96", {}, "bill_patient"),
        ("payer_error", "CO-193", {}, "level2_dispute"),
        ("wrong_payer_cob", "CO-B11", {}, "await_crossover"),
        ("wrong_payer_cob", "CO-22", {"remark_codes": ["MA04"]}, "corrected_claim"),
        ("duplicate", "CO-18", {"remark_codes": ["N522"]}, "await_crossover"),
        ("payer_error", "CO-133", {}, "level1_reconsideration"),
        ("contractual_underpayment", "CO-45", {}, "level1_reconsideration"),
        ("timely_filing", "CO-29", {}, "level1_reconsideration"),
        ("non_covered_benefit_limit", "CO-96", {}, "level1_reconsideration"),
        ("authorization", "CO-197", {"prior_authorization": "AUTH123"}, "level1_reconsideration"),
        ("authorization", "CO-197", {}, "clinical_appeal"),
        ("medical_necessity", "CO-50", {}, "clinical_appeal"),
        ("wrong_payer_cob", "CO-22", {}, "rebill_other_payer"),
        ("duplicate", "OA-18", {"frequency_code": "1"}, "level1_reconsideration"),
        ("duplicate", "OA-18", {"frequency_code": "7"}, "level1_reconsideration"),
    ],
)
def test_category_routes(rules, category, primary, extra, expected):
    row = route(rules, denial("A", category, primary, **extra))["A"]
    assert row["route"] == expected
    assert row["reason"].endswith(".") and primary in row["reason"]


def test_corrected_claim_is_a_frequency_7_replacement_with_the_payer_claim_number(rules):
    row = route(rules, denial("A", "coding_bundling", "CO-4"))["A"]
    assert row["claim_frequency_to_send"] == "7"
    assert "frequency 7" in row["reason"] and "ICN-A" in row["reason"]


@pytest.mark.parametrize(
    "extra",
    [
        {"remark_codes": ["MA130"]},
        {"claim_status_code": "4"},
        {"payer_claim_control_number": None},
    ],
)
def test_unprocessable_original_needs_a_new_frequency_1_claim(rules, extra):
    row = route(rules, denial("A", "missing_information", "CO-16", **extra))["A"]
    assert (row["route"], row["claim_frequency_to_send"]) == ("corrected_claim", "1")
    assert "NEW claim (frequency 1)" in row["reason"]


def test_unknown_category_goes_to_level1_and_says_so(rules):
    row = route(rules, denial("B", "unknown", "CO-999"))["B"]
    assert row["route"] == "level1_reconsideration" and "no routing rule" in row["reason"]
    assert json.loads(row["evidence"]) == {"rule": "registry", "codes": "category unknown"}


def test_patient_responsibility_is_not_a_payer_denial(rules):
    assert "A" not in route(rules, denial("A", "patient_responsibility", "PR-1"), denial("B", "payer_error", "CO-133"))


def test_level2_only_after_an_unsatisfactory_level1(rules):
    rows = route(
        rules,
        denial("UP", "payer_error", "CO-133"),
        denial("PART", "payer_error", "CO-133"),
        denial("PEND", "payer_error", "CO-133"),
        denial("NONE", "payer_error", "CO-133"),
        denial("ORPHAN", "payer_error", "CO-133"),
        recon=log(
            ("UP", 1, "2026-02-02", "upheld", "2026-02-20"),
            ("PART", 1, "2026-02-02", "partial", "2026-02-21"),
            ("PEND", 1, "2026-02-03", None, None),
            ("ORPHAN", 2, "2026-02-03", None, None),
        ),
    )
    assert rows["UP"]["route"] == rows["PART"]["route"] == "level2_dispute"
    assert rows["UP"]["level1_outcome"] == "upheld"
    assert rows["PEND"]["route"] == "level1_reconsideration" and rows["PEND"]["awaiting_payer"]
    assert rows["NONE"]["route"] == "level1_reconsideration" and not rows["NONE"]["awaiting_payer"]
    # A Level II in the log without any Level I never makes a Level II route.
    assert rows["ORPHAN"]["route"] == "level1_reconsideration"
    assert "no Level I" in rows["ORPHAN"]["reason"]
    assert all(r["route"] != "level2_dispute" for r in rows.values() if r["level1_outcome"] is None)


def test_level1_overturned_but_denied_again_goes_to_level2(rules):
    rows = route(
        rules,
        denial("A", "payer_error", "CO-133", remit_date="2026-02-25", first_remit_date="2026-01-05"),
        denial("B", "payer_error", "CO-133", remit_date="2026-01-05"),
        recon=log(("A", 1, "2026-01-10", "overturned", "2026-02-01"), ("B", 1, "2026-01-10", "overturned", "2026-02-01")),
    )
    assert rows["A"]["route"] == "level2_dispute" and "still denies" in rows["A"]["reason"]
    assert rows["B"]["route"] == "resolved" and "watch for it" in rows["B"]["reason"]


def test_level2_states(rules):
    rows = route(
        rules,
        denial("PEND", "payer_error", "CO-133"),
        denial("LOST", "payer_error", "CO-133"),
        denial("WON", "payer_error", "CO-133"),
        recon=log(
            ("PEND", 1, "2026-01-02", "upheld", "2026-01-20"), ("PEND", 2, "2026-02-01", None, None),
            ("LOST", 1, "2026-01-02", "upheld", "2026-01-20"), ("LOST", 2, "2026-01-25", "upheld", "2026-02-20"),
            ("WON", 1, "2026-01-02", "upheld", "2026-01-20"), ("WON", 2, "2026-01-25", "overturned", "2026-02-20"),
        ),
    )
    pend, lost, won = rows["PEND"], rows["LOST"], rows["WON"]
    assert pend["route"] == "level2_dispute" and pend["awaiting_payer"]
    assert pend["window_anchor"] == "decision_due" and pend["deadline"] == dt.date(2026, 4, 2)
    assert lost["route"] == "level2_dispute" and lost["deadline"] is None and lost["priority"] == 0
    assert "exhausted" in lost["reason"]
    assert won["route"] == "resolved"


def test_overdue_payer_decision_is_a_chase_up_with_priority(rules):
    rows = route(rules, denial("LATE", "payer_error", "CO-133"), denial("FRESH", "payer_error", "CO-133"),
                 recon=log(("LATE", 1, "2025-11-01", None, None), ("FRESH", 1, "2026-02-20", None, None)))
    assert rows["LATE"]["days_left"] < 0 and rows["LATE"]["route"] == "level1_reconsideration"
    assert rows["LATE"]["priority"] > 0
    assert rows["FRESH"]["days_left"] > 0 and rows["FRESH"]["priority"] == 0


def test_flagged_trend_member_routes_to_trend_report_emerging_does_not(rules):
    trend = pl.concat([members(("C1", "A")), members(("C2", "B"), status="emerging")])
    rows = route(rules, denial("A", "authorization", "CO-197"), denial("B", "authorization", "CO-197"), trend=trend)
    assert rows["A"]["route"] == "trend_report" and rows["A"]["trend_cluster_id"] == "C1"
    assert "Claim Trend Identification" in rows["A"]["reason"]
    assert rows["B"]["route"] == "clinical_appeal"


def test_precedence_resolved_over_trend_over_level2(rules):
    resolved = pl.DataFrame({"claim_key": ["key-R"], "patient_control_number": ["R"],
                             "recovered_amount": [Decimal("80.00")]})
    rows = route(
        rules,
        denial("R", "payer_error", "CO-133"),
        denial("T", "payer_error", "CO-133"),
        denial("X", "payer_error", "CO-133", payer_id="SUNSH", remit_date="2025-10-01"),
        recon=log(("R", 1, "2026-01-02", "upheld", "2026-01-20"), ("T", 1, "2026-01-02", "upheld", "2026-01-20")),
        trend=members(("C1", "R"), ("C1", "T"), ("C1", "X")),
        resolved=resolved,
    )
    assert rows["R"]["route"] == "resolved" and rows["R"]["recovered_amount"] == Decimal("80.00")
    assert rows["T"]["route"] == "trend_report"
    # A trend member whose own window has closed is expired, not reported.
    assert rows["X"]["route"] == "expired" and rows["X"]["expired_route"] == "trend_report"


def test_resolved_claims_no_longer_denied_are_listed(rules):
    resolved = pl.DataFrame({"claim_key": ["key-GONE"], "patient_control_number": ["GONE"],
                             "payer_claim_control_number": ["ICN-GONE"], "payer_name": ["SUNSHINE HEALTH"],
                             "recovered_amount": [Decimal("55.10")]})
    rows = route(rules, denial("A", "payer_error", "CO-133"), resolved=resolved)
    assert rows["GONE"]["route"] == "resolved"
    assert rows["GONE"]["recovered_amount"] == Decimal("55.10") and rows["GONE"]["priority"] == 0


def test_queue_contract_sorting_and_priority(rules):
    queue, report = build_work_queue(
        denials(
            denial("SMALL", "payer_error", "CO-133", denied_amount=50),
            denial("BIG", "payer_error", "CO-133", denied_amount=5000),
            denial("URGENT", "payer_error", "CO-133", denied_amount=50, payer_id="CCWA1", remit_date="2026-01-31"),
            denial("OLD", "payer_error", "CO-133", payer_id="SUNSH", remit_date="2025-06-01"),
        ),
        None, None, rules, AS_OF,
    )
    assert queue.schema == pl.Schema(WORK_QUEUE)
    assert set(queue["route"]) <= set(ROUTES)
    assert set(queue["payer_rules_version"]) == {rules.version}
    assert queue["patient_control_number"].to_list() == ["BIG", "URGENT", "SMALL", "OLD"]
    assert queue["priority"].to_list() == sorted(queue["priority"].to_list(), reverse=True)
    big = queue.row(0, named=True)
    assert report.used == "priors"
    p = rules.overturn_priors.for_category("payer_error")
    assert big["overturn_probability"] == pytest.approx(p)
    assert float(big["expected_recovery"]) == pytest.approx(5000 * p, abs=0.01)
    urgent, small = queue.row(1, named=True), queue.row(2, named=True)
    assert urgent["days_left"] < small["days_left"] and urgent["priority"] > small["priority"]
    for row in (big, urgent, small):
        # docs/data-dictionary.md: value per analyst hour × (1 + 30 / max(days_left, 1)); Level I = 1 hour
        expected = float(row["denied_amount"]) * row["overturn_probability"]
        assert row["analyst_hours"] == 1.0
        assert row["priority"] == pytest.approx(expected * (1 + 30 / max(row["days_left"], 1)), abs=1e-3)
    assert queue.filter(pl.col("route") == "expired")["priority"].to_list() == [0.0]


def test_empty_inputs_give_an_empty_queue(rules):
    queue, report = build_work_queue(denials(denial("A", "payer_error", "CO-133")).clear(), None, None, rules, AS_OF)
    assert queue.height == 0 and queue.schema == pl.Schema(WORK_QUEUE)
    assert report.used == "priors"


def test_no_phi_columns_in_the_queue():
    assert not {"patient_last_name", "patient_first_name", "member_id", "patient_birth_date"} & set(WORK_QUEUE)


def test_resolved_without_a_recovered_amount_is_still_resolved(rules):
    resolved = pl.DataFrame({"claim_key": ["key-A"], "recovered_amount": [None]}, schema_overrides={"recovered_amount": pl.Decimal(12, 2)})
    rows = route(rules, denial("A", "payer_error", "CO-133"), resolved=resolved)
    assert rows["A"]["route"] == "resolved" and "unknown amount" in rows["A"]["reason"]


def test_payer_that_wants_new_claims_for_fully_denied_claims(tmp_path):
    import yaml

    from claimback.routing import PACKAGED_RULES

    doc = yaml.safe_load(PACKAGED_RULES.read_text())
    sunshine = next(p for p in doc["payers"] if p["name"] == "sunshine_health")
    sunshine["denied_claim_resubmission"] = "new_claim"
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(doc))
    rows = route(load_rules(path), denial("WHOLE", "coding_bundling", "CO-4"),
                 denial("LINE", "coding_bundling", "CO-4", denial_level="line"),
                 denial("OTHER", "coding_bundling", "CO-4", payer_id="UHCCP"))
    assert rows["WHOLE"]["claim_frequency_to_send"] == "1"
    assert "this payer takes a new claim" in rows["WHOLE"]["reason"]
    assert rows["LINE"]["claim_frequency_to_send"] == "7"
    assert rows["OTHER"]["claim_frequency_to_send"] == "7"


def test_resolved_visit_under_a_reused_account_number_is_kept(rules):
    resolved = pl.DataFrame({"claim_key": ["key-paid-visit"], "patient_control_number": ["A"],
                             "payer_name": ["SUNSHINE HEALTH"], "recovered_amount": [Decimal("20.00")]})
    queue, _ = build_work_queue(denials(denial("A", "payer_error", "CO-133")), None, None, rules, AS_OF,
                                resolved=resolved)
    assert sorted(queue["route"].to_list()) == ["level1_reconsideration", "resolved"]


def test_filing_logged_without_a_date_still_gets_a_decision_due_date(rules):
    rows = route(rules, denial("A", "payer_error", "CO-133", remit_date="2026-02-01"),
                 recon=log(("A", 1, None, "pending", None)))
    assert rows["A"]["awaiting_payer"] and rows["A"]["deadline"] == dt.date(2026, 4, 2)


def test_authorization_on_the_matched_837_makes_it_a_level1(rules):
    submitted = pl.DataFrame({"claim_key": ["sub-A", "sub-B"], "prior_authorization": ["PA778", " "]})
    queue, _ = build_work_queue(
        denials(denial("A", "authorization", "CO-197"), denial("B", "authorization", "CO-197")),
        None, None, rules, AS_OF, submitted_claims=submitted,
    )
    rows = {r["patient_control_number"]: r for r in queue.iter_rows(named=True)}
    assert rows["A"]["route"] == "level1_reconsideration" and "PA778" in rows["A"]["reason"]
    assert rows["B"]["route"] == "clinical_appeal"


def test_a_level2_due_in_8_days_outranks_a_level1_due_in_147_days(rules):
    # The example: urgency used to add at most 2x, so a far item of similar value ranked first.
    queue, _ = build_work_queue(
        denials(
            denial("FAR", "payer_error", "CO-129", payer_id="LHCC1", remit_date="2026-01-27", denied_amount=2000),
            denial("NEAR", "payer_error", "CO-129", payer_id="SUNSH", remit_date="2026-01-01", denied_amount=1500),
        ),
        log(("NEAR", 1, "2025-12-01", "upheld", "2025-12-09")), None, rules, AS_OF,
    )
    rows = {r["patient_control_number"]: r for r in queue.iter_rows(named=True)}
    assert (rows["FAR"]["route"], rows["FAR"]["days_left"]) == ("level1_reconsideration", 147)
    assert (rows["NEAR"]["route"], rows["NEAR"]["days_left"]) == ("level2_dispute", 8)
    assert queue["patient_control_number"].to_list() == ["NEAR", "FAR"]
