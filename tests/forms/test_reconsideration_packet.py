"""Level I / Level II packets: right identifiers, a drafted reason and checklist per category."""
from __future__ import annotations

import logging
from pathlib import Path
from datetime import date

import polars as pl
import pytest

from claimback.codes import CATEGORIES
from claimback.forms import (
    attachments,
    draft_reason,
    load_wording,
    write_reconsideration_packet,
    write_reconsideration_packets,
)
from claimback.forms.reconsideration import to_confirm
from claimback.schema import conform
from tests.forms.conftest import pdf_text, render_png
from tests.test_trends import denial, frame

LEVEL1 = {"reference_number": "RC-2026-0917", "submitted_on": date(2026, 9, 1),
          "decided_on": date(2026, 10, 1), "outcome": "upheld"}


@pytest.fixture
def claim() -> dict:
    row = denial(service_date=date(2026, 8, 14), remit_date=date(2026, 8, 30), charge_amount=210.0,
                 denied_amount=210.0)
    return dict(row, patient_last_name="DOE", patient_first_name="JANE", member_id="M99887766")


def test_level1_packet_carries_identifiers_reason_and_checklist(tmp_path, claim, provider, caplog):
    caplog.set_level(logging.DEBUG)
    path = write_reconsideration_packet(claim, provider, tmp_path, level=1)
    assert render_png(path).is_file()
    text = pdf_text(path)
    assert "Level I - Request for Reconsideration" in text
    for value in (claim["patient_control_number"], claim["payer_claim_control_number"], "2026-08-14",
                  "$210.00", "CO-197", "N54", "1999999984", "91-1234567", "COORDINATED CARE"):
        assert value in text, value
    assert "DOE, JANE" in text and "M99887766" in text  # goes to the payer: allowed on the form
    assert "authorization" in text.lower()
    assert "Copy of the authorization approval" in text
    assert "Level I reference number" not in text
    assert "DOE" not in caplog.text and "M99887766" not in caplog.text
    assert "DOE" not in path.name and claim["payer_claim_control_number"] in path.name


def test_level2_packet_cites_level1_request_and_decision(tmp_path, claim, provider):
    path = write_reconsideration_packet(claim, provider, tmp_path, level=2, level1=LEVEL1)
    text = pdf_text(path)
    assert "Level II - Claim Dispute" in text
    assert "RC-2026-0917" in text and "upheld" in text and "2026-10-01" in text
    assert "Level I decision letter" in text
    assert path.name.startswith("level2_")


@pytest.mark.parametrize("category, reason_word, attachment", [
    ("timely_filing", "for timely filing", "Clearinghouse acceptance report"),
    ("medical_necessity", "medically necessary", "Medical records"),
    ("coding_bundling", "coding or bundling edit", "NCCI edit table"),
    ("something_new", "(Describe why.)", "Supporting documentation"),
])
def test_reason_and_attachments_follow_category(claim, category, reason_word, attachment):
    claim = dict(claim, category=category)
    assert reason_word in draft_reason(claim)
    assert any(item.startswith(attachment) for item in attachments(claim))


def test_draft_fills_claim_fields_and_marks_missing_ones(claim):
    text = draft_reason(dict(claim, payer_claim_control_number=None, remark_codes=[]))
    assert "(fill in)" in text and "2026-08-14" in text and "CO-197" in text
    assert "remark" not in text and "  " not in text


def test_level2_without_level1_details_asks_for_them(claim):
    text = draft_reason(claim, level=2)
    assert "reference (fill in)" in text


def test_the_draft_asserts_only_what_the_claim_data_shows(claim):
    # claimback cannot know a benefit limit was not reached, nor that records support a service:
    # those go on the "confirm before sending" list, never into the paragraph sent to the payer.
    limit = dict(claim, category="non_covered_benefit_limit")
    assert "had not been reached" not in draft_reason(limit)
    assert any("had not been reached" in item for item in to_confirm(limit))
    # what the 837 shows is stated: the authorization number the claim carried
    auth = draft_reason(dict(claim, prior_authorization="PA-77"))
    assert "The claim as sent carried authorization number PA-77." in auth
    assert "was on file" not in draft_reason(claim)
    for category, entry in load_wording()["categories"].items():
        assert entry.get("confirm") and all(isinstance(item, str) for item in entry["confirm"]), category


