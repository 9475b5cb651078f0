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
    ("timely_filing", "filing limit", "Clearinghouse acceptance report"),
    ("medical_necessity", "medically necessary", "Medical records"),
    ("coding_bundling", "NCCI", "NCCI edit table"),
    ("something_new", "processed in error", "Supporting documentation"),
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


def test_wording_override_replaces_one_category(tmp_path, claim):
    override = tmp_path / "wording.yaml"
    override.write_text("categories:\n  authorization:\n    reason: Auth {payer_claim_control_number} was valid.\n"
                        "    attachments: [Auth letter]\n")
    wording = load_wording(override)
    assert draft_reason(claim, wording=wording) == f"Auth {claim['payer_claim_control_number']} was valid."
    assert "Auth letter" in attachments(claim, wording=wording)
    assert "filing limit" in draft_reason(dict(claim, category="timely_filing"), wording=wording)


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
    packets = write_reconsideration_packets(queue, frame(rows), provider, tmp_path,
                                            reconsiderations=log, remit_claims=remit, max_packets=2)
    assert packets["route"].to_list() == ["level2_dispute", "level1_reconsideration"]
    assert packets["claim_key"].to_list() == [rows[1]["claim_key"], rows[3]["claim_key"]]
    dispute = pdf_text(packets["pdf_path"][0])
    assert "RC-2026-0917" in dispute and "RC-OLD" not in dispute
    assert "ROE, RICHARD" in dispute and "M555" in dispute
    assert "ROE" not in " ".join(packets.select(pl.all().cast(pl.String)).rows()[0])


def test_packets_drawn_in_worker_processes_are_the_same_files_as_drawn_here(tmp_path, provider, monkeypatch):
    from claimback.forms import pdf

    rows = [denial() for _ in range(4)]
    queue = pl.DataFrame({
        "claim_key": [r["claim_key"] for r in rows],
        "route": ["level1_reconsideration", "level2_dispute"] * 2,
        "priority": [0.4, 0.3, 0.2, 0.1],
    })

    def draw(folder, processes):
        monkeypatch.setattr(pdf, "DRAW_PROCESSES", processes)
        monkeypatch.setattr(pdf, "DRAW_IN_PROCESSES_FROM", 2)
        return write_reconsideration_packets(queue, frame(rows), provider, tmp_path / folder)

    here, workers = draw("here", 1), draw("workers", 2)
    assert here["route"].to_list() == ["level1_reconsideration", "level2_dispute"] * 2
    assert here.drop("pdf_path").equals(workers.drop("pdf_path"))
    for a, b in zip(here["pdf_path"], workers["pdf_path"]):
        assert Path(a).name == Path(b).name and Path(a).read_bytes() == Path(b).read_bytes()
