"""Each routing case of issue 15 as a hand-written inbox (837 + 835 + reconsiderations.csv).

Every case lives in its own folder of one inbox (its own members, procedures and claim numbers,
so no case sees another's claims); the inbox goes through the real ingest, denials and routing
stages once. The expected route, evidence rule and reason words are written by hand from the
X12 code texts and the payer rules they cite.
"""
from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from .route_inbox import work_queue_of
from .x12_inbox import Claim837, Remit, claims_837, remit_835, write

AS_OF = dt.date(2026, 3, 1)
SUN, SUN_ID = "SUNSHINE HEALTH", "SUNSH"  # Level I 90 days from the original EOP (confirmed)
LOG_HEADER = "patient_control_number,payer_claim_control_number,level,submitted_on,reference_number,outcome,decided_on\n"


_CONTROLS = iter(range(300, 1000))


def _case(root, name, claims, remits, log_rows="", payer=(SUN, SUN_ID), sent="20260108", paid="20260201"):
    # each file its own interchange control and check number: one payment, one remit
    folder = root / name
    write(folder, "claims.837", claims_837(*payer, claims, sent, f"{next(_CONTROLS):09d}"))
    write(folder, "remit.835", remit_835(*payer, remits, paid, f"{next(_CONTROLS):09d}"))
    write(folder, "reconsiderations.csv", LOG_HEADER + log_rows)


def _denied(pcn, member, procedure, *adjustments, remarks=(), status="1", date="20260105"):
    return Remit(pcn, f"{pcn}-ICN", member, date, procedure, status=status,
                 adjustments=list(adjustments), remarks=list(remarks))


