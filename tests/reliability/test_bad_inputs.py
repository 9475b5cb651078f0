"""A bad input never outlives its file.

Each case is a hand-written 835 (tests/x12/synthetic.py's REMIT_1 / REMIT_2, one element changed)
or an inbox entry a hostile or careless user could leave. What must hold: the file's bad
transaction set is quarantined with a reason naming the segment and element (or the value is
left empty with an error finding), the rest of the inbox loads, the run succeeds, and the next
run without the file publishes too. Before, a NULL remit date failed the blocking check
`routes_are_valid` for good, a NULL amount balanced against zero without a word, and one odd
inbox entry (a link loop, a name that is not UTF-8, an unreadable file or folder, a 200 KiB CSV
cell) crashed the whole run.
"""
from __future__ import annotations

import logging
import os
import shutil

import polars as pl
import pytest

from claimback import inbox as inbox_module
from claimback.lake import Lake
from claimback.x12 import read_x12
from tests.reliability.harness import AS_OF, published_tables, step_failures
from tests.x12.synthetic import REMIT_1, REMIT_2, interchange, render

BPR_2024_01_15 = "BPR*I*7.50*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20240115"
# REMIT_1: check CHK0001, BPR16 2024-01-15, DTM*405 2024-01-12, GS04 20240115; claims PCN001
# (paid, CLP03 200), PCN002 (CLP02 4, CAS*CO*197*100: a denial) and PCN003 (reversal of PCN001).
# REMIT_2 (its own transaction set, ST 0002): PCN004, paid.
STRICT = "an optional minus sign, digits and one decimal point, at most 99999999.99"


def remit(first_set: list[str], gs04: str = "20240115") -> bytes:
    segments = interchange([("835", first_set), ("835", REMIT_2)])
    return render([s.replace("*20240115*1200*7*", f"*{gs04}*1200*7*") if s.startswith("GS*") else s
                   for s in segments])


def changed(old: str, new: str) -> list[str]:
    out = [new if s == old else s for s in REMIT_1]
    assert out != REMIT_1, old
    return out


def loaded_claims(parsed) -> list[str]:
    return sorted(parsed.tables["remit_claims"]["patient_control_number"].to_list())


# --- amounts: data element 782 is type R (005010X221A1 Appendix B.1.1.3.1.2) --------------------
@pytest.mark.parametrize("sent", ["1,250.00", "$125.00", "10000000000.00", "ABC", "1.005", "+100", "1E2"])
@pytest.mark.parametrize("segment, element, new", [
    # CLP03, the claim's charge: CLP03 - CLP04 must equal its CAS amounts
    ("CLP*PCN002*4*100*0*0*12*PAYERCLM002*11*1", "CLP03", "CLP*PCN002*4*{}*0*0*12*PAYERCLM002*11*1"),
    # CAS03 of the CO-197 denial: a NULL here used to drop the claim out of denials without a word
    ("CAS*CO*197*100", "CAS03", "CAS*CO*197*{}"),
    # SVC03, the line's payment
    ("SVC*HC:99213:25:59*200*120**1", "SVC03", "SVC*HC:99213:25:59*200*{}**1"),
    # PLB04, a provider-level adjustment: BPR02 = claim payments - PLB amounts
    ("PLB*1234567893*20241231*WO:ABC123*-10*L6*2.50", "PLB04", "PLB*1234567893*20241231*WO:ABC123*{}*L6*2.50"),
])
def test_an_amount_the_balances_depend_on_quarantines_its_transaction_set(sent, segment, element, new):
    parsed = read_x12(remit(changed(segment, new.format(sent))), "bad-amount.835")
    assert loaded_claims(parsed) == ["PCN004"]  # the other transaction set loads
    quarantine = parsed.tables["quarantine"]
    assert quarantine.select("location", "error").rows() == [(
        "ISA 000000101 / ST 0001, segment 3, byte 159",
        f"transaction set not loaded: {element} '{sent}' is not an X12 amount ({STRICT})")]
    assert parsed.transactions == 1 and parsed.quarantined == 1


@pytest.mark.parametrize("sent", ["0", "-200", "200.5", "0200.00", ".5", "99999999.99", "000000000"])
def test_amounts_in_the_x12_form_load(sent):
    parsed = read_x12(remit(changed("CLP*PCN002*4*100*0*0*12*PAYERCLM002*11*1",
                                    f"CLP*PCN002*4*{sent}*0*0*12*PAYERCLM002*11*1")), "ok.835")
    assert parsed.tables["quarantine"].is_empty()
    charge = parsed.tables["remit_claims"].filter(pl.col("patient_control_number") == "PCN002")["charge_amount"]
    assert str(charge.item()) == f"{float(sent):.2f}"


