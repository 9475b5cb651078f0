"""The reconsideration log for the inbox and the ground truth kept beside it (never in it).

The log imitates a hand-kept provider-relations spreadsheet: one row per Level I or Level II
request, chronological, some outcomes blank (pending, or left for the later 835 to tell), and
a couple of rows with an impossible date, as such logs have. The truth tables say, per claim,
what was planted (denial kind, category, trend) and which PHI-shaped values were used, so the
pipeline's tests can compare against it and the PHI tests know what must never leak.
"""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from claimback.synth.book import DEDUCTIBLE, PAID, ClaimBook
from claimback.synth.denials import DENIAL_KINDS, PLANTED_TRENDS
from claimback.synth.evidence import EXPECTED
from claimback.synth.pools import PAYER_INDEX, PAYERS, PROVIDERS
from claimback.synth.render import adjudicate
from claimback.synth.story import PARTIAL, Story

LOG_COLUMNS = ("patient_control_number", "payer_claim_control_number", "level", "submitted_on",
               "reference_number", "outcome", "decided_on")
BAD_DATES = ("2026-02-30", "13/45/2026")


def iso(day: int | None) -> str:
    return "" if day is None else str(np.datetime64(day, "D"))


def log_rows(book: ClaimBook, story: Story) -> list[tuple]:
    """(sort day, csv fields...) for every request of the block."""
    return [(r.submitted_day, book.pcn[r.claim], r.icn, str(r.level), iso(r.submitted_day),
             r.reference, r.outcome, iso(r.decided_day)) for r in story.log]


def write_log(path: Path, rows: list[tuple]) -> int:
    """Chronological CSV; two rows get an impossible date when there are enough rows."""
    rows = sorted(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LOG_COLUMNS)
    bad_at = {len(rows) // 3: BAD_DATES[0], 2 * len(rows) // 3: BAD_DATES[1]} if len(rows) >= 12 else {}
    for i, row in enumerate(rows):
        fields = list(row[1:])
        if i in bad_at:
            fields[3] = bad_at[i]
        writer.writerow(fields)
    path.write_text(out.getvalue(), encoding="utf-8")
    return len(rows)


def _outcome_name(outcome: int) -> str:
    if outcome == PAID:
        return "paid"
    if outcome == DEDUCTIBLE:
        return "patient_responsibility"
    if outcome == PARTIAL:
        return "partially_paid"
    return "denied"


def claim_truth(book: ClaimBook, story: Story) -> pl.DataFrame:
    """One row per claim of the block: what was planted and what happened."""
    n = len(book)
    kinds = [DENIAL_KINDS[o] if o >= 0 else None for o in book.outcome]
    people = book.people
    adjudicated = [d >= 0 for d in book.first_remit_day]
    denied_amount = []
    for c in range(n):
        if kinds[c] is None or not adjudicated[c]:
            denied_amount.append(0)
            continue
        adj = adjudicate(book, c, book.outcome[c])
        denying = [a for a in adj.claim_adjustments + [x for r in adj.lines for x in r.adjustments]
                   if a[1] == kinds[c].carc and a[0] == kinds[c].group]
        denied_amount.append(sum(a[2] for a in denying))
    rend = [PROVIDERS[p].renderers[r][2] for p, r in zip(book.provider, book.renderer)]
    corrected = {c for _, c, _ in story.corrected}
    last_icn: dict[int, str] = {}
    for e in story.events:
        last_icn[e.claim] = e.icn
    return pl.DataFrame({
        "patient_control_number": book.pcn,
        "claim_type": book.claim_type,
        "payer_id": [PAYERS[p].payer_id for p in book.payer],
        "billing_npi": [PROVIDERS[p].npi for p in book.provider],
        "rendering_npi": rend,
        "service_date": [iso(d) for d in book.service_from],
        "submitted_on": [iso(d) for d in book.submit_day],
        "first_remit_date": [iso(d) if d >= 0 else None for d in book.first_remit_day],
        "adjudicated": adjudicated,
        "first_outcome": [_outcome_name(o) if a else "pending" for o, a in zip(book.outcome, adjudicated)],
        "denial_kind": [k.key if k else None for k in kinds],
        "category": [k.category if k else None for k in kinds],
        "primary_reason": [f"{k.group}-{k.carc}" if k else None for k in kinds],
        "remark_codes": [list(k.rarcs) if k else [] for k in kinds],
        "denial_level": [None if k is None else "line" if k.level == "partial"
                         else "claim" if k.level == "claim" or book.line_count[c] == 1
                         else "line" for c, k in enumerate(kinds)],
        "denied_amount": [a / 100 for a in denied_amount],
        "trend_id": [t or None for t in book.trend],
        "underpaid": book.underpaid or [False] * n,  # a wrong fee schedule's claim (claimback.synth.underpaid)
        "auth_on_file": [bool(a) for a in book.auth],
        # evidence cases (claimback.synth.evidence): the case planted, "partner" for the claim it
        # needs (paid twin, first submission...), and the route and rule the router must choose
        "evidence_case": [k or None for k in book.case],
        "expected_route": [EXPECTED[k][0] if k in EXPECTED else None for k in book.case],
        "expected_rule": [EXPECTED[k][1] if k in EXPECTED else None for k in book.case],
        "corrected_claim": [c in corrected for c in range(n)],
        "level1_outcome": [story.level1.get(c) for c in range(n)],
        "level2_outcome": [story.level2.get(c) for c in range(n)],
        "final_outcome": [_outcome_name(story.final_outcome[c]) if c in story.final_outcome else "pending"
                          for c in range(n)],
        "final_payer_claim_control_number": [last_icn.get(c) for c in range(n)],
        "recouped": [c in story.recouped for c in range(n)],  # paid, then reversed and never paid again
        # lonely payments: no 837 in the inbox, or the 835 names the claim by a mistyped number
        "sent_elsewhere": [c in story.sent_elsewhere for c in range(n)],
        "pcn_keyed_wrong": [c in story.pcn_keyed_wrong for c in range(n)],
        "silent": [c in story.silent for c in range(n)],  # 837 sent, the payer never answered
        "level1_undecided": [c in story.undecided for c in range(n)],  # Level I filed, never decided
        "patient_last_name": [people.last[p] for p in book.patient],
        "patient_first_name": [people.first[p] for p in book.patient],
        "subscriber_first_name": [people.sub_first[p] if people.dependent[p] else people.first[p]
                                  for p in book.patient],
        "member_id": [people.member_id[p] for p in book.patient],
        "birth_date": [people.dob[p] for p in book.patient],
    })


def trend_truth(as_of: date) -> pl.DataFrame:
    """The planted trends; the window is the span of their remittance dates."""
    rows = []
    for t in PLANTED_TRENDS:
        kind = DENIAL_KINDS[[k.key for k in DENIAL_KINDS].index(t.kind)]
        prov = PROVIDERS[t.provider]
        rows.append({
            "trend_id": t.trend_id, "payer_id": t.payer_id,
            "payer_name": PAYERS[PAYER_INDEX[t.payer_id]].name,
            "signature": "|".join([f"{kind.group}-{kind.carc}", *kind.rarcs]),
            "category": kind.category, "procedure_code": t.procedure, "claims": t.claims,
            "expected_status": t.expected, "billing_npi": prov.npi,
            "rendering_npi": prov.renderers[t.renderer][2] if t.renderer is not None else None,
            "auth_on_file": t.with_auth, "description": t.description,
            "window_start": as_of - timedelta(days=t.window_days[0]),
            "window_end": as_of - timedelta(days=t.window_days[1]),
        })
    return pl.DataFrame(rows)
