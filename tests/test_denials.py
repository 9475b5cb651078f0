"""The denials table: what counts as a denial, which adjudication decides, and the analyst views."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from tests.builders import ClaimBook
from claimback import denials as dn
from claimback import schema
from claimback.publish import SQL_DIR
from tests.conftest import SAMPLES, needs_corpus

SQL = SQL_DIR


def build(book: ClaimBook, as_of: dt.date | None = None) -> pl.DataFrame:
    f = book.frames()
    return dn.build_denials(
        f["remit_claims"], f["remit_service_lines"], f["remit_adjustments"], f["remit_remarks"],
        f["submitted_claims"], f["submitted_service_lines"], as_of=as_of,
    )


def one(frame: pl.DataFrame, pcn: str) -> dict:
    rows = frame.filter(pl.col("patient_control_number") == pcn).to_dicts()
    assert len(rows) == 1, f"expected one denial row for {pcn}, got {len(rows)}"
    return rows[0]


def test_empty_inputs_give_empty_tables():
    e = schema.empty
    out = dn.build_denials(e("remit_claims"), e("remit_service_lines"), e("remit_adjustments"),
                           e("remit_remarks"), e("submitted_claims"), e("submitted_service_lines"))
    assert out.height == 0 and out.schema == pl.Schema(schema.DENIALS)
    adjudications = dn.build_adjudications(e("remit_claims"), e("remit_service_lines"),
                                           e("remit_adjustments"))
    assert adjudications.height == 0 and dn.recovered_claims(adjudications).height == 0


def test_full_denial_is_a_claim_level_denial_with_its_reason_and_category():
    book = ClaimBook()
    claim = book.remit("D1", "2026-01-10", charge=100, paid=0, payer_claim_number="ICN1")
    claim.line("99213", 100, 0, [("CO", "197", 100)], ["N54"], service_date="2026-01-02")
    out = build(book)
    assert out.schema == pl.Schema(schema.DENIALS)
    row = one(out, "D1")
    assert row["primary_reason"] == "CO-197"
    assert row["category"] == "authorization"
    assert row["denial_level"] == "claim"
    assert row["denied_amount"] == Decimal("100.00")
    assert row["remark_codes"] == ["N54"]
    assert row["procedure_codes"] == ["99213"]
    assert row["service_date"] == dt.date(2026, 1, 2)
    assert row["first_remit_date"] == row["remit_date"] == dt.date(2026, 1, 10)
    assert row["adjudication_count"] == 1
    assert row["fixable_by"] is not None


def test_partial_line_denial_on_a_paid_claim_is_a_line_denial():
    book = ClaimBook()
    claim = book.remit("P1", "2026-01-10", charge=300, paid=160, payer_claim_number="ICN2")
    claim.line("99214", 200, 160, [("CO", "45", 40)], service_date="2026-01-03")
    claim.line("36415", 100, 0, [("CO", "97", 100)], ["M15"], service_date="2026-01-03")
    row = one(build(book), "P1")
    assert row["denial_level"] == "line"
    assert row["denied_lines"] == 1
    assert row["procedure_codes"] == ["36415"]
    assert row["denied_amount"] == Decimal("100.00")  # CO-45 pricing on the paid line is not denied
    assert row["reason_codes"] == ["CO-97"]
    assert row["paid_amount"] == Decimal("160.00")


def test_zero_pay_from_deductible_is_not_a_denial():
    book = ClaimBook()
    claim = book.remit("DED", "2026-01-10", charge=100, paid=0, patient_responsibility=80)
    claim.line("99213", 100, 0, [("CO", "45", 20), ("PR", "1", 80)])
    assert build(book).height == 0


def test_contractual_pricing_alone_is_not_a_denial():
    book = ClaimBook()
    claim = book.remit("C45", "2026-01-10", charge=100, paid=55)
    claim.line("99213", 100, 55, [("CO", "45", 45)])
    assert build(book).height == 0


def test_a_denial_on_a_well_paid_line_counts_as_a_partial_denial():
    # Issue 14: every denying adjustment counts, whatever the line paid (CO-97 bundling of part
    # of the line here); CO-45 is contract pricing and stays out.
    book = ClaimBook()
    claim = book.remit("EDIT", "2026-01-10", charge=1000, paid=700)
    claim.line("27447", 1000, 700, [("CO", "45", 270), ("CO", "97", 30)])
    row = one(build(book), "EDIT")
    assert (row["primary_reason"], row["denied_amount"], row["denial_level"]) == ("CO-97", Decimal("30.00"), "line")


def test_reversal_then_repayment_is_not_denied():
    book = ClaimBook()
    first = book.remit("RR", "2026-01-10", charge=100, paid=0, payer_claim_number="ICN3")
    first.line("99213", 100, 0, [("CO", "16", 100)], ["N290"])
    book.reversal_of(first, "2026-02-15")
    again = book.remit("RR", "2026-02-15", charge=100, paid=90, payer_claim_number="ICN3")
    again.line("99213", 100, 90, [("CO", "45", 10)])
    assert build(book).height == 0


def test_reversal_then_re_denial_is_denied_by_the_latest_adjudication():
    book = ClaimBook()
    first = book.remit("RD", "2026-01-10", charge=100, paid=100, payer_claim_number="ICN4")
    first.line("99213", 100, 100)
    book.reversal_of(first, "2026-02-15")
    again = book.remit("RD", "2026-02-15", charge=100, paid=0, payer_claim_number="ICN4")
    again.line("99213", 100, 0, [("CO", "50", 100)], ["N115"])
    row = one(build(book), "RD")
    assert row["claim_key"] == again.claim_key
    assert row["primary_reason"] == "CO-50"
    assert row["adjudication_count"] == 3
    assert row["first_remit_date"] == dt.date(2026, 1, 10)
    assert row["remit_date"] == dt.date(2026, 2, 15)


def test_precomputed_adjudications_give_the_same_denials():
    book = ClaimBook()
    first = book.remit("PRE1", "2026-01-10", 100, 100, payer_claim_number="ICN-PRE1")
    first.line("99213", 100, 100)
    book.reversal_of(first, "2026-02-15")
    book.remit("PRE1", "2026-02-15", 100, 0, payer_claim_number="ICN-PRE1").line(
        "99213", 100, 0, [("CO", "50", 100)])
    book.remit("PRE2", "2026-01-10", 100, 0).line("99213", 100, 0, [("CO", "16", 100)], ["N290"])
    book.submitted("PRE2", 100)
    f = book.frames()
    adjudications = dn.build_adjudications(f["remit_claims"], f["remit_service_lines"],
                                           f["remit_adjustments"], f["submitted_claims"])
    reused = dn.build_denials(f["remit_claims"], f["remit_service_lines"], f["remit_adjustments"],
                              f["remit_remarks"], f["submitted_claims"], history=adjudications)
    assert reused.height == 2
    assert reused.equals(build(book))


def test_readjudication_upheld_stays_denied_with_its_history():
    book = ClaimBook()
    book.remit("UPH", "2026-01-10", 100, 0, payer_claim_number="ICN-UPH").line(
        "99213", 100, 0, [("CO", "50", 100)], ["N115"])
    again = book.remit("UPH", "2026-03-02", 100, 0, payer_claim_number="ICN-UPH")
    again.line("99213", 100, 0, [("CO", "50", 100)], ["N115"])
    row = one(build(book), "UPH")
    assert (row["claim_key"], row["adjudication_count"]) == (again.claim_key, 2)
    assert (row["first_remit_date"], row["remit_date"]) == (dt.date(2026, 1, 10), dt.date(2026, 3, 2))
    assert row["category"] == "medical_necessity"


def test_reversal_alone_is_never_a_denial():
    book = ClaimBook()
    first = book.remit("REV", "2026-01-10", charge=100, paid=0, payer_claim_number="ICN5")
    first.line("99213", 100, 0, [("CO", "197", 100)])
    book.reversal_of(first, "2026-02-15")
    assert build(book).height == 0


def test_predetermination_pricing_is_not_a_denial():
    book = ClaimBook()
    book.remit("PRE", "2026-01-10", 136.9, 0, status="25").line("H0015", 136.9, 0, [("CO", "50", 136.9)])
    assert build(book).height == 0


def test_as_of_sees_only_remits_known_then():
    book = ClaimBook()
    first = book.remit("ASOF", "2026-01-10", charge=100, paid=0, payer_claim_number="ICN6")
    first.line("99213", 100, 0, [("CO", "197", 100)])
    book.reversal_of(first, "2026-03-01")
    book.remit("ASOF", "2026-03-01", charge=100, paid=100, payer_claim_number="ICN6").line(
        "99213", 100, 100
    )
    assert build(book, as_of=dt.date(2026, 2, 1))["patient_control_number"].to_list() == ["ASOF"]
    assert build(book, as_of=dt.date(2026, 3, 1)).height == 0


def test_unknown_code_is_category_unknown_and_still_a_denial_under_co():
    book = ClaimBook()
    book.remit("UNK", "2026-01-10", charge=100, paid=0).line("99213", 100, 0, [("CO", "ZZ9", 100)])
    book.remit("UNKPR", "2026-01-10", charge=100, paid=0).line("99213", 100, 0, [("PR", "ZZ9", 100)])
    out = build(book)
    assert one(out, "UNK")["category"] == "unknown"
    assert out.filter(pl.col("patient_control_number") == "UNKPR").height == 0


def test_claim_level_denial_without_lines_and_remark_refinement():
    book = ClaimBook()
    claim = book.remit("CL", "2026-01-10", charge=500, paid=0, status="4")
    claim.adjust("CO", "16", 500).remark("MA130").remark("N290")
    row = one(build(book), "CL")
    assert row["denial_level"] == "claim"
    assert row["denied_lines"] == 0
    assert row["procedure_codes"] == []
    assert row["remark_codes"] == ["MA130", "N290"]
    assert row["category"] == "missing_information"


def test_primary_reason_is_the_largest_denied_amount():
    book = ClaimBook()
    claim = book.remit("MULTI", "2026-01-10", charge=100, paid=0)
    claim.line("99213", 100, 0, [("CO", "16", 30), ("CO", "197", 70)])
    row = one(build(book), "MULTI")
    assert row["primary_reason"] == "CO-197"
    assert row["reason_codes"] == ["CO-197", "CO-16"]
    assert row["denied_amount"] == Decimal("100.00")


def test_matched_837_fields_are_carried():
    book = ClaimBook()
    book.remit("M1", "2026-01-10", charge=100, paid=0).line("99213", 100, 0, [("CO", "197", 100)])
    book.submitted("M1", 100, billing_npi="1999999984", place_of_service="11")  # another practice's M1
    key = book.submitted("M1", 100, billing_npi="1234567893", place_of_service="22")
    row = one(build(book), "M1")
    assert row["submitted_claim_key"] == key
    assert row["billing_npi"] == "1234567893"
    assert row["place_of_service"] == "22"
    assert row["frequency_code"] == "1"


def test_denial_lines_and_summary():
    book = ClaimBook()
    claim = book.remit("L1", "2026-01-10", charge=300, paid=100)
    claim.line("99214", 200, 100, [("CO", "45", 90), ("CO", "97", 10)])  # partly denied: $10 counts
    claim.line("36415", 100, 0, [("CO", "97", 100)], ["M15"], modifiers=["59"])
    book.remit("L2", "2026-01-10", charge=50, paid=0).line("99213", 50, 0, [("CO", "197", 50)])
    f = book.frames()
    out = build(book)
    lines = dn.denial_lines(out, f["remit_service_lines"], f["remit_adjustments"], f["remit_remarks"],
                            f["remit_claims"])
    l1 = lines.filter(pl.col("patient_control_number") == "L1").to_dicts()
    assert [(r["line_number"], r["procedure_code"], r["reason"], r["amount"]) for r in l1] == [
        (1, "99214", "CO-97", Decimal("10.00")), (2, "36415", "CO-97", Decimal("100.00"))
    ]
    assert l1[1]["modifiers"] == ["59"] and l1[1]["remark_codes"] == ["M15"]
    totals = lines.group_by("claim_key").agg(pl.col("amount").sum()).join(
        out.select("claim_key", "denied_amount"), on="claim_key")
    assert (totals["amount"] == totals["denied_amount"]).all()
    summary = dn.denial_summary(out)
    assert summary["claims"].sum() == 2
    assert summary["denied_amount"].sum() == Decimal("160.00")
    assert summary["category"][0] == "coding_bundling"  # $100 beats $50


def test_adjudications_and_recovered_claims():
    book = ClaimBook()
    first = book.remit("WIN", "2026-01-10", charge=100, paid=0, payer_claim_number="ICN7")
    first.line("99213", 100, 0, [("CO", "197", 100)])
    book.reversal_of(first, "2026-02-15")
    book.remit("WIN", "2026-02-15", charge=100, paid=85, payer_claim_number="ICN7").line(
        "99213", 100, 85, [("CO", "45", 15)]
    )
    book.remit("LOSE", "2026-01-10", charge=60, paid=0).line("99213", 60, 0, [("CO", "50", 60)])
    f = book.frames()
    adjudications = dn.build_adjudications(f["remit_claims"], f["remit_service_lines"],
                                           f["remit_adjustments"])
    assert adjudications.schema == pl.Schema(dn.ADJUDICATIONS)
    assert sorted(adjudications.filter(pl.col("is_denied"))["patient_control_number"]) == [
        "LOSE", "WIN"
    ]
    recovered = dn.recovered_claims(adjudications).to_dicts()
    assert [(r["patient_control_number"], r["recovered_amount"]) for r in recovered] == [
        ("WIN", Decimal("85.00"))
    ]


def test_many_claims_build_in_one_vectorised_pass():
    """4 000 claims of mixed shapes: every rule holds at volume, not just on one claim."""
    book = ClaimBook()
    for i in range(1000):
        book.remit(f"A{i}", "2026-01-10", 100, 0).line("99213", 100, 0, [("CO", "197", 100)])
        book.remit(f"B{i}", "2026-01-10", 100, 0).line("99213", 100, 0, [("PR", "1", 100)])
        book.remit(f"C{i}", "2026-01-10", 100, 60).line("99213", 100, 60, [("CO", "45", 40)])
        claim = book.remit(f"D{i}", "2026-01-11", 200, 60)
        claim.line("99213", 100, 60, [("CO", "45", 40)]).line("97110", 100, 0, [("CO", "151", 100)])
    out = build(book)
    assert out.height == 2000
    assert out["denial_level"].value_counts().sort("denial_level").rows() == [
        ("claim", 1000), ("line", 1000)
    ]


# --- real remits ----------------------------------------------------------------------------

GRIP_5010 = ("Inteligenz_X12Parser__tests_OopFactory.X12.Tests.Unit_Parsing__SampleEdiFiles_INS__835__"
             "5010_Example1.txt")
DEIDENT = ("Inteligenz_X12Parser__tests_OopFactory.X12.Tests.Unit_Parsing__SampleEdiFiles_INS__835__"
           "4010_FromNth_835_DeIdent_01.dat")


@needs_corpus
def test_real_remits_with_reversals_predeterminations_and_placeholder_ids():
    from claimback.x12 import read_x12

    parsed = [read_x12(SAMPLES / "835" / name) for name in (GRIP_5010, DEIDENT)]
    tables = {name: pl.concat([p.tables[name] for p in parsed]) for name in parsed[0].tables}
    claims = tables["remit_claims"]
    out = dn.build_denials(claims, tables["remit_service_lines"], tables["remit_adjustments"],
                           tables["remit_remarks"])
    adjudications = dn.build_adjudications(claims, tables["remit_service_lines"],
                                           tables["remit_adjustments"])
    # CLP*888888*4: the whole charge adjusted away as CO-29, nothing paid
    timely = one(out, "888888")
    assert (timely["primary_reason"], timely["category"], timely["denial_level"]) == (
        "CO-29", "timely_filing", "claim")
    assert timely["denied_amount"] == Decimal("162.13")
    # PR-2 coinsurance only (333333), CO-42 pennies on a paid line (444444) and a
    # predetermination (777777, CLP02=25) are not denials
    assert not set(out["patient_control_number"]) & {"333333", "444444", "777777"}
    latest = adjudications.filter("is_latest")
    assert out["claim_key"].is_unique().all()
    assert set(out["claim_key"]) <= set(latest.filter(~pl.col("is_reversal"))["claim_key"])
    assert (out["denied_amount"] > 0).all()
    assert claims.filter(pl.col("claim_key").is_in(out["claim_key"].implode()))["is_reversal"].sum() == 0


# --- analyst views -------------------------------------------------------------------------


@pytest.fixture
def warehouse():
    book = ClaimBook()
    book.remit("V1", "2026-01-10", 100, 0).line("99213", 100, 0, [("CO", "197", 100)], ["N54"])
    book.remit("V2", "2026-01-12", 200, 0).line("99214", 200, 0, [("CO", "197", 200)], ["N54"])
    paid = book.remit("V3", "2026-01-12", 100, 80)
    paid.line("99213", 100, 80, [("CO", "45", 20)])
    denied = book.remit("V4", "2026-01-15", 100, 0, payer_claim_number="ICN-V4")
    denied.line("99213", 100, 0, [("CO", "16", 100)], ["N290"])
    book.reversal_of(denied, "2026-02-20")
    book.remit("V4", "2026-02-20", 100, 90, payer_claim_number="ICN-V4").line(
        "99213", 100, 90, [("CO", "45", 10)]
    )
    other = ClaimBook(payer_name="SUNSHINE HEALTH", payer_id="SUNSH")
    other.remit("S1", "2026-02-03", 50, 0).line("97110", 50, 0, [("CO", "50", 50)], ["N115"])
    frames = {name: pl.concat([book.frames()[name], other.frames()[name]]) for name in book.frames()}
    denials_frame = dn.build_denials(
        frames["remit_claims"], frames["remit_service_lines"], frames["remit_adjustments"],
        frames["remit_remarks"], frames["submitted_claims"],
    )
    adjudications = dn.build_adjudications(
        frames["remit_claims"], frames["remit_service_lines"], frames["remit_adjustments"]
    )
    lines = dn.denial_lines(denials_frame, frames["remit_service_lines"], frames["remit_adjustments"],
                            frames["remit_remarks"], frames["remit_claims"])
    con = duckdb.connect()
    tables = {**frames, "denials": denials_frame, "adjudications": adjudications,
              "denial_lines": lines, "work_queue": schema.empty("work_queue")}
    for name, frame in tables.items():
        con.register(f"_{name}", frame.to_arrow())
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _{name}")
    for path in sorted(SQL.glob("analyst_denials_*.sql")) + [SQL / "analyst_denied_and_recovered_dollars.sql",
                                                     SQL / "analyst_top_denial_reasons.sql"]:
        con.execute(path.read_text())
    yield con
    con.close()


def view(con, name: str) -> list[dict]:
    cursor = con.execute(f"SELECT * FROM {name}")
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def test_every_view_file_is_one_statement_with_a_question_comment():
    files = sorted(SQL.glob("analyst_denials_*.sql")) + [SQL / "analyst_denied_and_recovered_dollars.sql",
                                                 SQL / "analyst_top_denial_reasons.sql"]
    assert len(files) == 6
    for path in files:
        text = path.read_text()
        assert text.startswith("-- ") and "?" in text.splitlines()[0], path.name
        assert text.count("CREATE OR REPLACE VIEW") == 1 and text.rstrip().endswith(";"), path.name


def test_denials_by_payer_view(warehouse):
    rows = {r["payer_name"]: r for r in view(warehouse, "analyst_denials_by_payer")}
    acme = rows["ACME COMMERCIAL HEALTH"]
    assert (acme["adjudicated_claims"], acme["denied_claims"]) == (4, 2)
    assert float(acme["denial_rate"]) == 0.5
    assert acme["denied_amount"] == Decimal("300.00")
    assert rows["SUNSHINE HEALTH"]["denied_claims"] == 1


def test_denials_by_category_and_reason_views(warehouse):
    categories = {r["category"]: r for r in view(warehouse, "analyst_denials_by_category")}
    assert categories["authorization"]["denied_claims"] == 2
    assert categories["authorization"]["denied_amount"] == Decimal("300.00")
    reasons = view(warehouse, "analyst_top_denial_reasons")
    assert reasons[0]["primary_reason"] == "CO-197"
    assert reasons[0]["most_common_remark"] == "N54"
    assert reasons[0]["rank_by_claims"] == 1


def test_denials_by_procedure_view(warehouse):
    rows = {r["procedure_code"]: r for r in view(warehouse, "analyst_denials_by_procedure")}
    assert rows["99214"]["denied_amount"] == Decimal("200.00")
    assert rows["99213"]["denied_claims"] == 1
    assert rows["97110"]["most_common_reason"] == "CO-50"


def test_denials_by_month_view(warehouse):
    rows = {r["month"]: r for r in view(warehouse, "analyst_denials_by_month")}
    january = rows[dt.date(2026, 1, 1)]
    assert (january["adjudicated_claims"], january["denied_claims"]) == (4, 2)
    assert rows[dt.date(2026, 2, 1)]["denied_claims"] == 1


def test_denied_and_recovered_dollars_view(warehouse):
    rows = {r["payer_name"]: r for r in view(warehouse, "analyst_denied_and_recovered_dollars")}
    acme = rows["ACME COMMERCIAL HEALTH"]
    assert acme["claims_ever_denied"] == 3
    assert acme["recovered_claims"] == 1
    assert acme["recovered_amount"] == Decimal("90.00")
    assert acme["still_denied_claims"] == 2
    assert acme["still_denied_amount"] == Decimal("300.00")
