"""Routing reads the adjudications by predicate (stages.routed_adjudications): every adjudication of
a claim a logged request names, by its account number or by its payer claim number now or before,
and those of the queue's claims; nothing else of the history. The Level I outcomes inferred from
them, and the overturn model's training rows, are those of every adjudication."""
from __future__ import annotations

import datetime as dt

import polars as pl

from claimback import lifecycle, stages
from claimback.denials import build_adjudications
from claimback.lake import Lake
from claimback.routing.history import denial_history
from claimback.routing.overturn import training_rows
from claimback.schema import conform
from tests.builders import ClaimBook


def _book() -> ClaimBook:
    book = ClaimBook()
    # OLD denied CO-16 under ICN-9; the payer pays it again under a new account number NEW (REF*F8 ICN-9)
    book.remit("OLD", "2026-01-10", 100, 0, payer_claim_number="ICN-9").line("99213", 100, 0, [("CO", "16", 100)])
    book.remit("NEW", "2026-03-01", 100, 100, payer_claim_number="ICN-10", original_payer_claim_number="ICN-9").line(
        "99213", 100, 100, [])
    # KEPT denied CO-50 twice: the request names its account number only
    for day in ("2026-01-10", "2026-02-20"):
        book.remit("KEPT", day, 100, 0, payer_claim_number="ICN-KEPT").line("99213", 100, 0, [("CO", "50", 100)])
    # QUEUED is in the queue, no request names it; ELSE is neither
    book.remit("QUEUED", "2026-01-12", 100, 0, payer_claim_number="ICN-Q").line("99213", 100, 0, [("CO", "197", 100)])
    book.remit("ELSE", "2026-01-12", 100, 0, payer_claim_number="ICN-E").line("99213", 100, 0, [("CO", "197", 100)])
    return book


def _log() -> pl.DataFrame:
    base = {"reference_number": None, "outcome": None, "decided_on": None, "source_file": "log.csv", "source_line": 2}
    return conform(pl.DataFrame([
        # filed under the claim number OLD had, by an account number no adjudication carries
        {**base, "patient_control_number": "TYPO", "payer_claim_control_number": "ICN-9", "level": 1,
         "submitted_on": dt.date(2026, 1, 20)},
        {**base, "patient_control_number": "KEPT", "payer_claim_control_number": None, "level": 1,
         "submitted_on": dt.date(2026, 1, 20)},
    ]), "reconsiderations")


def test_routing_reads_the_requests_claims_and_the_queues(tmp_path):
    f = _book().frames()
    every = build_adjudications(f["remit_claims"], f["remit_service_lines"], f["remit_adjustments"])
    lake = Lake(tmp_path)
    lake.write_derived("adjudications", every)
    queued = every.filter(pl.col("patient_control_number") == "QUEUED")["claim_key"]
    read = stages.routed_adjudications(lake, _log(), queued)
    # OLD and NEW (one claim, found by the old claim number), KEPT's two, QUEUED's; not ELSE
    assert sorted(read["patient_control_number"]) == ["KEPT", "KEPT", "NEW", "OLD", "QUEUED"]
    assert read.equals(every.filter(pl.col("patient_control_number") != "ELSE"))  # in the table's order
    outcomes = lifecycle.infer_level1_outcomes(_log(), read)
    assert outcomes.select("patient_control_number", "outcome", "outcome_source", "decided_on").rows() == [
        ("TYPO", "overturned", "inferred", dt.date(2026, 3, 1)),  # NEW paid it after the request
        ("KEPT", "upheld", "inferred", dt.date(2026, 2, 20)),
    ]
    assert outcomes.equals(lifecycle.infer_level1_outcomes(_log(), every))
    assert training_rows(denial_history(read), outcomes).equals(training_rows(denial_history(every), outcomes))