def test_wording_override_replaces_one_category(tmp_path, claim):
    override = tmp_path / "wording.yaml"
    override.write_text("categories:\n  authorization:\n    reason: Auth {payer_claim_control_number} was valid.\n"
                        "    attachments: [Auth letter]\n")
    wording = load_wording(override)
    assert draft_reason(claim, wording=wording) == f"Auth {claim['payer_claim_control_number']} was valid."
    assert "Auth letter" in attachments(claim, wording=wording)
    assert "for timely filing" in draft_reason(dict(claim, category="timely_filing"), wording=wording)


def test_level_must_be_one_or_two(tmp_path, claim, provider):
    with pytest.raises(ValueError):
        write_reconsideration_packet(claim, provider, tmp_path, level=3)


def test_every_denial_category_has_its_own_wording():
    categories = load_wording()["categories"]
    missing = [c for c in CATEGORIES if c != "unknown" and c not in categories]
    assert missing == []
    for entry in categories.values():
        assert entry["reason"].strip() and entry["attachments"]


def test_batch_writes_level1_and_level2_packets_from_the_work_queue(tmp_path, provider):
    rows = [denial(), denial(), denial(), denial()]
    queue = pl.DataFrame({
        "claim_key": [r["claim_key"] for r in rows],
        "route": ["level1_reconsideration", "level2_dispute", "corrected_claim", "level1_reconsideration"],
        "priority": [0.2, 0.9, 1.0, 0.5],
    })
    log = conform(pl.DataFrame([
        dict(LEVEL1, patient_control_number=rows[1]["patient_control_number"], level=1,
             payer_claim_control_number="OLD-ICN", reference_number="RC-OLD"),
        dict(LEVEL1, patient_control_number=rows[1]["patient_control_number"], level=1,
             payer_claim_control_number=rows[1]["payer_claim_control_number"]),
    ]), "reconsiderations")
    remit = pl.DataFrame({"claim_key": [rows[1]["claim_key"]], "patient_last_name": ["ROE"],
                          "patient_first_name": ["RICHARD"], "member_id": ["M555"]})
    decided = write_reconsideration_packets(queue, frame(rows), provider, tmp_path,
                                            reconsiderations=log, remit_claims=remit, max_packets=2)
    # every Level I / II request has a row saying whether and why; the corrected claim has none
    assert decided["claim_key"].to_list() == [rows[1]["claim_key"], rows[3]["claim_key"], rows[0]["claim_key"]]
    assert decided["status"].to_list() == ["written", "written", "not_written"]
    assert decided["why"][2] == "not written: beyond tonight's 2 highest-priority requests"
    assert decided["pdf_path"][2] is None
    packets = decided.filter(pl.col("status") == "written")
    assert packets["route"].to_list() == ["level2_dispute", "level1_reconsideration"]
    dispute = pdf_text(packets["pdf_path"][0])
    assert "RC-2026-0917" in dispute and "RC-OLD" not in dispute
    assert "ROE, RICHARD" in dispute and "M555" in dispute
    assert "ROE" not in " ".join(packets.select(pl.all().cast(pl.String)).rows()[0])


def test_a_request_without_a_packet_names_the_practice_as_its_claim_does(tmp_path, provider):
    """The rows of requests not drawn tonight carry the billing NPI and TIN ProviderProfile reads
    from their claim (trimmed; none where it would print "(fill in)"), in the queue's order."""
    identities = [(" 1234567893 ", "91-1234567"), ("", "  "), (None, None), ("1234567893", "(fill in)")]
    rows = [denial() for _ in identities]
    queue = pl.DataFrame({"claim_key": [r["claim_key"] for r in rows], "route": ["level1_reconsideration"] * 4,
                          "priority": [0.4, 0.3, 0.9, 0.2]})
    denials = frame(rows).with_columns(  # as claim_facts.packet_facts gives them
        provider_npi=pl.Series([npi for npi, _ in identities]), provider_tin=pl.Series([tin for _, tin in identities]))
    decided = write_reconsideration_packets(queue, denials, provider, tmp_path, max_packets=1)
    assert decided["claim_key"].to_list() == [rows[i]["claim_key"] for i in (2, 0, 1, 3)]
    assert decided["status"].to_list() == ["written", "not_written", "not_written", "not_written"]
    assert decided.slice(1).select("billing_npi", "billing_tin").rows() == [
        ("1234567893", "91-1234567"), (None, None), ("1234567893", None)]
    assert decided["pdf_path"].null_count() == 3 and decided["content_sha256"].null_count() == 3