def test_an_amount_no_balance_depends_on_is_left_empty_with_an_error_finding():
    # CLP05 (patient responsibility) and AMT*AU (allowed) are reported, not balanced
    bad = changed("CLP*PCN001*1*200*120*30*12*PAYERCLM001*11*1", "CLP*PCN001*1*200*120*$30*12*PAYERCLM001*11*1")
    bad = [("AMT*AU*1,50" if s == "AMT*AU*150" else s) for s in bad]
    parsed = read_x12(remit(bad), "odd.835")
    assert parsed.tables["quarantine"].is_empty() and loaded_claims(parsed) == ["PCN001", "PCN002", "PCN003", "PCN004"]
    pcn001 = parsed.tables["remit_claims"].filter(pl.col("patient_control_number") == "PCN001")
    assert pcn001.select("patient_responsibility_amount", "allowed_amount").rows() == [(None, None)]
    findings = parsed.tables["validation_findings"].filter(pl.col("rule") == "invalid_value")
    assert sorted(findings.select("severity", "message", "claim_key").rows()) == [
        ("error", f"AMT02 (AMT*AU) '1,50' is not an X12 amount ({STRICT})", pcn001["claim_key"].item()),
        ("error", f"CLP05 '$30' is not an X12 amount ({STRICT})", pcn001["claim_key"].item()),
    ]


def test_a_claim_without_its_patient_control_number_is_not_loaded():
    # CLP01 is the key every later stage joins on; the blocking structure check would stop every run
    parsed = read_x12(remit(changed("CLP*PCN002*4*100*0*0*12*PAYERCLM002*11*1", "CLP**4*100*0*0*12*PAYERCLM002*11*1")),
                      "no-key.835")
    assert loaded_claims(parsed) == ["PCN004"]
    assert parsed.tables["quarantine"]["error"].to_list() == [
        "transaction set not loaded: CLP01 (patient control number) is empty"]


# --- remit dates: BPR16, else DTM*405, else GS04 ----------------------------------------------
@pytest.mark.parametrize("bad_date", ["20261399", "00000000", "99991231"])
def test_a_transaction_set_with_no_valid_remit_date_is_quarantined(bad_date):
    first = changed(BPR_2024_01_15, BPR_2024_01_15.replace("20240115", bad_date))
    first = [s.replace("DTM*405*20240112", f"DTM*405*{bad_date}") for s in first]
    parsed = read_x12(remit(first, gs04=bad_date), "bad-date.835")
    errors = parsed.tables["quarantine"]["error"].to_list()
    assert errors == [(
        f"transaction set not loaded: no valid remit date: BPR16 '{bad_date}', DTM*405 '{bad_date}', "
        f"GS04 '{bad_date}' (a date CCYYMMDD in 1990-2199 is needed to order the claim's adjudications and start "
        "its filing windows)")]
    assert loaded_claims(parsed) == ["PCN004"]  # REMIT_2's own BPR16 (20240116) is a date


def test_a_bad_bpr16_falls_back_to_dtm405_with_a_finding():
    parsed = read_x12(remit(changed(BPR_2024_01_15, BPR_2024_01_15.replace("20240115", "20261399"))), "late.835")
    assert parsed.tables["quarantine"].is_empty()
    dates = parsed.tables["remit_claims"].group_by("transaction_ordinal").agg(pl.col("remit_date").first()).sort(
        "transaction_ordinal")["remit_date"].cast(pl.String).to_list()
    assert dates == ["2024-01-12", "2024-01-16"]  # DTM*405 of set 1; set 2's own BPR16
    assert parsed.tables["validation_findings"].filter(pl.col("rule") == "invalid_value")["message"].to_list() == [
        "BPR16 '20261399' is not a date CCYYMMDD in 1990-2199; the remit date 2024-01-12 comes from the next of "
        "BPR16, DTM*405, GS04"]


# --- the whole run: every bad input at once, then the next night without them ---------------
HEADER = "patient_control_number,payer_claim_control_number,level,submitted_on,reference_number,outcome,decided_on\n"


class _Unreadable:
    """Entries that cannot be read. chmod 000 does it for an ordinary account; root reads
    anything, so for root the same error is raised where claimback opens or lists them."""

    def __init__(self, monkeypatch):
        self.paths: set[str] = set()
        self._monkeypatch = monkeypatch
        sha256_of, scandir = inbox_module.sha256_of, os.scandir

        def guarded_sha256(path):
            if str(path) in self.paths:
                raise PermissionError(13, "Permission denied", str(path))
            return sha256_of(path)

        def guarded_scandir(path="."):
            if str(path) in self.paths:
                raise PermissionError(13, "Permission denied", str(path))
            return scandir(path)

        if os.geteuid() == 0:
            monkeypatch.setattr(inbox_module, "sha256_of", guarded_sha256)
            monkeypatch.setattr(inbox_module.os, "scandir", guarded_scandir)

    def add(self, path):
        self.paths.add(str(path.resolve()))
        os.chmod(path, 0)


