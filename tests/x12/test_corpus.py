"""The reader on all 183 real sample files: exact counts against an independent segment
counter, explicit expected quarantines, and hand-checked field values on named files."""
from __future__ import annotations

import importlib.util
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import polars as pl
import pytest

from claimback.x12 import read_x12
from tests.conftest import SAMPLES, SHARED, corpus_files, needs_corpus

pytestmark = [needs_corpus, pytest.mark.corpus]


def _reference_tokenizer():
    """shared/bench/corpus_stats.py: the research tokenizer, written apart from this reader."""
    path = SHARED / "bench" / "corpus_stats.py"
    if not path.is_file():
        pytest.skip(f"independent counter not found at {path}")
    spec = importlib.util.spec_from_file_location("corpus_stats", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def independent_counts(path: Path) -> dict[str, int]:
    """CLP/CLM, service-line and CAS reason-code counts by plain string splitting."""
    stats = _reference_tokenizer()
    text, _ = stats.decode(path.read_bytes())
    claims = lines = cas = 0
    for seg in stats.segments(text, stats.delimiters(text)):
        tag = seg[0]
        claims += tag in ("CLP", "CLM")
        lines += tag in ("SVC", "SV1", "SV2", "SV3")
        if tag == "CAS":
            cas += sum(1 for k in range(2, min(len(seg), 19), 3) if seg[k].strip())
    return {"claims": claims, "lines": lines, "cas": cas}


@cache
def parsed(name: str):
    for kind in ("835", "837"):
        path = SAMPLES / kind / name
        if path.is_file():
            return read_x12(path, source_file=name)
    raise FileNotFoundError(name)


def our_counts(pf, kind: str, path: Path) -> dict[str, int]:
    t = pf.tables
    if kind == "835":
        return {"claims": t["remit_claims"].height, "lines": t["remit_service_lines"].height,
                "cas": t["remit_adjustments"].height}
    # an 837's CAS segments are other payers' adjudications (loop 2320/2430); not read into a table
    return {"claims": t["submitted_claims"].height, "lines": t["submitted_service_lines"].height,
            "cas": independent_counts(path)["cas"]}


# Files whose broken transaction sets are rejected, with what still loads (checked by hand).
EXPECTED_QUARANTINE = {
    # template garbage "resnCode>adjID>5" as a segment in the second of two transaction sets; the
    # first carries a template CAS "CAS*grp_code*reason_code*amount*quantity" (CAS03 is not an amount)
    "affect-therapeutics_edi-835-parser__tests_test_edi_835_files_sample_835_with_interests.txt":
        ("not a valid X12 segment id", {"claims": 0, "lines": 0, "cas": 0}),
    # the same template CAS (CAS03 'amount') in the first of its two transaction sets
    "affect-therapeutics_edi-835-parser__input_sample_835.txt":
        ("CAS03 'amount' is not an X12 amount", {"claims": 4, "lines": 10, "cas": 10}),
    # the file ends 13 segments into its only transaction set (UTF-16LE, no BOM)
    "Inteligenz_X12Parser__tests_OopFactory.X12.Tests.Unit_Parsing__SampleEdiFiles_INS__837P__5010_UnicodeExample.txt":
        ("truncated", {"claims": 0, "lines": 0, "cas": 0}),
    # deliberately bad ids ("Nd4", "NM31", an empty id) in its only transaction set
    "imsweb_x12-parser__src_test_resources_837_5010_x12_bad_segment_identifier.txt":
        ("not a valid X12 segment id", {"claims": 0, "lines": 0, "cas": 0}),
    # the first of two interchanges stops after 52 segments, with no SE/GE/IEA
    "slott56_TigerShark__tests_837I-Examples.txt": ("truncated", {"claims": 1, "lines": 4, "cas": 1}),
}


@pytest.mark.parametrize("kind", ["835", "837"])
def test_every_corpus_file_counts_exactly_or_is_quarantined_for_a_reason(kind):
    files = corpus_files(kind)
    assert len(files) == {"835": 40, "837": 143}[kind]
    wrong = []
    for path in files:
        pf = parsed(path.name)
        ours, ref = our_counts(pf, kind, path), independent_counts(path)
        reasons = pf.tables["quarantine"]["error"].to_list()
        expected = EXPECTED_QUARANTINE.get(path.name)
        if expected:
            reason, remaining = expected
            if not any(reason in r for r in reasons) or ours != remaining:
                wrong.append((path.name, "expected quarantine", reason, remaining, ours, reasons))
        elif reasons or ours != ref:
            wrong.append((path.name, ref, ours, reasons))
        assert pf.file_type == kind or (expected and pf.file_type == "unknown")
    assert wrong == []


def test_expected_quarantines_exist():
    names = {p.name for kind in ("835", "837") for p in corpus_files(kind)}
    assert {n for n, v in EXPECTED_QUARANTINE.items() if v} <= names


# --- hand-checked values on named files ---------------------------------------------------------

def claim(name: str, pcn: str, table: str = "remit_claims") -> dict:
    found = parsed(name).tables[table].filter(pl.col("patient_control_number") == pcn).to_dicts()
    assert len(found) == 1
    return found[0]


def lines_of(name: str, key: str, table: str = "remit_service_lines") -> list[dict]:
    return parsed(name).tables[table].filter(pl.col("claim_key") == key).to_dicts()


GRIP = "Inteligenz_X12Parser__tests_OopFactory.X12.Tests.Unit_Parsing__SampleEdiFiles_INS__835__4010_Example1_GripElements.txt"


def test_4010_bom_indented_file_with_reversals_and_predetermination():
    c = claim(GRIP, "444444")
    assert (c["charge_amount"], c["paid_amount"], c["claim_filing_indicator"]) == (
        Decimal("56.70"), Decimal("56.52"), "MC")
    line = lines_of(GRIP, c["claim_key"])[0]
    assert (line["procedure_code"], line["modifiers"], line["units"]) == ("H0005", ["HF", "H9"], 6.0)
    rev = claim(GRIP, "123456")
    assert rev["is_reversal"] and rev["paid_amount"] == Decimal("-42.58")
    rev_line = lines_of(GRIP, rev["claim_key"])[0]
    assert (rev_line["charge_amount"], rev_line["units"], rev_line["modifiers"]) == (
        Decimal("-42.58"), -2.0, ["GT", "UK"])
    assert claim(GRIP, "777777")["claim_status_code"] == "25"
    adj = parsed(GRIP).tables["remit_adjustments"].filter(pl.col("claim_key") == rev["claim_key"])
    assert adj.select("group_code", "reason_code").rows() == [("CR", "141"), ("CR", "42"), ("CR", "22"), ("OA", "141")]
    plb = parsed(GRIP).tables["provider_adjustments"].to_dicts()
    assert [(p["reason_code"], p["reference"], p["amount"]) for p in plb] == [("CV", "9876514", Decimal("-1.27"))]
    pay = parsed(GRIP).tables["remit_payments"].to_dicts()[0]
    assert pay["payee_tax_id"] == "346608640" and pay["payee_npi"] is None and pay["total_payment_amount"] == Decimal("5.75")


def test_six_triplet_cas_and_mia_moa_remarks():
    name = "affect-therapeutics_edi-835-parser__tests_test_edi_835_files_exhaustive_sample.txt"
    adj = parsed(name).tables["remit_adjustments"]
    claim_level = adj.filter(pl.col("line_number").is_null())
    assert claim_level.height == 6 and claim_level["group_code"].unique().to_list() == ["PR"]
    assert claim_level["reason_code"].to_list() == ["XXX", "XX", "XXX", "XX", "XX", "XX"]
    remarks = parsed(name).tables["remit_remarks"]
    assert remarks.filter(pl.col("source_segment") == "MIA")["remark_code"].to_list() == ["XXXX", "XXXXX", "XXXXXX", "XXX", "X"]
    assert remarks.filter(pl.col("source_segment") == "MOA")["remark_code"].to_list() == ["XXXXX", "XXX", "XXX", "XXXXXX", "XX"]
    assert remarks.filter(pl.col("source_segment") == "LQ")["line_number"].to_list() == [1]
    plb = parsed(name).tables["provider_adjustments"]
    assert plb["reason_code"].to_list() == ["GO", "XX", "XX", "XX", "XX", "XX"]  # all six pairs, '>' components


def test_pipe_elements_and_line_break_before_terminator():
    name = "slott56_TigerShark__tests_835-example.txt"
    c = claim(name, "001-SSSSSSSSSS")
    assert (c["charge_amount"], c["paid_amount"], c["patient_responsibility_amount"]) == (
        Decimal("23276.56"), Decimal("12000.65"), Decimal("145.00"))
    assert c["payer_claim_control_number"] == "2234567890 0987654322"
    remarks = parsed(name).tables["remit_remarks"].filter(pl.col("claim_key") == c["claim_key"])
    assert remarks["remark_code"].to_list() == ["N220", "M68"] and remarks["line_number"].to_list() == [1, 1]
    plb = parsed(name).tables["provider_adjustments"].to_dicts()[0]
    assert (plb["reason_code"], plb["reference"], plb["amount"]) == ("WO", "12104411559120820 001GAL295513", Decimal("-361.19"))
    pay = parsed(name).tables["remit_payments"].to_dicts()[0]
    assert (pay["payer_id"], pay["payee_npi"], pay["payment_date"]) == ("87726", "1333333333", date(2012, 3, 22))


def test_claim_level_only_cas_and_mia_remarks():
    name = "LinuxForHealth_x12__demo-file_demo.835"
    adj = parsed(name).tables["remit_adjustments"]
    assert adj.select("line_number", "group_code", "reason_code", "amount").rows() == [
        (None, "CO", "45", Decimal("73348.57")), (None, "CO", "45", Decimal("3019.67"))]
    assert parsed(name).tables["remit_remarks"].select("remark_code", "source_segment").rows() == [("MA02", "MOA")]
    assert claim(name, "666123")["facility_type_code"] == "11"


def test_prose_before_isa_and_two_plb_segments():
    name = "kputnam_stupidedi__spec_fixtures_005010_X221_HP835_Health_Care_Claim_Payment_Advice_case_3a.edi"
    pf = parsed(name)
    assert pf.tables["provider_adjustments"]["payee_npi"].to_list() == ["9876543210", "0123456789"]
    assert claim(name, "L0004828311")["drg_code"] == "490"
    c = claim(name, "0001000053")
    lines = lines_of(name, c["claim_key"])
    assert [(x["procedure_code"], x["revenue_code"]) for x in lines] == [("12001", None), ("64400", "0220")]
    assert c["rendering_npi"] == "1232343560" and c["member_id"] == "456789123"
    # 751.50 - 310 = 441.50 but its CAS total 441.50: balanced; the file's BPR (1222) is not
    rules = pf.tables["validation_findings"]["rule"].to_list()
    assert "transaction_balance" in rules and "claim_balance" not in rules


def test_component_separator_greater_than():
    name = "keironstoddart_edi-835-parser__tests_test_edi_835_files_united_healthcare_legacy_sample.txt"
    c = claim(name, "001-18573-358")
    lines = lines_of(name, c["claim_key"])
    assert [(x["procedure_code"], x["units"], x["line_control_number"]) for x in lines] == [
        ("B4152", 234.0, "800941258001"), ("B4152", 277.0, "800941258002")]
    assert parsed(name).tables["remit_payments"]["payer_id"].to_list() == ["87726"]


def test_many_transaction_sets_statuses_and_reversals():
    name = "Inteligenz_X12Parser__tests_OopFactory.X12.Tests.Unit_Parsing__SampleEdiFiles_INS__835__4010_FromNth_835_DeIdent_02.dat"
    pf = parsed(name)
    assert pf.transactions == 6 and pf.tables["remit_payments"].height == 6
    claims = pf.tables["remit_claims"]
    assert claims.height == 375 and claims["claim_ordinal"].to_list() == list(range(1, 376))
    status = dict(claims.group_by("claim_status_code").len().rows())
    assert status["19"] == 292 and status["22"] == 8 and claims["is_reversal"].sum() == 8
    per_check = pf.tables["remit_payments"].select("transaction_ordinal", "claim_count")
    assert per_check["claim_count"].sum() == 375 and per_check["transaction_ordinal"].to_list() == list(range(1, 7))


def test_same_remit_in_three_layouts_parses_the_same():
    names = ["tastypackets_x12-parser__test_test-files_835_profee.edi",
             "tastypackets_x12-parser__test_test-files_835_multi-line-not-delimited.edi"]
    cols = ["patient_control_number", "charge_amount", "paid_amount", "claim_status_code", "transaction_hash"]
    first, second = (parsed(n).tables["remit_claims"].select(cols) for n in names)
    assert first.height > 0 and first.equals(second)


def test_dental_claim():
    name = "kputnam_stupidedi__spec_fixtures_005010_X224A2_HC837_Health_Care_Claim_Dental_pass_multiple-tooth-numbers.edi"
    c = claim(name, "1191", "submitted_claims")
    assert (c["claim_type"], c["place_of_service"], c["total_charge"]) == ("D", "11", Decimal("900.00"))
    assert (c["billing_npi"], c["billing_tax_id"], c["rendering_npi"]) == ("1234567984", "222222222", "1234567893")
    assert (c["payer_name"], c["payer_id"], c["subscriber_member_id"]) == ("ACME DENTAL PAYER", "11111", "123456")
    line = lines_of(name, c["claim_key"], "submitted_service_lines")[0]
    assert (line["service_type"], line["procedure_qualifier"], line["procedure_code"]) == ("SV3", "AD", "D5214")
    assert parsed(name).tables["validation_findings"].height == 0  # both NPIs pass the Luhn check


def test_institutional_claim_type_of_bill_and_dates():
    name = "kputnam_stupidedi__spec_fixtures_005010_X223A2_HC837_Health_Care_Claim_Institutional_pass_automobile-accident.edi"
    c = parsed(name).tables["submitted_claims"].to_dicts()[0]
    assert (c["claim_type"], c["type_of_bill"], c["frequency_code"]) == ("I", "131", "1")
    assert (c["statement_from"], c["statement_to"]) == (date(2005, 10, 31), date(2005, 11, 1))
    assert c["diagnosis_codes"][0] == "8842" and c["patient_birth_date"] == date(1948, 6, 1)
    revenue = parsed(name).tables["submitted_service_lines"]["revenue_code"].to_list()
    assert revenue == ["0450", "0360", "0312", "0360"]


def test_tilde_elements_caret_components_underscore_terminator():
    name = "imsweb_x12-parser__src_test_resources_837_5010_x12_valid_different_separators.txt"
    c = claim(name, "A37YH556", "submitted_claims")
    assert (c["place_of_service"], c["frequency_code"], c["total_charge"]) == ("11", "1", Decimal("500.00"))
    assert (c["payer_name"], c["billing_npi"]) == ("HEALTH INSURANCE COMPANY", "1234567890")
    line = lines_of(name, c["claim_key"], "submitted_service_lines")[0]
    assert (line["procedure_code"], line["modifiers"]) == ("99211", ["25"])
    assert (line["service_date"], line["service_date_to"]) == (date(2005, 3, 14), date(2005, 3, 25))


def test_4010_professional_without_lx_and_short_isa():
    name = "slott56_TigerShark__tests_837-example.txt"
    c = claim(name, "0777-0777-12345678", "submitted_claims")
    assert (c["claim_type"], c["implementation_version"], c["place_of_service"]) == ("P", "004010X098A1", "03")
    assert (c["billing_tax_id"], c["billing_npi"], c["payer_responsibility"]) == ("12-3456789", None, "S")
    lines = lines_of(name, c["claim_key"], "submitted_service_lines")
    assert [(x["line_number"], x["modifiers"], x["units"]) for x in lines] == [(1, ["U1"], 1.0), (2, ["U8"], 10.0)]
    assert c["statement_from"] == date(2006, 1, 2)
