"""999 and 277CA acknowledgments on hand-written files (tests/facts/x12/README.md, "front door").

The 837 `frontdoor.837` sends two transaction sets in group 401: set 0001 holds FD1001 and FD1002,
set 0002 holds FD2001 with CLM05-3 = 9 (not a professional claim frequency code). The 999 accepts
set 0001 and rejects set 0002 naming CLM05-3; the 277CA accepts FD1001 (A2:20) and rejects FD1002
for an invalid member id (A7:164, entity IL). Every expected row below is written by hand from
those files, not produced by claimback.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from claimback.rejections import acknowledged_837s, claim_rejections, reason_277ca, reason_999
from claimback.x12 import read_x12
from pipelines.cli import run_pipeline
from tests.facts.helpers import AS_OF, X12, published_tables, run

FRONT_DOOR = {"frontdoor.837": "frontdoor.837", "frontdoor.999": "frontdoor.999", "frontdoor.277": "frontdoor.277"}
RIVER = "NPI:1234567893"


@pytest.fixture(params=["core", "reference"])
def engine(request, monkeypatch):
    """Both readers (claimback/x12/core.py): the compiled core, when built, and the reference path."""
    monkeypatch.setenv("CLAIMBACK_READER", request.param)
    return request.param


def test_999_one_row_per_acknowledged_set_with_the_element_in_error(engine):
    parsed = read_x12(X12 / "frontdoor.999", "frontdoor.999")
    assert parsed.file_type == "999" and parsed.quarantined == 0
    rows = parsed.tables["acknowledgments"].select(
        "kind", "level", "acknowledged_group_control_number", "acknowledged_transaction_control_number",
        "acknowledged_implementation", "status", "status_code", "status_codes", "error_locations",
        "error_patient_control_numbers", "group_status_code", "group_transaction_sets", "group_accepted_sets",
        "sender_id", "receiver_id", "acknowledged_on",
    ).to_dicts()
    common = {"kind": "999", "level": "transaction_set", "acknowledged_group_control_number": "401",
              "acknowledged_implementation": "005010X222A1", "group_status_code": "P", "group_transaction_sets": 2,
              "group_accepted_sets": 1, "sender_id": "ACMEHEALTH", "receiver_id": "RIVERCLINIC",
              "acknowledged_on": date(2026, 10, 16)}
    assert rows == [
        {**common, "acknowledged_transaction_control_number": "0001", "status": "accepted", "status_code": "A",
         "status_codes": ["IK501:A"], "error_locations": [], "error_patient_control_numbers": []},
        {**common, "acknowledged_transaction_control_number": "0002", "status": "rejected", "status_code": "R",
         "status_codes": ["IK501:R", "IK502:5", "IK304:8", "IK403:7"], "error_locations": ["CLM05-3"],
         "error_patient_control_numbers": ["FD2001"]},
    ]


def test_277ca_claims_and_levels(engine):
    parsed = read_x12(X12 / "frontdoor.277", "frontdoor.277")
    assert parsed.file_type == "277CA" and parsed.quarantined == 0
    claims = parsed.tables["acknowledged_claims"].select(
        "patient_control_number", "status", "status_codes", "entity_codes", "action_code", "payer_claim_control_number",
        "payer_name", "payer_id", "billing_npi", "billing_tax_id", "member_id", "billed_amount", "service_date",
        "service_date_to", "acknowledged_on").to_dicts()
    common = {"payer_name": "ACME HEALTH PLAN", "payer_id": "ACME01", "billing_npi": "1234567893",
              "billing_tax_id": "111111111", "acknowledged_on": date(2026, 10, 17)}
    assert claims == [
        {**common, "patient_control_number": "FD1001", "status": "accepted", "status_codes": ["A2:20"],
         "entity_codes": ["PR"], "action_code": "WQ", "payer_claim_control_number": "ICN26290001",
         "member_id": "MEMBER-G1", "billed_amount": Decimal("150.00"), "service_date": date(2026, 10, 12),
         "service_date_to": date(2026, 10, 12)},
        {**common, "patient_control_number": "FD1002", "status": "rejected", "status_codes": ["A7:164"],
         "entity_codes": ["IL"], "action_code": "U", "payer_claim_control_number": None,
         "member_id": "MEMBER-H2", "billed_amount": Decimal("200.00"), "service_date": date(2026, 10, 13),
         "service_date_to": date(2026, 10, 13)},
    ]
    levels = parsed.tables["acknowledgments"].select(
        "kind", "level", "status", "status_codes", "trace_number", "billing_npi", "accepted_claims", "rejected_claims",
        "accepted_amount", "rejected_amount").to_dicts()
    assert levels == [
        # STC A1:19 acknowledges receipt of the batch; its counts say one claim was rejected
        {"kind": "277CA", "level": "information_receiver", "status": "partially_accepted", "status_codes": ["A1:19"],
         "trace_number": "BATCH401A", "billing_npi": None, "accepted_claims": 1, "rejected_claims": 1,
         "accepted_amount": Decimal("150.00"), "rejected_amount": Decimal("200.00")},
        # 2200C sends no STC here: its counts say one accepted and one rejected
        {"kind": "277CA", "level": "billing_provider", "status": "partially_accepted", "status_codes": [],
         "trace_number": "0", "billing_npi": "1234567893", "accepted_claims": 1, "rejected_claims": 1,
         "accepted_amount": Decimal("150.00"), "rejected_amount": Decimal("200.00")},
    ]


def test_malformed_999_is_quarantined_with_reason_and_location(engine):
    parsed = read_x12(X12 / "broken_no_ik5.999", "broken_no_ik5.999")
    assert parsed.transactions == 0 and parsed.tables["acknowledgments"].height == 0
    assert parsed.tables["quarantine"].select("location", "error").to_dicts() == [{
        "location": "ISA 000000903 / ST 0001, segment 3, byte 169",
        "error": "transaction set not loaded: 999 AK2 0001 has no IK5 before the AK9",
    }]


def test_a_277_claim_status_response_is_not_read_as_a_277ca(engine):
    text = (X12 / "frontdoor.277").read_text().replace("005010X214", "005010X212")
    parsed = read_x12(text.encode(), "status.277")
    assert parsed.tables["acknowledged_claims"].height == 0
    assert parsed.tables["quarantine"]["error"].to_list() == [
        "unsupported transaction set type '277' version '005010X212': only the 277CA claim acknowledgment "
        "(005010X214) is read, not claim status responses"]


def test_claim_rejections_from_999_and_277ca(tmp_path):
    tables = run(tmp_path, {**FRONT_DOOR, "broken_no_ik5.999": "broken_no_ik5.999"})
    rejections = tables["claim_rejections"]
    keys = dict(tables["submitted_claims"].select("patient_control_number", "claim_key").iter_rows())
    assert rejections.drop("acknowledgment_key", "reason").to_dicts() == [
        {"submitted_claim_key": keys["FD2001"], "practice_key": RIVER, "payer_name": "ACME HEALTH PLAN",
         "payer_id": "ACME01", "patient_control_number": "FD2001", "payer_claim_control_number": None,
         "service_date": date(2026, 10, 14), "billed_amount": Decimal("175.00"), "submitted_on": date(2026, 10, 15),
         "rejected_on": date(2026, 10, 16), "acknowledgment": "999",
         "status_codes": ["IK501:R", "IK502:5", "IK304:8", "IK403:7"], "error_location": "CLM05-3",
         "source_file": "frontdoor.999", "still_rejected": True},
        {"submitted_claim_key": keys["FD1002"], "practice_key": RIVER, "payer_name": "ACME HEALTH PLAN",
         "payer_id": "ACME01", "patient_control_number": "FD1002", "payer_claim_control_number": None,
         "service_date": date(2026, 10, 13), "billed_amount": Decimal("200.00"), "submitted_on": date(2026, 10, 15),
         "rejected_on": date(2026, 10, 17), "acknowledgment": "277CA", "status_codes": ["A7:164"],
         "error_location": None, "source_file": "frontdoor.277", "still_rejected": True},
    ]
    assert rejections["reason"].to_list() == [
        "999: rejected (IK501 R); one or more segments in error (IK502 5); segment has data element errors "
        "(IK304 8); invalid code value (IK403 7) at CLM05-3",
        "277CA: rejected for invalid information (A7): entity's contract/member number (164), subscriber (IL)",
    ]
    # no member id or patient name reaches the table
    text = " ".join(str(v) for row in rejections.rows() for v in row)
    assert not any(phi in text for phi in ("MEMBER-", "HILL", "JONES", "GREEN"))
    # the malformed 999 is quarantined and the rest of the inbox loads
    assert tables["quarantine"]["source_file"].to_list() == ["broken_no_ik5.999"]
    assert dict(tables["ingested_files"].select("source_file", "file_type").iter_rows()) == {
        "broken_no_ik5.999": "999", "frontdoor.277": "277CA", "frontdoor.837": "837", "frontdoor.999": "999"}

    # a rerun, with the same 277CA delivered again under another name and envelope: nothing changes
    again = (X12 / "frontdoor.277").read_text().replace("000000902", "000000999").replace("*902*", "*999*")
    (tmp_path / "inbox" / "again.277").write_text(again)
    assert run_pipeline(tmp_path / "inbox", tmp_path / "warehouse", AS_OF).success
    rerun = published_tables(tmp_path / "warehouse")
    assert rerun["acknowledged_claims"].height == 2 and rerun["acknowledgments"].height == 4
    assert rerun["claim_rejections"].equals(rejections)


def test_rejections_cleared_by_a_later_acceptance_or_an_835(tmp_path):
    """FD1002 is sent again (frontdoor_resent.837, the member id corrected) and a later 277CA
    accepts it; an 835 pays FD2001. Neither is still rejected; each file clears only its claim
    (FD1002 has no 835, FD2001 no second 837)."""
    tables = run(tmp_path, {**FRONT_DOOR, "frontdoor_resent.837": "frontdoor_resent.837",
                            "frontdoor_resent.277": "frontdoor_resent.277", "frontdoor_paid.835": "frontdoor_paid.835"})
    assert dict(tables["claim_rejections"].select("patient_control_number", "still_rejected").iter_rows()) == {
        "FD2001": False, "FD1002": False}


def test_still_rejected_without_the_answers():
    """The same matching without the resend and the 835: both stay rejected (the unit under the
    test above, on the reader's own tables)."""
    parsed = {name: read_x12(X12 / name, name).tables for name in FRONT_DOOR}
    submitted = parsed["frontdoor.837"]["submitted_claims"]
    acks = pl.concat([parsed[n]["acknowledgments"] for n in ("frontdoor.999", "frontdoor.277")])
    rejections = claim_rejections(acks, parsed["frontdoor.277"]["acknowledged_claims"], submitted)
    assert dict(rejections.select("patient_control_number", "still_rejected").iter_rows()) == {
        "FD2001": True, "FD1002": True}
    resent = read_x12(X12 / "frontdoor_resent.837", "frontdoor_resent.837").tables["submitted_claims"]
    later = read_x12(X12 / "frontdoor_resent.277", "frontdoor_resent.277").tables
    rejections = claim_rejections(pl.concat([acks, later["acknowledgments"]]),
                                  pl.concat([parsed["frontdoor.277"]["acknowledged_claims"],
                                             later["acknowledged_claims"]]),
                                  pl.concat([submitted, resent]))
    assert dict(rejections.select("patient_control_number", "still_rejected").iter_rows()) == {
        "FD2001": True, "FD1002": False}


def test_reasons_name_every_code_in_plain_words():
    assert reason_999(["IK501:R", "IK502:5", "IK503:I6"], ["SV101-2"], [], "A1") == (
        "999: rejected (IK501 R); one or more segments in error (IK502 5); implementation convention not "
        "supported (IK503 I6) at SV101-2")
    # the errors are in another claim of the rejected set
    assert reason_999(["IK501:R"], ["CLM05-3"], ["B2"], "A1") == (
        "999: rejected (IK501 R); rejected with its transaction set, the errors are in claim B2")
    assert reason_277ca(["A6:21", "A7:562"], ["", "85"]) == (
        "277CA: rejected for missing information (A6): missing or invalid information (21); rejected for invalid "
        "information (A7): entity's National Provider Identifier (NPI) (562), billing provider (85)")


def test_rejections_read_only_the_837s_an_acknowledgment_concerns():
    """`acknowledged_837s`: the 837s of the groups the 999s answer and of the claim numbers the
    acknowledgments name: the front-door claims (FD1002 twice: named by both 277CAs) and the claims
    of lonely_payments.837, which was sent as group 401 too (control numbers come round again; the
    999 answers the latest group 401 sent before it), none of August's or the two practices' 837s;
    the rejections made from those are the ones made from every 837."""
    def tables(names, table):
        return pl.concat([read_x12(X12 / name, name).tables[table] for name in names], how="diagonal_relaxed")

    claims = tables(["frontdoor.837", "frontdoor_resent.837", "silent_claims_august.837", "lonely_payments.837",
                     "two_practices_one_pcn.837"], "submitted_claims")
    acks = tables(["frontdoor.999", "frontdoor.277", "frontdoor_resent.277"], "acknowledgments")
    acked = tables(["frontdoor.277", "frontdoor_resent.277"], "acknowledged_claims")
    read = acknowledged_837s(claims.lazy(), acks, acked).collect()
    assert sorted(read["patient_control_number"]) == ["FD1001", "FD1002", "FD1002", "FD2001", "LAK2001", "LON1001",
                                                      "LON1002", "LON1003"]
    assert claims.height > read.height
    every, some = (claim_rejections(acks, acked, frame) for frame in (claims, read))
    assert every.height == 2 and every.equals(some)


def test_a_group_control_number_written_with_leading_zeros_is_the_group_its_999_answers(tmp_path):
    """GS06 '000000401' on the 837 and AK102 '401' on the 999 are one group (X12 control numbers
    are numbers): the group's 837s are read, and a GS06 of other digits ('4010') is not."""
    padded = tmp_path / "frontdoor_padded.837"
    padded.write_text((X12 / "frontdoor.837").read_text().replace("*0900*401*X*", "*0900*000000401*X*"))
    other = tmp_path / "lonely_other_group.837"
    other.write_text((X12 / "lonely_payments.837").read_text().replace("*1200*401*X*", "*1200*4010*X*"))
    claims = pl.concat([read_x12(path, path.name).tables["submitted_claims"] for path in (padded, other)],
                       how="diagonal_relaxed")
    assert sorted(claims["group_control_number"].unique()) == ["000000401", "4010"]
    acks = read_x12(X12 / "frontdoor.999", "frontdoor.999").tables["acknowledgments"]
    acked = read_x12(X12 / "frontdoor.277", "frontdoor.277").tables["acknowledged_claims"]
    read = acknowledged_837s(claims.lazy(), acks, acked).collect()
    assert sorted(read["patient_control_number"]) == ["FD1001", "FD1002", "FD2001"]  # the whole group
    assert set(read["group_control_number"]) == {"000000401"}
