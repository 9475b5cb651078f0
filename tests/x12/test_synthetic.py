"""The reader on hand-written files: every field it fills, every layout quirk, every way a
file or transaction set is quarantined, and every finding. Needs no sample corpus."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from claimback import schema
from claimback.x12 import read_x12
from tests.conftest import corpus_files, needs_corpus
from tests.x12.synthetic import (
    CLAIMS_837P,
    REMIT_1,
    Layout,
    claims_file,
    interchange,
    remit_file,
    render,
)


def rows(pf, table: str, **match) -> list[dict]:
    frame = pf.tables[table]
    for col, value in match.items():
        frame = frame.filter(pl.col(col) == value)
    return frame.to_dicts()


def one(pf, table: str, **match) -> dict:
    found = rows(pf, table, **match)
    assert len(found) == 1, f"{len(found)} rows in {table} for {match}"
    return found[0]


@pytest.fixture(scope="module")
def remit():
    return read_x12(remit_file(), source_file="remit.835")


@pytest.fixture(scope="module")
def claims():
    return read_x12(claims_file(), source_file="claims.837")


# --- 835 field values ---------------------------------------------------------------------------

def test_every_table_has_the_contract_schema(remit, claims):
    for pf in (remit, claims):
        assert set(pf.tables) == set(schema.PARSED_TABLES)
        for name, frame in pf.tables.items():
            assert frame.schema == pl.Schema(schema.TABLES[name]), name


def test_payment_header(remit):
    assert remit.file_type == "835" and remit.transactions == 2 and remit.quarantined == 0
    pay = one(remit, "remit_payments", check_number="CHK0001")
    assert pay["total_payment_amount"] == Decimal("7.50")
    assert pay["payment_method"] == "ACH" and pay["credit_debit_flag"] == "C"
    assert pay["payment_date"] == date(2024, 1, 15) and pay["remit_date"] == date(2024, 1, 15)
    assert pay["production_date"] == date(2024, 1, 12)
    assert (pay["payer_name"], pay["payer_id"]) == ("ACME HEALTH PLAN", "ACME1")
    assert (pay["payee_name"], pay["payee_npi"], pay["payee_tax_id"]) == ("GOOD CLINIC", "1234567893", "123456789")
    assert pay["interchange_control_number"] == "000000101" and pay["group_control_number"] == "7"
    assert pay["transaction_control_number"] == "0001" and pay["implementation_version"] == "005010X221A1"
    assert pay["claim_count"] == 3 and pay["transaction_ordinal"] == 1
    second = one(remit, "remit_payments", check_number="CHK0002")
    # no N104 / REF*2U: the payer id falls back to TRN03; BPR16 still found after eleven empty elements
    assert second["payer_id"] == "1512345678" and second["remit_date"] == date(2024, 1, 16)
    assert second["transaction_ordinal"] == 2


def test_claim_values_and_keys(remit):
    claim = one(remit, "remit_claims", patient_control_number="PCN001")
    assert claim["claim_key"] == f"{remit.file_sha256[:16]}-0000001" and claim["claim_ordinal"] == 1
    assert (claim["charge_amount"], claim["paid_amount"], claim["patient_responsibility_amount"]) == (
        Decimal("200.00"), Decimal("120.00"), Decimal("30.00"))
    assert claim["claim_status_code"] == "1" and claim["claim_filing_indicator"] == "12"
    assert claim["payer_claim_control_number"] == "PAYERCLM001" and claim["facility_type_code"] == "11"
    assert claim["claim_frequency_code"] == "1" and claim["rendering_npi"] == "1234567893"
    assert (claim["patient_last_name"], claim["patient_first_name"], claim["member_id"]) == ("DOE", "JANE", "MEM123")
    assert claim["statement_from"] == date(2024, 1, 1) and claim["allowed_amount"] == Decimal("150.00")
    assert claim["payer_name"] == "ACME HEALTH PLAN" and claim["check_number"] == "CHK0001"
    assert claim["is_reversal"] is False
    assert one(remit, "remit_claims", patient_control_number="PCN004")["claim_key"].endswith("-0000004")


def test_reversal_keeps_negative_amounts(remit):
    rev = one(remit, "remit_claims", patient_control_number="PCN003")
    assert rev["is_reversal"] is True
    assert (rev["charge_amount"], rev["paid_amount"]) == (Decimal("-200.00"), Decimal("-120.00"))
    amounts = [r["amount"] for r in rows(remit, "remit_adjustments", claim_key=rev["claim_key"])]
    assert amounts == [Decimal("-50.00"), Decimal("-20.00"), Decimal("-10.00")]


def test_service_line_values(remit):
    line = one(remit, "remit_service_lines", line_control_number="LINE001")
    assert (line["procedure_qualifier"], line["procedure_code"], line["modifiers"]) == ("HC", "99213", ["25", "59"])
    assert (line["charge_amount"], line["paid_amount"], line["units"]) == (Decimal("200.00"), Decimal("120.00"), 1.0)
    assert line["service_date"] == date(2024, 1, 1) and line["allowed_amount"] == Decimal("150.00")
    assert line["line_number"] == 1
    pt = rows(remit, "remit_service_lines", procedure_code="97110")[0]
    assert pt["modifiers"] == ["GP"] and pt["units"] == 2.0


def test_every_cas_triplet_claim_and_line_level(remit):
    adj = remit.tables["remit_adjustments"]
    first = adj.filter(pl.col("claim_key").str.ends_with("-0000001"))
    assert first.select("line_number", "group_code", "reason_code", "amount").rows() == [
        (1, "CO", "45", Decimal("50.00")), (1, "PR", "1", Decimal("20.00")), (1, "PR", "2", Decimal("10.00"))]
    denial = adj.filter(pl.col("claim_key").str.ends_with("-0000002")).to_dicts()
    assert [(d["line_number"], d["group_code"], d["reason_code"], d["amount"]) for d in denial] == [
        (None, "CO", "197", Decimal("100.00"))]


def test_remarks_from_lq_and_moa(remit):
    rem = remit.tables["remit_remarks"].select("line_number", "remark_code", "source_segment").rows()
    assert rem == [(None, "MA01", "MOA"), (None, "N123", "MOA"), (1, "N130", "LQ")]


def test_plb_pairs_with_references(remit):
    plb = remit.tables["provider_adjustments"].select("payee_npi", "fiscal_period_date", "reason_code", "reference",
                                                     "amount").rows()
    assert plb == [("1234567893", date(2024, 12, 31), "WO", "ABC123", Decimal("-10.00")),
                   ("1234567893", date(2024, 12, 31), "L6", None, Decimal("2.50"))]


def test_balanced_file_has_no_findings(remit):
    assert remit.tables["validation_findings"].height == 0


def test_provenance_on_every_row(remit):
    for name in ("remit_claims", "remit_service_lines", "remit_adjustments", "remit_remarks", "provider_adjustments"):
        frame = remit.tables[name]
        assert frame.height and frame["source_file"].eq("remit.835").all(), name
        assert frame["file_sha256"].eq(remit.file_sha256).all() and frame["transaction_hash"].null_count() == 0
        assert frame["transaction_ordinal"].null_count() == 0


# --- 837 field values ---------------------------------------------------------------------------

def test_professional_claim_from_subscriber_hl(claims):
    c = one(claims, "submitted_claims", patient_control_number="PCN001")
    assert c["claim_type"] == "P" and c["implementation_version"] == "005010X222A1"
    assert (c["billing_npi"], c["billing_name"], c["billing_tax_id"]) == ("1234567893", "GOOD CLINIC", "123456789")
    assert (c["payer_name"], c["payer_id"]) == ("ACME HEALTH PLAN", "ACME1")
    assert (c["patient_last_name"], c["patient_first_name"], c["subscriber_member_id"]) == ("DOE", "JANE", "MEM123")
    assert c["patient_birth_date"] == date(1980, 1, 1)
    assert (c["place_of_service"], c["facility_code_qualifier"], c["frequency_code"]) == ("11", "B", "1")
    assert c["type_of_bill"] is None and c["total_charge"] == Decimal("200.00")
    assert c["diagnosis_codes"] == ["J020", "R509"] and c["prior_authorization"] == "AUTH77"
    assert c["rendering_npi"] == "1234567893" and c["statement_from"] == date(2024, 1, 1)
    assert (c["payer_responsibility"], c["claim_filing_indicator"]) == ("P", "CI")


def test_patient_hl_inherits_payer_and_ignores_other_payer_loops(claims):
    c = one(claims, "submitted_claims", patient_control_number="PCN002")
    assert (c["patient_last_name"], c["patient_first_name"]) == ("DOE", "JIMMY")
    assert c["patient_birth_date"] == date(2010, 5, 5)
    assert c["subscriber_member_id"] == "MEM123"  # the subscriber's, not loop 2330A's OTHERMEM
    assert (c["payer_name"], c["payer_id"]) == ("ACME HEALTH PLAN", "ACME1")  # not 2330B's OTHER PAYER
    assert c["original_payer_claim_control_number"] == "PAYERCLM002"  # 2300 REF*F8, not 2330B's
    assert c["frequency_code"] == "7" and c["diagnosis_codes"] == ["Z0000", "R05"]  # principal first
    assert (c["statement_from"], c["statement_to"]) == (date(2024, 1, 3), date(2024, 1, 5))


def test_institutional_claim(claims):
    c = one(claims, "submitted_claims", patient_control_number="PCNI01")
    assert c["claim_type"] == "I" and c["type_of_bill"] == "131" and c["place_of_service"] is None
    assert (c["statement_from"], c["statement_to"]) == (date(2024, 2, 1), date(2024, 2, 3))
    assert c["attending_npi"] == "1234567893" and c["diagnosis_codes"] == ["I10"]
    line = one(claims, "submitted_service_lines", claim_key=c["claim_key"])
    assert (line["service_type"], line["revenue_code"], line["procedure_code"]) == ("SV2", "0450", "99283")
    assert (line["charge_amount"], line["units"]) == (Decimal("1500.00"), 1.0)


def test_837_service_lines(claims):
    line = one(claims, "submitted_service_lines", line_control_number="LINE001")
    assert (line["service_type"], line["procedure_code"], line["modifiers"]) == ("SV1", "99213", ["25"])
    assert (line["charge_amount"], line["units"], line["place_of_service"]) == (Decimal("200.00"), 1.0, "11")
    assert line["line_number"] == 1 and line["service_date"] == date(2024, 1, 1)
    assert [c["claim_ordinal"] for c in rows(claims, "submitted_claims")] == [1, 2, 3]


def test_claim_type_falls_back_to_the_version_without_service_lines():
    body = [s for s in CLAIMS_837P if not s.startswith(("LX", "SV1", "DTP*472", "REF*6R"))]
    pf = read_x12(render(interchange([("837", body)], version="005010X224A2", functional="HC")))
    assert set(pf.tables["submitted_claims"]["claim_type"]) == {"D"}


# --- layout quirks: the same content however it is written --------------------------------------

LAYOUTS = {
    "pipes_and_carets": Layout(element="|", component="^", repetition="{"),
    "tilde_elements_underscore_terminator": Layout(element="~", component="^", repetition="{", terminator="_"),
    "crlf_after_terminator": Layout(after="\r\n"),
    "line_break_before_terminator": Layout(before="\n", after=""),
    "newline_terminator_indented": Layout(terminator="\n", indent=True),
    "crlf_terminator": Layout(terminator="\r\n"),
    "short_isa": Layout(short_isa=True, after="\n"),
}

CONTENT = ["claim_key", "patient_control_number", "charge_amount", "paid_amount", "is_reversal", "transaction_hash"]


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layouts_parse_to_the_same_tables(remit, name):
    pf = read_x12(remit_file(LAYOUTS[name]))
    assert pf.quarantined == 0 and pf.transactions == 2
    assert pf.tables["remit_claims"].select(CONTENT[1:]).equals(remit.tables["remit_claims"].select(CONTENT[1:]))
    assert pf.tables["remit_adjustments"].drop("source_file", "file_sha256", "claim_key").equals(
        remit.tables["remit_adjustments"].drop("source_file", "file_sha256", "claim_key"))
    assert pf.tables["remit_service_lines"]["modifiers"].to_list() == [["25", "59"], ["GP"]]
    assert pf.tables["provider_adjustments"]["reference"].to_list() == ["ABC123", None]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "latin-1"])
def test_encodings(remit, encoding):
    text = remit_file().decode("ascii").replace("GOOD CLINIC", "CLÍNICA BUENA")
    pf = read_x12(text.encode(encoding))
    assert pf.transactions == 2 and pf.tables["remit_payments"]["payee_name"][0] == "CLÍNICA BUENA"


def test_text_before_isa_is_skipped():
    pf = read_x12(b"Remittance export, generated 2024-01-15\r\n\r\n" + remit_file())
    assert pf.transactions == 2 and pf.quarantined == 0


def test_file_starting_at_st_without_envelope():
    body = render(["ST*835*0001", *REMIT_1, f"SE*{len(REMIT_1) + 2}*0001"], Layout(after="\n"))
    pf = read_x12(body)
    assert pf.transactions == 1 and pf.tables["remit_claims"].height == 3
    assert pf.tables["remit_payments"]["interchange_control_number"][0] is None


def test_file_starting_at_gs_with_other_delimiters():
    segs = interchange([("835", REMIT_1)])[1:-1]  # GS..GE, no ISA/IEA
    pf = read_x12(render(segs, Layout(element="|", component=">", after="\n")))
    assert pf.transactions == 1 and pf.tables["remit_service_lines"]["modifiers"][0].to_list() == ["25", "59"]


def test_interchanges_with_different_delimiters_in_one_file():
    data = remit_file(control="000000001") + remit_file(Layout(element="|", component=">"), control="000000002")
    pf = read_x12(data)
    assert pf.transactions == 4 and pf.quarantined == 0
    claims = pf.tables["remit_claims"]
    assert claims["claim_ordinal"].to_list() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert claims["transaction_ordinal"].to_list() == [1, 1, 1, 2, 3, 3, 3, 4]
    # the same remit delivered again in another envelope and format hashes the same
    assert claims["transaction_hash"][0] == claims["transaction_hash"][4]
    assert pf.tables["remit_service_lines"]["modifiers"].to_list() == [["25", "59"], ["GP"]] * 2


def test_many_interchanges_are_read_in_bounded_runs(monkeypatch):
    from claimback.x12 import reader, tokenize

    original = tokenize.split_runs
    runs = []
    monkeypatch.setattr(reader, "split_runs", lambda text, **_: (runs.append(r) or r for r in original(text, 3000)))
    monkeypatch.setattr(reader, "PIECE_CHARS", 3000)  # several pieces, built by the two workers, in order
    data = b"".join(remit_file(control=f"{i:09d}") for i in range(1, 11))
    pf = read_x12(data)
    assert pf.transactions == 20
    assert pf.tables["remit_claims"]["claim_ordinal"].to_list() == list(range(1, 41))
    assert pf.tables["remit_claims"]["transaction_ordinal"].n_unique() == 20
    assert len(runs) == 4  # three interchanges (1.2 kB each) per run of at most 3000 characters


# --- quarantine: rejected as a unit, the rest still loads ---------------------------------------

def quarantine_errors(pf) -> list[str]:
    return pf.tables["quarantine"]["error"].to_list()


@pytest.mark.parametrize("data, expected", [
    (b"", "empty file"),
    (b"  \r\n\t ", "empty file"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n", "not an X12 file"),
    (b"claim_id,amount,date\nA1,100.00,2024-01-01\n", "not an X12 file"),
    (bytes(range(256)) * 4, "not an X12 file"),
])
def test_non_x12_files_give_one_quarantine_row(data, expected):
    pf = read_x12(data, source_file="junk.bin")
    assert pf.transactions == 0 and pf.quarantined == 1 and pf.file_type == "unknown"
    q = pf.tables["quarantine"].to_dicts()
    assert len(q) == 1 and q[0]["location"] == "file" and q[0]["error"].startswith(expected)
    assert q[0]["source_file"] == "junk.bin" and q[0]["detected_at"] is not None


def test_truncated_last_transaction_is_quarantined_and_the_first_loads():
    data = remit_file()
    cut = data[: data.index(b"CAS*PR*2*10")]
    pf = read_x12(cut)
    assert pf.transactions == 1 and pf.quarantined == 1
    assert "truncated" in quarantine_errors(pf)[0]
    assert pf.tables["quarantine"]["location"][0].startswith("ISA 000000101 / ST 0002, segment ")
    assert pf.tables["remit_claims"]["patient_control_number"].to_list() == ["PCN001", "PCN002", "PCN003"]


def test_missing_se_before_next_st_quarantines_that_set_only():
    segs = interchange([("835", REMIT_1), ("835", REMIT_1)])
    se = next(i for i, s in enumerate(segs) if s.startswith("SE*"))
    pf = read_x12(render(segs[:se] + segs[se + 1:]))
    assert pf.transactions == 1 and pf.quarantined == 1
    assert "truncated" in quarantine_errors(pf)[0]
    assert pf.tables["remit_claims"]["claim_ordinal"].to_list() == [4, 5, 6]  # ordinals count every CLP


def test_garbage_segment_id_quarantines_the_set():
    segs = interchange([("835", REMIT_1), ("835", REMIT_1)])
    segs.insert(5, "resnCode>adjID>5")
    pf = read_x12(render(segs))
    assert pf.transactions == 1 and pf.quarantined == 1
    assert "not a valid X12 segment id" in quarantine_errors(pf)[0]


def test_unsupported_transaction_type_is_quarantined():
    segs = interchange([("835", REMIT_1), ("277", ["BHT*0010*08*X*20240101"])])
    pf = read_x12(render(segs))
    assert pf.transactions == 1 and "unsupported transaction set type '277'" in quarantine_errors(pf)[0]


def test_internal_errors_become_quarantine_rows(monkeypatch):
    from claimback.x12 import remit as remit_module

    calls = {"n": 0}
    real = remit_module.claims

    def flaky(seg, pay, sha):
        calls["n"] += 1
        if calls["n"] == 1 or calls["n"] == 3:  # the whole run, then the second set on its own
            raise RuntimeError("boom with PHI DOE JANE")
        return real(seg, pay, sha)

    monkeypatch.setattr(remit_module, "claims", flaky)
    pf = read_x12(remit_file())
    assert pf.transactions == 1 and pf.quarantined == 1
    assert quarantine_errors(pf) == ["internal reader error: RuntimeError"]


def test_file_level_internal_error_never_raises(monkeypatch):
    from claimback.x12 import reader

    monkeypatch.setattr(reader, "decode_bytes", lambda raw: (_ for _ in ()).throw(MemoryError()))
    pf = read_x12(remit_file())
    assert quarantine_errors(pf) == ["internal reader error: MemoryError"] and pf.transactions == 0


def test_unreadable_path_is_quarantined(tmp_path):
    pf = read_x12(tmp_path / "missing.835")
    assert pf.quarantined == 1 and "could not be read" in quarantine_errors(pf)[0]


# --- findings: reported, never rejected -----------------------------------------------------------

def findings(pf) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in pf.tables["validation_findings"].to_dicts():
        out.setdefault(f["rule"], []).append(f)
    return out


def test_unbalanced_amounts_are_findings():
    body = [s.replace("CLP*PCN001*1*200*120", "CLP*PCN001*1*210*120") if s.startswith("CLP*PCN001") else s
            for s in REMIT_1]
    body = [s.replace("BPR*I*7.50", "BPR*I*9.99") for s in body]
    body = [s.replace("SVC*HC:99213:25:59*200*120", "SVC*HC:99213:25:59*200*110") for s in body]
    pf = read_x12(render(interchange([("835", body)])))
    found = findings(pf)
    assert pf.tables["remit_claims"].height == 3  # loaded all the same
    claim = found["claim_balance"][0]
    assert claim["claim_key"].endswith("-0000001") and claim["severity"] == "warning"
    assert "PCN001" in claim["message"] and "90.00" in claim["message"] and "80.00" in claim["message"]
    assert "line 1 (99213)" in found["line_balance"][0]["message"]
    assert found["transaction_balance"][0]["severity"] == "error"
    assert found["transaction_balance"][0]["claim_key"] is None
    assert all(f["transaction_hash"] for f in pf.tables["validation_findings"].to_dicts())


def test_envelope_counts_and_control_numbers_are_findings():
    segs = interchange([("835", REMIT_1)])
    real_count = len(REMIT_1) + 2
    segs = ["SE*99*0002" if s.startswith("SE*") else s for s in segs]
    segs = [s.replace("GE*1*7", "GE*3*8") if s.startswith("GE*") else s for s in segs]
    segs = [s.replace("IEA*1*000000101", "IEA*2*000000999") if s.startswith("IEA*") else s for s in segs]
    pf = read_x12(render(segs))
    assert pf.transactions == 1 and pf.quarantined == 0
    found = findings(pf)
    assert set(found) == {"se_count", "control_number", "ge_count", "iea_count"}
    assert f"SE01 says 99 segments but the transaction set has {real_count}" in found["se_count"][0]["message"]
    assert len(found["control_number"]) == 3
    assert found["ge_count"][0]["transaction_hash"] is None


def test_bad_npi_check_digits_are_findings(claims):
    data = claims_file().replace(b"NM1*85*2*GOOD CLINIC*****XX*1234567893", b"NM1*85*2*GOOD CLINIC*****XX*1234567890")
    found = findings(read_x12(data))
    assert [f["message"] for f in found["npi_check_digit"]] == [
        "billing NPI 1234567890 fails the NPI check digit (Luhn with prefix 80840)"] * 2
    assert claims.tables["validation_findings"].height == 0


def test_messages_carry_no_phi():
    body = [s.replace("CLP*PCN001*1*200", "CLP*PCN001*1*999") for s in REMIT_1]
    pf = read_x12(render(interchange([("835", body)]))[:-40])
    text = " ".join(pf.tables["validation_findings"]["message"].to_list() + quarantine_errors(pf))
    for phi in ("DOE", "JANE", "MEM123", "ROE"):
        assert phi not in text


def test_segments_outside_a_transaction_set_are_reported():
    segs = interchange([("835", REMIT_1)])
    segs.insert(len(segs) - 2, "NTE*ADD*STRAY NOTE")  # between SE and GE
    pf = read_x12(render(segs))
    assert pf.transactions == 1 and pf.quarantined == 0
    stray = findings(pf)["segment_outside_transaction"]
    assert len(stray) == 1 and stray[0]["message"].startswith("1 segment(s) outside")
    assert stray[0]["location"].startswith("ISA 000000101, segment ")


def test_reader_threads_come_from_the_environment_and_a_bad_value_says_what_to_fix(monkeypatch):
    from claimback.x12 import reader

    monkeypatch.setenv("CLAIMBACK_READER_THREADS", "1")
    assert reader._reader_threads() == 1
    monkeypatch.setenv("CLAIMBACK_READER_THREADS", "two")
    with pytest.raises(ValueError, match="CLAIMBACK_READER_THREADS must be a whole number"):
        reader._reader_threads()
    monkeypatch.delenv("CLAIMBACK_READER_THREADS")
    assert reader._reader_threads() in (1, 2)


def test_one_reader_thread_reads_the_same_tables_as_two(monkeypatch):
    from claimback.x12 import reader
    from tests.x12.test_many import assert_same

    monkeypatch.setattr(reader, "PIECE_CHARS", 3000)
    sources = [b"".join(remit_file(control=f"{i:09d}") for i in range(1, 6)), remit_file(), claims_file()]
    names = ["big.835", "small.835", "claims.837"]
    two = reader.read_x12_many(sources, names)
    monkeypatch.setattr(reader, "WORKERS", 1)
    for got, alone in zip(two, reader.read_x12_many(sources, names)):
        assert got.transactions > 0
        assert_same(got, alone)


@needs_corpus
def test_corpus_files_read_in_small_pieces_match_reading_them_whole(monkeypatch):
    from claimback.x12 import reader
    from tests.x12.test_many import assert_same

    files = corpus_files("835") + corpus_files("837")
    names = [f.name for f in files]
    whole = reader.read_x12_many(files, names)
    monkeypatch.setattr(reader, "PIECE_CHARS", 1000)  # every file with several interchanges in pieces
    for got, expected in zip(reader.read_x12_many(files, names), whole):
        assert_same(got, expected)