def build_inbox(root):
    # Coverage dates: CO-27 "expenses incurred after coverage terminated" -> the coverage in force
    # on the date of service is another payer's: rebill it (not a corrected claim to this payer).
    _case(root, "coverage_dates", [Claim837("CD1", "M100", "20260105", "99201")],
          [_denied("CD1", "M100", "99201", ("CO", "27", "150"))])
    # CO-170 (not payable to this provider type) and CO-252 (attachment required): Level I.
    _case(root, "credentials_records",
          [Claim837("CR1", "M101", "20260105", "99202"), Claim837("RR1", "M102", "20260105", "99203")],
          [_denied("CR1", "M101", "99202", ("CO", "170", "150")),
           _denied("RR1", "M102", "99203", ("CO", "252", "150"))])
    # CO-18 on a claim our 837s show sent once, nothing paid for it: the payer is wrong.
    _case(root, "duplicate_sent_once", [Claim837("DS1", "M103", "20260105", "99204")],
          [_denied("DS1", "M103", "99204", ("CO", "18", "150"))])
    # CO-18 while the same member/date/procedure was paid on PT1: nothing to recover.
    _case(root, "duplicate_paid_twin",
          [Claim837("PT1", "M104", "20260105", "99205"), Claim837("PT2", "M104", "20260105", "99205")],
          [Remit("PT1", "PT1-ICN", "M104", "20260105", "99205", paid="150"),
           _denied("PT2", "M104", "99205", ("CO", "18", "150"))])
    # Sent twice as new claims (frequency 1), the first denied too: the resubmission should have
    # been a replacement -> corrected claim.
    _case(root, "duplicate_resubmitted",
          [Claim837("RS1", "M105", "20260105", "99211"), Claim837("RS2", "M105", "20260105", "99211")],
          [_denied("RS1", "M105", "99211", ("CO", "16", "150"), remarks=["M51"]),
           _denied("RS2", "M105", "99211", ("CO", "18", "150"))])
    # CO-197 with the authorization sent on the service line (loop 2400 REF*G1): Level I citing it.
    _case(root, "authorization_on_line",
          [Claim837("AL1", "M106", "20260105", "99212", line_refs=["REF*G1*AUTH555"])],
          [_denied("AL1", "M106", "99212", ("CO", "197", "150"), remarks=["N54"])])
    # CO-197 of a procedure this payer paid without an authorization two months earlier (another
    # member, same practice): the payer changed or mis-loaded its rule -> Level I.
    folder = root / "authorization_paid_before"
    write(folder, "old.837", claims_837(SUN, SUN_ID, [Claim837("PB0", "M107", "20251101", "70551")],
                                        "20251103", "000000102"))
    write(folder, "old.835", remit_835(SUN, SUN_ID, [Remit("PB0", "PB0-ICN", "M107", "20251101", "70551",
                                                           paid="150")], "20251201", "000000202"))
    _case(root, "authorization_paid_before", [Claim837("PB1", "M108", "20260105", "70551")],
          [_denied("PB1", "M108", "70551", ("CO", "197", "150"))])
    # The same two cases with professional 835s that date the visit on the service line only
    # (DTM*472, no claim DTM*232, as X12 835 allows): the line's date is the visit's.
    _case(root, "duplicate_paid_twin_line_dates",
          [Claim837("LT1", "M123", "20260106", "99213"), Claim837("LT2", "M123", "20260106", "99213")],
          [Remit("LT1", "LT1-ICN", "M123", "20260106", "99213", paid="150", claim_dates=False),
           Remit("LT2", "LT2-ICN", "M123", "20260106", "99213", status="1", claim_dates=False,
                 adjustments=[("CO", "18", "150")])])
    folder = root / "authorization_paid_before_line_dates"
    write(folder, "old.837", claims_837(SUN, SUN_ID, [Claim837("LB0", "M124", "20251102", "73721")],
                                        "20251104", "000000107"))
    write(folder, "old.835", remit_835(SUN, SUN_ID, [Remit("LB0", "LB0-ICN", "M124", "20251102", "73721",
                                                           paid="150", claim_dates=False)], "20251202", "000000207"))
    _case(root, "authorization_paid_before_line_dates", [Claim837("LB1", "M125", "20260106", "73721")],
          [Remit("LB1", "LB1-ICN", "M125", "20260106", "73721", claim_dates=False,
                 adjustments=[("CO", "197", "150")])])
    # CO-197, no authorization on the 837 and no payment history: clinical/authorization appeal.
    _case(root, "authorization_absent", [Claim837("AA1", "M109", "20260105", "72148")],
          [_denied("AA1", "M109", "72148", ("CO", "197", "150"))])
    # CO-29 where our 837 (GS04 2025-03-10) was made 9 days after the service: proof of timely
    # filing against the 365-day default limit -> Level I.
    folder = root / "timely_filing"
    write(folder, "claims.837", claims_837(SUN, SUN_ID, [Claim837("TF1", "M110", "20250301", "99213")],
                                           "20250310", "000000103"))
    # ... and one whose 837 was made 14 months after the service: late against the limit, but the
    # default limit is not confirmed for this payer, so it stays a Level I to verify, never expired.
    write(folder, "late.837", claims_837(SUN, SUN_ID, [Claim837("TF2", "M111", "20240101", "99213")],
                                         "20250310", "000000104"))
    write(folder, "remit.835", remit_835(SUN, SUN_ID, [
        _denied("TF1", "M110", "99213", ("CO", "29", "150"), date="20250301"),
        _denied("TF2", "M111", "99213", ("CO", "29", "150"), date="20240101")], "20260201", "000000203"))
    # CO-288 "referral absent" although the 837 carried REF*9F: Level I with the referral.
    _case(root, "referral", [Claim837("RF1", "M112", "20260105", "99214", claim_refs=["REF*9F*REF900"])],
          [_denied("RF1", "M112", "99214", ("CO", "288", "150"))])
    # CO-22 (another payer may be primary) on a claim sent as secondary (SBR01=S) with the primary
    # in loop 2320/2330B: the payer's error -> Level I. And one sent as primary although the 837
    # names another payer: bill that one first.
    primary_loop = ["SBR*P*18*******CI", "OI***Y***Y", "NM1*IL*1*DOE*SAM****MI*X1",
                    "NM1*PR*2*ACME COMMERCIAL*****PI*ACME1"]
    secondary_loop = ["SBR*S*18*******CI", "OI***Y***Y", "NM1*IL*1*DOE*SAM****MI*X2",
                      "NM1*PR*2*ACME COMMERCIAL*****PI*ACME1"]
    _case(root, "coordination_of_benefits",
          [Claim837("CB1", "M113", "20260105", "99215", sbr01="S", other_payer=primary_loop),
           Claim837("CB2", "M114", "20260105", "99381", sbr01="P", other_payer=secondary_loop)],
          [_denied("CB1", "M113", "99215", ("CO", "22", "150")),
           _denied("CB2", "M114", "99381", ("CO", "22", "150"))])
    # CO-22 with MA04 "secondary payment cannot be considered without the primary's payment
    # information": a corrected claim to THIS payer carrying the primary's adjudication.
    _case(root, "primary_eob_missing", [Claim837("MA1", "M115", "20260105", "99382")],
          [_denied("MA1", "M115", "99382", ("CO", "22", "150"), remarks=["MA04"])])
    # CLP02 = 23 "not our claim, forwarded to additional payer(s)": wait for that payer's remit.
    _case(root, "forwarded", [Claim837("FW1", "M116", "20260105", "99383")],
          [_denied("FW1", "M116", "99383", ("CO", "109", "150"), status="23")])
    # CO-193 "original payment decision is being maintained" after a logged Level I: file Level II
    # counting from this remit (Sunshine: 90 days from the Level I denial notice).
    folder = root / "decision_maintained"
    write(folder, "first.835", remit_835(SUN, SUN_ID, [_denied("L1A", "M117", "99384", ("CO", "129", "150"))],
                                         "20251201", "000000204"))
    _case(root, "decision_maintained",
          [Claim837("L1A", "M117", "20260105", "99384"), Claim837("L1B", "M121", "20260105", "99388")],
          [_denied("L1A", "M117", "99384", ("CO", "193", "150")),
           _denied("L1B", "M121", "99388", ("CO", "193", "150"))],
          log_rows="L1A,L1A-ICN,1,2025-12-10,R-77,,\n")
    # PR-96: the payer assigned a non-covered charge to the patient: bill the patient.
    _case(root, "patient_owes", [Claim837("PR1", "M118", "20260105", "99385")],
          [_denied("PR1", "M118", "99385", ("PR", "96", "150"))])
    # CO-18 with N522 "duplicate of a claim processed, or to be processed, as a crossover claim".
    _case(root, "crossover_duplicate", [Claim837("NX1", "M119", "20260105", "99386")],
          [_denied("NX1", "M119", "99386", ("CO", "18", "150"), remarks=["N522"])])
    # Coordinated Care WA: a 30-day WAC floor marked unconfirmed has passed -> still Level I, to
    # verify; "Ambetter from Coordinated Care" takes Ambetter's own 180 days (confirmed).
    _case(root, "coordinated_care", [Claim837("CC1", "M120", "20260105", "99387")],
          [_denied("CC1", "M120", "99387", ("CO", "129", "150"))],
          payer=("COORDINATED CARE OF WASHINGTON", "CCWA1"), paid="20260105")
    _case(root, "ambetter_from_coordinated_care", [Claim837("AM1", "M122", "20260105", "99389")],
          [_denied("AM1", "M122", "99389", ("CO", "129", "150"))],
          payer=("AMBETTER FROM COORDINATED CARE", "AMBWA"), paid="20260105")


