"""Plants the evidence cases of the router (claimback.routing.evidence) on a few claims per block.

Each case turns one background denial into the pattern a named evidence rule decides, with the
partner claim the rule needs where it needs one:

- `duplicate_paid_twin`: CO-18 while a paid claim of ours has the same member, date and procedure
  (the partner, a paid claim of the same practice and payer, takes the denied claim's member and
  dates) -> `resolved`.
- `duplicate_resubmitted`: CO-18 on a claim sent again as a new claim (frequency 1) a week after
  the first submission, which the payer denied whole -> `corrected_claim`.
- `referral_on_file`: CO-288 "referral absent" on a claim whose 837 carried REF*9F -> Level I.
- `billed_as_secondary`: CO-22 on a claim sent as secondary (SBR01 S) with the commercial primary
  in loops 2320/2330B -> Level I.
- `authorization_paid_before`: CO-197 without an authorization on the 837, on a procedure the
  same payer paid the practice without one in the months before (the partner's REF*G1 is
  dropped) -> Level I.

The picks come from their own `random.Random` stream, and only already-denied claims become
cases and only paid ones partners, so the numpy draws of the book and the story (and every
other claim's outcome) stay as they were. Planted claims are left unworked by the story
(`story.tell` skips them), so the first remittance is the one the router reads.
"""
from __future__ import annotations

import random
from collections import defaultdict

from claimback.synth.book import PAID, ClaimBook
from claimback.synth.denials import DENIAL_KINDS, KIND_INDEX
from claimback.synth.pools import PAYER_INDEX

# Planted claims of each case per 5,000 claims (at least MIN_PER_CASE per block).
PER_5000 = 3
MIN_PER_CASE = 2
PARTNER = "partner"  # book.case of a partner claim (the paid twin, the first submission...)
COMMERCIAL_PRIMARY = "ACME1"  # the other payer of a claim billed as secondary (Medicaid pays last)

# case -> (route the router must choose, the rule that decides it)
EXPECTED: dict[str, tuple[str, str]] = {
    "duplicate_paid_twin": ("resolved", "duplicate_paid_twin"),
    "duplicate_resubmitted": ("corrected_claim", "duplicate_resubmitted"),
    "referral_on_file": ("level1_reconsideration", "referral_on_file"),
    "billed_as_secondary": ("level1_reconsideration", "billed_as_secondary"),
    "authorization_paid_before": ("level1_reconsideration", "authorization_paid_before"),
}
# Background denials that may become a case: their dates are ordinary (timely-filing claims
# were sent late), nothing about them is told by a later remit, and the rare patient-owed ones
# (group PR, `bill_patient`) stay as examples of their own route.
_NOT_CASES = {KIND_INDEX[k] for k in ("timely_filing", "forwarded", "decision_maintained")} | {
    i for i, k in enumerate(DENIAL_KINDS) if k.group == "PR"}


def _procedures(book: ClaimBook, c: int) -> set[int]:
    s = book.line_start[c]
    return set(book.procedure[s:s + book.line_count[c]])


class _Planter:
    def __init__(self, book: ClaimBook, rng: random.Random, as_of_day: int) -> None:
        self.book, self.rng, self.as_of_day = book, rng, as_of_day
        ok = [c for c in range(len(book)) if book.claim_type[c] == "P" and not book.trend[c]
              and book.first_remit_day[c] >= 0]
        self.denied = [c for c in ok if book.outcome[c] >= 0 and book.outcome[c] not in _NOT_CASES
                       and DENIAL_KINDS[book.outcome[c]].level != "partial"]
        self.paid = defaultdict(list)  # (provider, payer) -> paid claims
        for c in ok:
            if book.outcome[c] == PAID:
                self.paid[book.provider[c], book.payer[c]].append(c)
        rng.shuffle(self.denied)
        self.used: set[int] = set()

    def take(self, c: int, case: str, kind: str) -> None:
        book = self.book
        self.used.add(c)
        book.case[c] = case
        book.outcome[c] = KIND_INDEX[kind]
        book.claim_level_only[c] = False  # the remit names the lines, so the router sees the procedures

    def partner(self, c: int, pool: list[int], test) -> int | None:
        for x in pool:
            if x not in self.used and test(x):
                self.used.add(x)
                self.book.case[x] = PARTNER
                return x
        return None

    def same_visit(self, target: int, source: int, shift: int = 0) -> None:
        """Give `target` the member and dates of `source` (dates moved `shift` days)."""
        book = self.book
        book.patient[target] = book.patient[source]
        book.service_from[target] = book.service_from[source]
        book.service_to[target] = book.service_to[source]
        book.submit_day[target] = book.submit_day[source] + shift
        book.first_remit_day[target] = book.first_remit_day[source] + shift  # same check weekday
        s = book.line_start[target]
        for li in range(s, s + book.line_count[target]):
            book.line_day[li] = book.service_from[source]

    def plant(self, case: str, count: int) -> None:
        book, planted = self.book, 0
        for d in list(self.denied):
            if planted == count:
                return
            if d in self.used:
                continue
            key = (book.provider[d], book.payer[d])
            procs = _procedures(book, d)
            if case == "duplicate_paid_twin":
                x = self.partner(d, self.paid[key], lambda x: bool(_procedures(book, x) & procs))
                if x is None:
                    continue
                self.same_visit(x, d)
                self.take(d, case, "duplicate_sent_once")
            elif case == "duplicate_resubmitted":
                # the first submission: a whole-claim denial of the same practice and payer (nothing
                # of it paid), answered early enough that the resubmission a week later has its remit
                y = self.partner(d, [c for c in self.denied if c != d and (book.provider[c], book.payer[c]) == key
                                     and DENIAL_KINDS[book.outcome[c]].level == "claim"
                                     and DENIAL_KINDS[book.outcome[c]].category != "duplicate"],
                                 lambda y: bool(_procedures(book, y) & procs)
                                 and book.first_remit_day[y] + 7 <= self.as_of_day)
                if y is None:
                    continue
                book.claim_level_only[y] = False
                self.same_visit(d, y, 7)
                self.take(d, case, "duplicate_sent_once")
            elif case == "referral_on_file":
                self.take(d, case, "referral_absent")
                book.referral[d] = f"RF{self.rng.randrange(10_000_000, 99_999_999)}"
            elif case == "billed_as_secondary":
                if book.payer[d] == PAYER_INDEX[COMMERCIAL_PRIMARY]:
                    continue
                self.take(d, case, "cob_billed_secondary")
                book.other_payer[d] = PAYER_INDEX[COMMERCIAL_PRIMARY]
            elif case == "authorization_paid_before":
                line = book.line_start[d] + book.denied_line[d]
                proc, remit = book.procedure[line], book.first_remit_day[d]
                x = self.partner(d, self.paid[key], lambda x: proc in _procedures(book, x)
                                 and remit - 170 <= book.first_remit_day[x] < remit)
                if x is None:
                    continue
                book.auth[x] = ""
                book.auth[d] = ""
                self.take(d, case, "auth_absent")
            planted += 1


def plant_evidence_cases(book: ClaimBook, rng: random.Random, as_of_day: int) -> None:
    """Turn a few denials of the block into each case of EXPECTED (sets book.case)."""
    count = max(MIN_PER_CASE, round(PER_5000 * len(book) / 5000))
    planter = _Planter(book, rng, as_of_day)
    for case in EXPECTED:
        planter.plant(case, count)


__all__ = ["EXPECTED", "PARTNER", "plant_evidence_cases"]