def bad_inbox(root, unreadable: _Unreadable):
    """Good files (two hand-written 835s and a log) plus one of every bad entry; returns the
    inbox and the names of the bad entries."""
    inbox = root / "inbox"
    (inbox / "sub").mkdir(parents=True)
    (inbox / "good.835").write_bytes(remit(REMIT_1))
    (inbox / "sub" / "good-too.835").write_bytes(render(interchange([("835", REMIT_2)], control="000000777")))
    (inbox / "reconsiderations.csv").write_text(HEADER + "PCN002,PAYERCLM002,1,2024-02-01,REF1,,\n")
    bad = {
        "bad-date.835": remit([s.replace("DTM*405*20240112", "DTM*405*00000000") for s in changed(
            BPR_2024_01_15, BPR_2024_01_15.replace("20240115", "20261399"))], "00000000"),
        "bad-amount.835": remit(changed("CAS*CO*197*100", "CAS*CO*197*1,250.00")),
        "huge-reconsiderations.csv": (HEADER + "PCN1,ICN1,1,2024-02-01," + "x" * 200_000 + ",,\n"
                                      + "PCN2,ICN2,1,2024-02-01,REF2,,\n").encode(),
        "quote-reconsiderations.csv": (HEADER + 'PCN1,ICN1,1,2024-02-01,"REF1,,\nPCN2,ICN2,1,2024-02-01,REF2,,\n').encode(),
        ".hidden.835": remit(REMIT_1),
    }
    for name, data in bad.items():
        (inbox / name).write_bytes(data)
    (inbox / "unreadable.835").write_bytes(remit(REMIT_1))  # made readable again for the next night
    unreadable.add(inbox / "unreadable.835")
    (inbox / "locked").mkdir()
    (inbox / "locked" / "inside.835").write_bytes(remit(REMIT_1))
    unreadable.add(inbox / "locked")
    os.symlink("loop-b", inbox / "loop-a")
    os.symlink("loop-a", inbox / "loop-b")
    os.mkfifo(inbox / "pipe.835")
    weird = os.fsencode(inbox) + b"/latin1-\xe9.835"  # not UTF-8
    with open(weird, "wb") as handle:
        handle.write(remit(REMIT_1))
    return inbox, [*bad, "locked", "loop-a", "loop-b", "pipe.835", os.fsdecode(b"latin1-\xe9.835")]


@pytest.mark.slow
def test_every_bad_input_at_once_loads_the_rest_and_the_next_run_without_them_publishes(tmp_path, monkeypatch,
                                                                                        caplog):
    from pipelines.cli import run_pipeline

    unreadable = _Unreadable(monkeypatch)
    inbox, bad = bad_inbox(tmp_path, unreadable)
    warehouse = tmp_path / "warehouse"
    with caplog.at_level(logging.WARNING, "claimback"):
        first = run_pipeline(inbox, warehouse, AS_OF)
    assert first.success, step_failures(first)
    lake = Lake(warehouse)
    assert set(lake.read("ingested_files")["source_file"]) == {"good.835", "sub/good-too.835", "reconsiderations.csv", "bad-date.835",
                           "bad-amount.835", "huge-reconsiderations.csv", "quote-reconsiderations.csv"}
    quarantined = set(lake.read("quarantine").select("source_file", "error").iter_rows())
    assert any(f == "bad-date.835" and "no valid remit date: BPR16 '20261399'" in e for f, e in quarantined)
    assert any(f == "bad-amount.835" and "CAS03 '1,250.00' is not an X12 amount" in e for f, e in quarantined)
    for warning in ("1 inbox entry was skipped: names starting with a dot", "2 inbox entries were not followed: "
                    "the link leads round in a loop", "1 inbox entry was skipped: not a regular file (a FIFO",
                    "1 inbox entry was skipped: the folder cannot be listed", "1 inbox entry was skipped: the file "
                    "name is not valid UTF-8", "1 inbox entry was skipped: the file cannot be read"):
        assert warning in caplog.text
    problems = pl.read_parquet(warehouse / "lake" / "derived" / "reconsideration_log_problems.parquet")
    assert sorted(problems.select("source_file", "line_number").rows()) == [
        ("huge-reconsiderations.csv", 2), ("quote-reconsiderations.csv", 2)]
    logged = set(lake.read("reconsiderations")["patient_control_number"])
    assert {"PCN002", "PCN2"} <= logged  # the rows after the bad ones are read
    claims = lake.read("remit_claims")
    assert sorted(claims["patient_control_number"]) == ["PCN001", "PCN002", "PCN003", "PCN004"]  # REMIT_2 once
    assert claims["claim_key"].n_unique() == claims.height

    # the next night: the bad entries gone (or fixed), the run publishes
    for name in bad:
        path = inbox / name
        if path.is_dir() and not path.is_symlink():
            os.chmod(path, 0o700)
            shutil.rmtree(path)
        else:
            path.unlink()
    (inbox / "unreadable.835").chmod(0o600)
    unreadable.paths.clear()
    second = run_pipeline(inbox, warehouse, AS_OF)
    assert second.success, step_failures(second)
    again = set(lake.read("ingested_files")["source_file"])
    assert "unreadable.835" in again  # read as soon as it can be (a duplicate of good.835's bytes)