# pcn: (route, evidence rule, words the reason must hold, deadline, deadline_confirmed)
EXPECTED = {
    "CD1": ("rebill_other_payer", "registry", "coverage", None, None),
    "CR1": ("level1_reconsideration", "registry", "credentialed", dt.date(2026, 5, 2), True),
    "RR1": ("level1_reconsideration", "registry", "records", dt.date(2026, 5, 2), True),
    "DS1": ("level1_reconsideration", "duplicate_single_submission", "sent once", None, True),
    "PT2": ("resolved", "duplicate_paid_twin", "PT1-ICN", None, None),
    "RS2": ("corrected_claim", "duplicate_resubmitted", "2 submissions", None, None),
    "AL1": ("level1_reconsideration", "authorization_on_file", "AUTH555", None, True),
    "PB1": ("level1_reconsideration", "authorization_paid_before", "paid 1 time(s)", None, True),
    "LT2": ("resolved", "duplicate_paid_twin", "LT1-ICN", None, None),
    "LB1": ("level1_reconsideration", "authorization_paid_before", "paid 1 time(s)", None, True),
    "AA1": ("clinical_appeal", "registry", "retro-authorization", None, None),
    "TF1": ("level1_reconsideration", "timely_filing_proof", "created on 2025-03-10", None, True),
    "TF2": ("level1_reconsideration", "timely_filing_late", "verify it", None, True),
    "RF1": ("level1_reconsideration", "referral_on_file", "REF900", None, True),
    "CB1": ("level1_reconsideration", "billed_as_secondary", "ACME COMMERCIAL", None, True),
    "CB2": ("rebill_other_payer", "other_payer_known", "ACME COMMERCIAL", None, None),
    "MA1": ("corrected_claim", "registry", "MA04", None, None),
    "FW1": ("await_crossover", "forwarded_by_payer", "CLP02 23", None, None),
    "L1A": ("level2_dispute", "level1_unsatisfactory", "Level I came back upheld", dt.date(2026, 5, 2), True),
    "L1B": ("level2_dispute", "registry", "this remit is the Level I answer", dt.date(2026, 5, 2), True),
    "PR1": ("bill_patient", "registry", "bill the patient", None, None),
    "NX1": ("await_crossover", "registry", "crossover", None, None),
    "CC1": ("level1_reconsideration", "registry", "verify", dt.date(2026, 2, 4), False),
    "AM1": ("level1_reconsideration", "registry", "Payer processing error", dt.date(2026, 7, 4), True),
}


