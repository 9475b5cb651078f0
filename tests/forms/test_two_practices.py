"""Packets of a two-practice inbox, read back from the PDFs: every printed NPI, TIN, date of birth,
date of service and authorization number is the claim's own 837's; nothing the 837 holds prints
"(fill in)"; no packet for a request awaiting the payer or a dispute process already exhausted;
the trend packet is one practice's. The inbox is hand-written: tests/forms/two_practices.py."""
from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import polars as pl
import pytest

from claimback.forms.pdf import FILL_IN
from claimback.publish import DATABASE_NAME
from pipelines.cli import run_pipeline
from tests.forms.conftest import pdf_text
from tests.forms.two_practices import (
    AS_OF, CLAIMS_837, FORMULA, PRACTICE_A, PRACTICE_B, rules_with_threshold, write_inbox,
)

pytestmark = pytest.mark.slow
RUN_MESSAGES: list[str] = []


class _Messages(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("two_practices")
    inbox = write_inbox(root / "inbox")
    profile = root / "providers.yaml"
    profile.write_text("providers:\n  - tin: '92-0000001'\n    contact_name: Lee Park\n    phone: 253-555-0300\n")
    said = _Messages()
    logging.getLogger("claimback").addHandler(said)
    try:
        result = run_pipeline(inbox, root / "warehouse", AS_OF,
                              payer_rules=rules_with_threshold(root / "rules.yaml"), provider_profile=profile)
    finally:
        logging.getLogger("claimback").removeHandler(said)
    assert result.success
    RUN_MESSAGES[:] = said.messages
    with duckdb.connect(str(root / "warehouse" / DATABASE_NAME), read_only=True) as con:
        tables = {name: con.sql(f"SELECT * FROM {name}").pl()
                  for name in ("request_packets", "trend_packets", "trend_clusters", "work_queue")}
    return root / "warehouse", tables


def test_only_the_requests_that_should_go_out_get_a_packet(run):
    warehouse, tables = run
    packets = {r["patient_control_number"]: r for r in tables["request_packets"].iter_rows(named=True)}
    assert {k: (v["status"], v["level"]) for k, v in packets.items()} == {
        "A-1001": ("written", 1), "B-2001": ("written", 2),
        "A-1002": ("not_written", 1), "B-2002": ("not_written", 2),
    }
    assert packets["A-1002"]["why"] == "not written: already filed, awaiting the payer's decision"
    assert "exhausted" in packets["B-2002"]["why"]
    files = sorted(p.name for p in (warehouse / "packets" / "requests").iterdir())
    assert files == ["level1_CCW-ICN-1001.pdf", "level2_CCW-ICN-2001.pdf"]


@pytest.mark.parametrize("pcn", ["A-1001", "B-2001"])
def test_every_printed_identifier_is_the_claims_own_837s(run, pcn):
    warehouse, tables = run
    row = tables["request_packets"].filter(pl.col("patient_control_number") == pcn).row(0, named=True)
    text = pdf_text(warehouse / row["pdf_path"])
    claim = CLAIMS_837[pcn]
    mine, other = claim["practice"], (PRACTICE_B if claim["practice"] is PRACTICE_A else PRACTICE_A)
    assert (row["billing_npi"], row["billing_tin"]) == (mine["npi"], mine["tin"])
    for value in (mine["name"], mine["npi"], mine["tin"], mine["address"], claim["dob"], claim["dos"],
                  claim["auth"], claim["member"], claim["member_id"]):
        assert value in text, value
    for value in (other["npi"], other["tin"], other["name"]):
        assert value not in text, value
    assert claim["referral"] is None or claim["referral"] in text
    assert FILL_IN not in text  # nothing the 837 (or the log, for a Level II) holds is left blank


def test_contact_lines_come_from_the_837_per_or_the_practices_profile(run):
    warehouse, tables = run
    paths = dict(tables["request_packets"].select("patient_control_number", "pdf_path").drop_nulls().iter_rows())
    a, b = pdf_text(warehouse / paths["A-1001"]), pdf_text(warehouse / paths["B-2001"])
    assert PRACTICE_A["contact"] in a and "253-555-0100" in a and PRACTICE_A["email"] in a
    assert "CLEARINGHOUSE DESK" not in a and "12 ELM ST" not in a  # submitter's and member's, not 2010AA
    assert "Lee Park" in b and "253-555-0300" in b and "Lee Park" not in a


def test_level2_cites_the_level1_and_the_patients_own_birth_date(run):
    warehouse, tables = run
    path = tables["request_packets"].filter(pl.col("patient_control_number") == "B-2001")["pdf_path"].item()
    text = pdf_text(warehouse / path)
    assert "RC-B2001" in text and "2026-10-16" in text and "2026-10-20" in text and "upheld" in text
    assert "1980-01-01" not in text  # the subscriber (her father) is not the patient


def test_the_level1_lists_each_denied_line_and_where_to_send_it(run):
    warehouse, tables = run
    path = tables["request_packets"].filter(pl.col("patient_control_number") == "A-1001")["pdf_path"].item()
    text = pdf_text(warehouse / path)
    assert "97110-GP" in text and "$150.00" in text and "CO-204" in text
    assert "97140" not in text.split("Denied lines")[1].split("What the remittances")[0]  # paid line
    assert "Secure Provider Portal" in text and "coordinatedcarehealth.com" in text
    assert "M545" in text and "253-555-0100" in text  # 837 HI diagnosis; PER phone as people write it


def test_one_trend_packet_for_one_practice_never_the_two_summed(run):
    warehouse, tables = run
    flagged = tables["trend_clusters"].filter(pl.col("status") == "flagged")
    assert flagged.select("billing_tin", "billing_npi", "claim_count").rows() == [
        (PRACTICE_A["tin"], PRACTICE_A["npi"], 3)]
    packet = tables["trend_packets"].row(0, named=True)
    text = pdf_text(warehouse / packet["pdf_path"])
    assert "Claim Trend Identification" in text and "CoordinatedCareProvi@Centene.com" in text
    assert PRACTICE_A["npi"] in text and PRACTICE_A["tin"] in text and PRACTICE_A["address"] in text
    assert PRACTICE_B["npi"] not in text and "B-2003" not in text
    assert "past the Level I window" in text
    for name in ("HARBOR", "LANE", "NASH", "1985-01-01"):
        assert name not in text


def test_the_trend_csv_neutralises_formulas_and_packets_are_owner_only(run):
    warehouse, tables = run
    csv = warehouse / tables["trend_packets"]["csv_path"].item()
    cells = pl.read_csv(csv, infer_schema_length=0)["payer_claim_control_number"].to_list()
    assert "'" + FORMULA in cells and FORMULA not in cells
    assert sorted(pl.read_csv(csv, infer_schema_length=0)["patient_control_number"]) == ["A-1003", "A-1004", "A-1005"]
    folders = [warehouse / "packets", warehouse / "packets" / "trends", warehouse / "packets" / "requests"]
    assert all(f.stat().st_mode & 0o777 == 0o700 for f in folders)
    files = [p for f in folders[1:] for p in f.iterdir()]
    assert files and all(p.stat().st_mode & 0o777 == 0o600 for p in files)
    assert not [p for p in files if p.name.endswith(".tmp")]


def test_a_practice_without_a_profile_is_said_once_per_run_without_patient_data(run):
    missing = [m for m in RUN_MESSAGES if m.startswith("no provider profile")]
    assert len(missing) == 1, missing
    assert PRACTICE_A["npi"] in missing[0] and PRACTICE_B["npi"] not in missing[0]  # B has a profile
    for name in ("HARBOR", "CCW1001", "1970-03-15"):
        assert not any(name in m for m in RUN_MESSAGES)
