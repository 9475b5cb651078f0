"""classify(), refine_category() and unknown_codes() on hand-made adjustment frames."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from claimback import codes
from claimback.schema import empty


def _one(group, reason, **extra):
    frame = pl.DataFrame({"group_code": [group], "reason_code": [reason], **{k: [v] for k, v in extra.items()}})
    return codes.classify(frame).row(0, named=True)


def test_co45_is_contract_pricing_not_a_denial():
    row = _one("CO", "45")
    assert row["adjustment_kind"] == "pricing"
    assert row["category"] == "contractual_underpayment"
    assert row["suggested_route"] is None
    assert row["carc_label"]


def test_pr1_is_the_patients_share():
    row = _one("PR", "1")
    assert (row["adjustment_kind"], row["category"], row["fixable_by"]) == (
        "patient_share",
        "patient_responsibility",
        "patient",
    )


def test_co197_is_an_authorization_denial():
    row = _one("CO", "197")
    assert (row["adjustment_kind"], row["category"], row["fixable_by"], row["suggested_route"]) == (
        "denial",
        "authorization",
        "front_end",
        "clinical_appeal",
    )


def test_pr96_stays_a_coverage_denial_the_patient_owes():
    row = _one("PR", "96")
    assert (row["adjustment_kind"], row["category"], row["fixable_by"]) == (
        "denial",
        "non_covered_benefit_limit",
        "patient",
    )


def test_pr45_is_the_patients_out_of_network_share():
    row = _one("PR", "45")
    assert (row["adjustment_kind"], row["category"]) == ("patient_share", "patient_responsibility")


def test_oa23_is_the_prior_payers_effect():
    row = _one("OA", "23")
    assert row["adjustment_kind"] == "cob" and row["category"] == "wrong_payer_cob"


@pytest.mark.parametrize(
    ("group", "kind"),
    [("CO", "denial"), ("OA", "denial"), ("PI", "denial"), ("PR", "patient_share"), (None, "denial")],
)
def test_unknown_code_is_unknown_and_kind_follows_the_group(group, kind):
    row = _one(group, "Q77")
    assert row["category"] == "unknown" and row["adjustment_kind"] == kind
    assert row["code_known"] is False and row["carc_label"] is None


def test_leading_zeros_and_case_do_not_hide_a_code():
    assert _one("co", "045")["adjustment_kind"] == "pricing"
    assert _one("CO", " a1 ")["carc_label"] == codes.carc().filter(pl.col("code") == "A1")["label"].item()


def test_nulls_never_raise_and_rows_keep_their_order():
    frame = pl.DataFrame(
        {"group_code": [None, "CO", None, "PR"], "reason_code": [None, "", "16", None], "amount": [1, 2, 3, 4]}
    )
    out = codes.classify(frame)
    assert out["amount"].to_list() == [1, 2, 3, 4]
    assert out["category"].to_list() == ["unknown", "unknown", "missing_information", "unknown"]
    assert out["adjustment_kind"].to_list() == ["denial", "denial", "denial", "patient_share"]


def test_classify_accepts_the_contract_table_and_an_empty_one():
    table = empty("remit_adjustments")
    out = codes.classify(table)
    assert out.height == 0
    assert {"carc_label", "category", "fixable_by", "suggested_route", "adjustment_kind"} <= set(out.columns)
    assert out.columns[: len(table.columns)] == table.columns


def test_classify_without_a_group_column_or_reason_column():
    assert codes.classify(pl.DataFrame({"reason_code": ["29"]}))["category"].item() == "timely_filing"
    with pytest.raises(ValueError, match="reason_code"):
        codes.classify(pl.DataFrame({"group_code": ["CO"]}))


def test_classify_twice_replaces_its_own_columns():
    once = codes.classify(pl.DataFrame({"group_code": ["CO"], "reason_code": ["50"]}))
    twice = codes.classify(once)
    assert twice.columns == once.columns and twice.equals(once)


def test_remarks_refine_a_vague_category_and_its_route():
    frame = pl.DataFrame(
        {
            "group_code": ["CO", "CO", "CO", "CO"],
            "reason_code": ["16", "16", "50", "A1"],
            "remark_codes": [["N30"], ["M127"], ["N30"], ["MA04", "N54"]],
        }
    )
    out = codes.classify(frame)
    assert out["category"].to_list() == [
        "eligibility_registration",
        "missing_information",
        "medical_necessity",  # a specific CARC keeps its category
        "wrong_payer_cob",  # the more actionable of two hints
    ]
    assert out["suggested_route"].to_list() == [
        "corrected_claim",
        "corrected_claim",
        "clinical_appeal",
        "rebill_other_payer",
    ]


def test_refine_category_scalar():
    assert codes.refine_category("missing_information", ["M127", "N290"]) == "missing_information"
    assert codes.refine_category("missing_information", ["N30"]) == "eligibility_registration"
    assert codes.refine_category("unknown", ["n54"]) == "authorization"
    assert codes.refine_category("non_covered_benefit_limit", ["N386"]) == "medical_necessity"
    assert codes.refine_category("authorization", ["N30"]) == "authorization"
    assert codes.refine_category("payer_error", ["MA01", "ZZZ"]) == "payer_error"
    assert codes.refine_category(None, None) == "unknown"
    # Only a more specific hint replaces a vague category.
    assert codes.refine_category("missing_information", ["N14"]) == "missing_information"
    assert codes.refine_category("payer_error", ["N14"]) == "contractual_underpayment"
    assert codes.refine_category("non_covered_benefit_limit", ["M127"]) == "missing_information"
    # Order of remarks never changes the answer.
    assert codes.refine_category("unknown", ["N54", "MA04"]) == codes.refine_category("unknown", ["MA04", "N54"])


def test_refine_category_expression_on_a_frame():
    frame = pl.DataFrame(
        {"category": ["missing_information", "unknown", None], "remarks": [["N479"], [], None]},
        schema={"category": pl.String, "remarks": pl.List(pl.String)},
    )
    out = frame.select(codes.refine_category_expr("category", "remarks").alias("refined"))
    assert out["refined"].to_list() == ["wrong_payer_cob", "unknown", "unknown"]


def test_deactivated_codes_judged_by_remit_date():
    frame = pl.DataFrame(
        {
            "group_code": ["CO", "CO", "CO"],
            "reason_code": ["125", "125", "45"],
            "remit_date": [dt.date(2012, 5, 1), dt.date(2020, 5, 1), dt.date(2020, 5, 1)],
        }
    )
    assert codes.classify(frame)["code_deactivated"].to_list() == [False, True, False]


def test_unknown_codes_counts_occurrences_claims_and_money():
    adjustments = pl.DataFrame(
        {
            "claim_key": ["a", "a", "b", "c", "d"],
            "group_code": ["CO", "CO", "CO", "CO", "CO"],
            "reason_code": ["Q1", "Q1", "Q1", "45", None],
            "amount": [Decimal("10.00"), Decimal("5.50"), Decimal("1.00"), Decimal("3.00"), Decimal("1.00")],
        },
        schema_overrides={"amount": pl.Decimal(12, 2)},
    )
    remarks = pl.DataFrame({"claim_key": ["a", "b"], "remark_code": ["N9999", "N30"]})
    out = codes.unknown_codes(adjustments, remarks)
    assert out.select("kind", "code", "occurrences", "claim_count").rows() == [
        ("carc", "Q1", 3, 2),
        ("rarc", "N9999", 1, 1),
    ]
    assert out["listed"].to_list() == [False, False]
    assert out["total_amount"][0] == Decimal("16.50")
    assert out["total_amount"][1] is None


def test_unknown_codes_is_empty_for_known_codes():
    out = codes.unknown_codes(pl.DataFrame({"reason_code": ["1", "45", "197"]}))
    assert out.height == 0
    assert out.columns == ["kind", "code", "listed", "occurrences", "claim_count", "total_amount"]


def test_refine_expression_and_scalar_agree_on_every_category_and_hint():
    hinted = codes.rarc().filter(pl.col("category_hint").is_not_null())
    remark_sets = [[], ["MA01"], *[[code] for code in hinted["code"].head(60)], ["N54", "MA04"], ["m127", " N30 "]]
    rows = [(category, remarks) for category in (*codes.CATEGORIES, None) for remarks in remark_sets]
    frame = pl.DataFrame(
        {"category": [c for c, _ in rows], "remarks": [r for _, r in rows]},
        schema={"category": pl.String, "remarks": pl.List(pl.String)},
    )
    vectorised = frame.select(codes.refine_category_expr("category", "remarks"))[:, 0].to_list()
    assert vectorised == [codes.refine_category(category, remarks) for category, remarks in rows]
    vague = {"unknown", "missing_information", "non_covered_benefit_limit", "payer_error"}
    specific = [c for c in codes.CATEGORIES if c not in vague]
    for (category, _), refined in zip(rows, vectorised, strict=True):
        if category in specific:
            assert refined == category


def test_coverage_gaps_suggest_another_payer_and_requested_records_a_level1():
    carc = {row["code"]: row for row in codes.carc().iter_rows(named=True)}
    assert {carc[c]["suggested_route"] for c in ("26", "27", "200")} == {"rebill_other_payer"}
    assert carc["31"]["suggested_route"] == "corrected_claim"
    assert carc["226"]["suggested_route"] == "level1_reconsideration"


def test_explain_one_code():
    co197 = codes.explain("CO-197")
    assert co197["kind"] == "carc" and co197["known"] and co197["category"] == "authorization"
    assert codes.explain("pr-96")["fixable_by"] == "patient"
    assert codes.explain("45")["adjustment_kind"] == "pricing"  # no group: read as the code alone
    assert codes.explain("N54") == {
        "kind": "rarc",
        "code": "N54",
        "known": True,
        "label": codes.rarc().filter(pl.col("code") == "N54")["label"].item(),
        "category_hint": "authorization",
    }
    unknown = codes.explain("CO-Q9")
    assert unknown["known"] is False and unknown["category"] == "unknown"
    assert codes.explain("")["known"] is False