@pytest.fixture(scope="module")
def queue(tmp_path_factory):
    root = tmp_path_factory.mktemp("evidence")
    inbox = root / "inbox"
    build_inbox(inbox)
    work_queue = work_queue_of(inbox, root / "warehouse", AS_OF)
    return {row["patient_control_number"]: row for row in work_queue.iter_rows(named=True)}


@pytest.mark.parametrize("pcn", sorted(EXPECTED))
def test_case_routes_on_its_evidence(queue, pcn):
    route, rule, words, deadline, confirmed = EXPECTED[pcn]
    row = queue[pcn]
    assert row["route"] == route, row["reason"]
    if rule is not None:
        assert json.loads(row["evidence"])["rule"] == rule
    assert words in row["reason"]
    if deadline is not None:
        assert row["deadline"] == deadline
    if confirmed is not None:
        assert row["deadline_confirmed"] is confirmed


def test_registry_evidence_names_the_code_that_decided(queue):
    assert json.loads(queue["CD1"]["evidence"]) == {"rule": "registry", "codes": "carc 27"}
    assert json.loads(queue["PR1"]["evidence"]) == {"rule": "registry", "codes": "group PR"}


def test_line_authorization_is_read_from_loop_2400(queue):
    assert json.loads(queue["AL1"]["evidence"]) == {
        "rule": "authorization_on_file", "prior_authorization": "AUTH555", "authorization_level": "line"}


def test_nothing_expires_on_an_unconfirmed_window(queue):
    rows = pl.DataFrame(list(queue.values()))
    assert rows.filter((pl.col("route") == "expired") & ~pl.col("deadline_confirmed").fill_null(False)).height == 0