def test_packets_drawn_in_worker_processes_are_the_same_files_as_drawn_here(tmp_path, provider):
    from claimback.forms import pdf

    rows = [denial() for _ in range(4)]
    queue = pl.DataFrame({
        "claim_key": [r["claim_key"] for r in rows],
        "route": ["level1_reconsideration", "level2_dispute"] * 2,
        "priority": [0.4, 0.3, 0.2, 0.1],
    })

    def draw(folder, processes):
        return write_reconsideration_packets(queue, frame(rows), provider, tmp_path / folder,
                                             drawing=pdf.Drawing(processes=processes, from_packets=2))

    here, workers = draw("here", 1), draw("workers", 2)
    assert here["route"].to_list() == ["level1_reconsideration", "level2_dispute"] * 2
    assert here.drop("pdf_path").equals(workers.drop("pdf_path"))
    for a, b in zip(here["pdf_path"], workers["pdf_path"]):
        assert Path(a).name == Path(b).name and Path(a).read_bytes() == Path(b).read_bytes()


def test_a_packet_is_redrawn_only_when_its_content_changes_and_removed_when_no_longer_due(tmp_path, provider):
    rows = [denial(), denial()]
    queue = pl.DataFrame({"claim_key": [r["claim_key"] for r in rows],
                          "route": ["level1_reconsideration"] * 2, "priority": [0.5, 0.4],
                          "days_left": [30, 30]})
    first = write_reconsideration_packets(queue, frame(rows), provider, tmp_path)
    paths = [Path(p) for p in first["pdf_path"]]
    stamps = [p.stat().st_mtime_ns for p in paths]
    # next night: days_left moved, nothing printed changed -> same files, untouched
    again = write_reconsideration_packets(queue.with_columns(pl.col("days_left") - 1), frame(rows), provider,
                                          tmp_path, previous=first)
    assert again.equals(first) and [p.stat().st_mtime_ns for p in paths] == stamps
    # the second claim's Level I was filed since: its packet goes, the first one's stays
    filed = queue.with_columns(awaiting_payer=pl.Series([False, True]))
    third = write_reconsideration_packets(filed, frame(rows), provider, tmp_path, previous=again)
    assert third["status"].to_list() == ["written", "not_written"]
    assert paths[0].is_file() and not paths[1].exists()
    # a printed fact changed (the denied amount): the packet is drawn again
    changed = frame(rows).with_columns(pl.lit(99.0).cast(pl.Decimal(12, 2)).alias("denied_amount"))
    write_reconsideration_packets(filed, changed, provider, tmp_path, previous=third)
    assert paths[0].stat().st_mtime_ns != stamps[0] and "$99.00" in pdf_text(paths[0])


def test_packet_files_and_folder_are_owner_only(tmp_path, claim, provider):
    path = write_reconsideration_packet(claim, provider, tmp_path / "out", level=1)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_routing_evidence_reads_as_a_sentence_not_json():
    from claimback.forms.reconsideration import evidence_sentence, why_routed

    evidence = '{"rule":"authorization_on_file","prior_authorization":"AUTH555","authorization_level":"line"}'
    assert evidence_sentence(evidence) == ("Facts behind this route (authorization on file): prior authorization "
                                           "AUTH555; authorization level line.")
    assert evidence_sentence('{"rule":"level1_filed"}') == "" and evidence_sentence(None) == ""
    assert why_routed({"reason": "Denied CO-197 although AUTH555 was on the claim.", "evidence": evidence}) == [
        "Denied CO-197 although AUTH555 was on the claim.", evidence_sentence(evidence)]


def test_a_line_level_authorization_prints_when_the_claim_level_one_is_absent():
    from claimback.forms.claim_facts import packet_facts

    denied = pl.DataFrame({"claim_key": ["R1", "R2"], "submitted_claim_key": ["S1", "S2"]})
    submitted = pl.DataFrame({"claim_key": ["S1", "S2"], "prior_authorization": [None, "CLAIM-AUTH"]},
                             schema_overrides={"prior_authorization": pl.String})
    lines = pl.DataFrame({"claim_key": ["S1", "S1", "S2"], "line_number": [1, 2, 1],
                          "procedure_code": ["97110", "97140", "99213"], "modifiers": [["GP"], [], []],
                          "prior_authorization": ["LINE-AUTH-1", None, "LINE-AUTH-2"]})
    facts = {r["claim_key"]: r for r in packet_facts(denied, submitted, submitted_service_lines=lines)
             .iter_rows(named=True)}
    assert facts["R1"]["prior_authorization"] == "LINE-AUTH-1"
    assert facts["R2"]["prior_authorization"] == "CLAIM-AUTH"  # the claim's own wins
    assert facts["R1"]["billed_procedures"] == ["97110-GP", "97140"] and facts["R1"]["has_837"]
