"""What happens to each claim after its first remittance: the adjudication events and the log.

A denied claim may be fixed with a corrected claim (frequency 7 + REF*F8 with the payer's claim
number), or disputed with a Level I reconsideration and, after an unsatisfactory answer, a
Level II dispute. Each decision that changes the payment shows up in a later 835 as a reversal
(CLP02 22, negated amounts, same CLP07) followed by a re-adjudication (new CLP07, REF*F8 the
old one). A few paid claims are reversed with nothing after them (a recoupment), and a few paid claims were
billed by another billing system, so the inbox has their 835 but no 837, or come back under a patient control
number the payer keyed wrong (lonely payments). A few claims the payer never answers at all (silent
claims: the 837 is in the inbox, no 835 ever comes), and a few Level I requests the payer never
decides (their log rows stay pending long past the payer's decision time). Outcomes depend on real signal (denial kind, payer, amount, whether an auth was on
file, days taken to file) so the reconsideration log can teach a model something.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from claimback.synth.book import PAID, ClaimBook
from claimback.synth.denials import DENIAL_KINDS, KIND_INDEX
from claimback.synth.pools import PAYERS

PARTIAL = -3  # re-adjudication that pays some of what was denied
RECOUPMENT_SHARE = 0.004  # paid claims later reversed with no replacement (a recoupment)

ORIGINAL, REVERSAL, READJUDICATION = "original", "reversal", "readjudication"
# One claim in this many (by serial) that is paid once and never touched again is a lonely
# payment: billed by another system (its 837 is not in the inbox) or keyed wrong by the payer.
# Paid claims make no work-queue rows, so the demo's denials, trends and routes stay as they were.
SENT_ELSEWHERE_EVERY = 500
# One claim in this many (by serial), which would have been paid once and never touched again, the
# payer never answers; only claims sent SILENT_AFTER_DAYS before the as-of date, so each is silent
# under any payer's processing window (45 days by default).
SILENT_EVERY = 500
SILENT_AFTER_DAYS = 60
# One Level I request in this many (by claim serial), filed PAYER_LATE_DAYS before the as-of date,
# the payer never decides: beyond any payer's decision time (30-60 days), a follow-up to chase.
UNANSWERED_REQUEST_EVERY = 15
PAYER_LATE_DAYS = 90

# How each payer treats reconsiderations, on top of the denial kind's base rate.
PAYER_BIAS = {"CCWA1": 0.05, "SUNSH": -0.06, "CSOH1": 0.0, "LHCC1": 0.04, "UHCCP": -0.08, "ACME1": -0.04}


@dataclass(frozen=True)
class Event:
    """One CLP in some 835: an adjudication, or the reversal of one."""

    remit_day: int
    claim: int
    role: str
    outcome: int  # PAID, DEDUCTIBLE, PARTIAL or a denial kind index
    icn: str  # CLP07
    original_icn: str  # REF*F8 ("" on a first adjudication)
    frequency: str  # CLP09: 1 original, 7 replacement


@dataclass
class LogRow:
    claim: int
    icn: str
    level: int
    submitted_day: int
    reference: str
    outcome: str  # overturned, upheld, partial, "" (pending or told by a later 835)
    decided_day: int | None


@dataclass
class Story:
    events: list[Event] = field(default_factory=list)
    corrected: list[tuple[int, int, str]] = field(default_factory=list)  # (submit_day, claim, icn)
    log: list[LogRow] = field(default_factory=list)
    # per-claim truth of what happened after the first remittance
    level1: dict[int, str] = field(default_factory=dict)
    level2: dict[int, str] = field(default_factory=dict)
    final_outcome: dict[int, int] = field(default_factory=dict)
    recouped: set[int] = field(default_factory=set)  # paid claims reversed and not paid again
    # lonely payments: paid claims whose 835 answers no 837 of the inbox
    sent_elsewhere: set[int] = field(default_factory=set)  # 837 sent by another billing system
    pcn_keyed_wrong: set[int] = field(default_factory=set)  # 835 CLP01 is `mistyped(pcn)`
    silent: set[int] = field(default_factory=set)  # 837 sent, no 835 ever (silent claims)
    undecided: set[int] = field(default_factory=set)  # Level I filed, the payer never decided it


@lru_cache(maxsize=4096)
def _julian(day: int) -> str:
    d = np.datetime64(day, "D").astype(object)
    return f"{d.year % 100:02d}{d.timetuple().tm_yday:03d}"


def make_icn(payer: int, day: int, serial: int) -> str:
    """Payer claim control numbers: year, day of year, payer digit, serial (unique per run)."""
    return f"{_julian(day)}{payer + 1}{serial:09d}"


def overturn_probability(book: ClaimBook, c: int, days_to_file: int) -> float:
    kind = DENIAL_KINDS[book.outcome[c]]
    p = kind.overturn_rate + PAYER_BIAS[PAYERS[book.payer[c]].payer_id]
    if kind.category == "authorization":
        p += 0.4 if book.auth[c] else -0.1
    if book.total_charge(c) > 50_000:
        p += 0.08
    if days_to_file > 90:
        p -= 0.2
    return float(min(0.95, max(0.03, p)))


class _Teller:
    """Walks the block's denials and writes what the analysts and the payers did."""

    def __init__(self, book: ClaimBook, as_of_day: int) -> None:
        self.book = book
        self.as_of_day = as_of_day
        self.story = Story()
        self.icn_serial = book.serial0 * 4  # at most 3 payer claim numbers per claim
        self.ref_serial = book.serial0
        self.check_day = [p.check_weekday for p in PAYERS]

    def next_icn(self, c: int, day: int) -> str:
        self.icn_serial += 1
        return make_icn(self.book.payer[c], day, self.icn_serial)

    def remit_after(self, c: int, day: int) -> int:
        """The payer's first check run on or after `day`."""
        return day + (self.check_day[self.book.payer[c]] - (day + 3) % 7) % 7

    def first_remittances(self) -> dict[int, str]:
        book, story = self.book, self.story
        icn_of = {}
        for c in range(len(book)):
            day = book.first_remit_day[c]
            if day < 0:
                continue
            icn_of[c] = icn = self.next_icn(c, day)
            story.events.append(Event(day, c, ORIGINAL, book.outcome[c], icn, "", "1"))
            story.final_outcome[c] = book.outcome[c]
        self.icn_of = icn_of
        return icn_of

    def readjudicate(self, c: int, day: int, outcome: int, current_icn: str, frequency: str) -> str:
        """Reverse the claim's latest adjudication and adjudicate it again on the same check."""
        story = self.story
        story.events.append(Event(day, c, REVERSAL, story.final_outcome[c], current_icn, "", frequency))
        new_icn = self.next_icn(c, day)
        story.events.append(Event(day, c, READJUDICATION, outcome, new_icn, current_icn, frequency))
        story.final_outcome[c] = outcome
        return new_icn

    def recoup(self, rng: np.random.Generator) -> None:
        """A few paid claims are reversed weeks later with nothing in their place: the payer
        takes the money back (eligibility ended retroactively, another payer primary) and no
        new adjudication follows. No denial shows it; the pipeline must still see the loss."""
        book, story = self.book, self.story
        paid = [c for c, icn in self.icn_of.items() if book.outcome[c] == PAID and not book.trend[c]]
        pick = rng.random(len(paid)).tolist()
        lag = rng.integers(14, 90, len(paid)).tolist()
        for c, u, days in zip(paid, pick, lag):
            if u >= RECOUPMENT_SHARE or book.case[c]:  # a paid twin stays paid (draws unchanged)
                continue
            day = self.remit_after(c, book.first_remit_day[c] + days)
            if day > self.as_of_day:
                continue
            story.events.append(Event(day, c, REVERSAL, PAID, self.icn_of[c], "", "1"))
            story.recouped.add(c)

    def correct(self, c: int, icn: str, u: list[float], lags: list[int]) -> None:
        """A frequency-7 corrected claim; the payer usually pays it."""
        sent = self.book.first_remit_day[c] + 7 + lags[0] % 34
        if sent > self.as_of_day:
            return
        self.story.corrected.append((sent, c, icn))
        back = self.remit_after(c, sent + 12 + lags[1] % 20)
        if back <= self.as_of_day:
            self.readjudicate(c, back, PAID if u[1] < 0.85 else self.book.outcome[c], icn, "7")

    def reconsider(self, c: int, icn: str, u: list[float], lags: list[int]) -> None:
        """A Level I request and, after an unsatisfactory answer, sometimes a Level II."""
        book, story, as_of_day = self.book, self.story, self.as_of_day
        days_to_file = int(5 + min(170, u[7] and -35 * np.log(u[7])))
        filed = book.first_remit_day[c] + days_to_file
        if filed > as_of_day:
            return
        p = overturn_probability(book, c, days_to_file)
        for level in (1, 2):
            self.ref_serial += 1
            reference = f"{PAYERS[book.payer[c]].payer_id[:2]}{level}{self.ref_serial:08d}"
            if (level == 1 and (book.serial0 + c) % UNANSWERED_REQUEST_EVERY == 3
                    and filed + PAYER_LATE_DAYS <= as_of_day):
                # the payer never answers: the log says pending long after its decision was due
                story.level1[c] = "pending"
                story.undecided.add(c)
                story.log.append(LogRow(c, icn, level, filed, reference, "", None))
                return
            decided = filed + 15 + lags[2 + level] % 31 + (20 if level == 2 else 0)
            pick = u[1 + level]
            verdict = "overturned" if pick < p else "partial" if pick < p + 0.08 else "upheld"
            (story.level1 if level == 1 else story.level2)[c] = verdict if decided <= as_of_day else "pending"
            if decided > as_of_day:
                story.log.append(LogRow(c, icn, level, filed, reference, "", None))
                return
            filed_icn, told_by_835 = icn, False
            back = self.remit_after(c, decided + 3 + lags[5] % 12)
            # An upheld request is answered by letter about half the time, with no new 835.
            if back <= as_of_day and (verdict != "upheld" or u[4] < 0.5):
                # An upheld Level I answered on an 835 says so with CO-193 (decision maintained).
                maintained = KIND_INDEX["decision_maintained"] if level == 1 else book.outcome[c]
                outcome = {"overturned": PAID, "partial": PARTIAL}.get(verdict, maintained)
                icn = self.readjudicate(c, back, outcome, icn, "1")
                told_by_835 = u[5] < 0.3  # the analyst left the outcome for the 835 to tell
            if told_by_835:
                story.log.append(LogRow(c, filed_icn, level, filed, reference, "", None))
            else:
                story.log.append(LogRow(c, filed_icn, level, filed, reference, verdict, decided))
            if verdict != "upheld" or level == 2 or u[6] >= 0.45:
                return
            filed = decided + 10 + lags[0] % 50
            if filed > as_of_day:
                return
            p *= 0.6


def tell(book: ClaimBook, rng: np.random.Generator, as_of_day: int) -> Story:
    """Write the first remittance of every adjudicated claim and what followed the denials."""
    teller = _Teller(book, as_of_day)
    icn_of = teller.first_remittances()
    denied = [c for c in icn_of if book.outcome[c] >= 0]
    draws = rng.random((len(denied), 8)).tolist()
    lags = rng.integers(0, 1_000, (len(denied), 6)).tolist()
    for i, c in enumerate(denied):
        if book.trend[c] or book.case[c]:
            # a payer trend is worked as one trend report, not claim by claim; an evidence case
            # (claimback.synth.evidence) waits for the router to read its first remit
            continue
        if DENIAL_KINDS[book.outcome[c]].correctable and draws[i][0] < 0.4:
            teller.correct(c, icn_of[c], draws[i], lags[i])
        elif draws[i][0] < 0.75:
            teller.reconsider(c, icn_of[c], draws[i], lags[i])
        # else nobody has worked this denial yet
    teller.recoup(rng)
    _lonely_payments(book, teller.story)
    _silence(book, teller.story, as_of_day)
    return teller.story


def _lonely_payments(book: ClaimBook, story: Story) -> None:
    """Pick the claims whose 835 answers no 837 of the inbox: every SENT_ELSEWHERE_EVERY-th claim
    paid once and never touched again; by turns billed by another system (no 837) or keyed wrong
    by the payer (the 835's CLP01 is `mistyped`)."""
    touched = {e.claim for e in story.events if e.role != ORIGINAL} | {c for _, c, _ in story.corrected}
    for c in range(len(book)):
        serial = book.serial0 + c
        if (serial % SENT_ELSEWHERE_EVERY == SENT_ELSEWHERE_EVERY // 2
                and book.outcome[c] == PAID and book.first_remit_day[c] >= 0 and not book.trend[c]
                and c not in touched and c not in story.recouped and not book.case[c]):
            (story.sent_elsewhere if serial // SENT_ELSEWHERE_EVERY % 2 == 0 else story.pcn_keyed_wrong).add(c)


def _silence(book: ClaimBook, story: Story, as_of_day: int) -> None:
    """Pick the claims the payer never answers (silent claims): every SILENT_EVERY-th claim paid once
    and never touched again, sent SILENT_AFTER_DAYS or more before the as-of date; its remittance is
    taken out of the story and the claim counts as not adjudicated. Chosen after every draw, so no
    other claim's story moves."""
    touched = ({e.claim for e in story.events if e.role != ORIGINAL} | {c for _, c, _ in story.corrected}
               | story.recouped | story.sent_elsewhere | story.pcn_keyed_wrong)
    for c in range(len(book)):
        if ((book.serial0 + c) % SILENT_EVERY == SILENT_EVERY // 4
                and book.outcome[c] == PAID and book.first_remit_day[c] >= 0 and not book.trend[c]
                and not book.case[c] and c not in touched and book.submit_day[c] + SILENT_AFTER_DAYS <= as_of_day):
            story.silent.add(c)
            book.first_remit_day[c] = -1
            del story.final_outcome[c]
    if story.silent:
        story.events[:] = [e for e in story.events if e.claim not in story.silent]


# Payer claim numbers of later remittances: past any block's own (at most 4 a claim, and no
# history holds 100 M claims), so a claim's later 835 never takes another claim's number.
LATER_ICN_SERIAL0 = 400_000_000


def later_remittances(book: ClaimBook, story: Story) -> Story:
    """The first remittances the payers send after the as-of date, for the claims they had not
    answered by then (`book.later_remit_day`): what the next drop of a history delivers. Nothing
    follows them here (no correction, request or reversal: those are the later drop's story); a
    silent claim stays silent, and planted trends and evidence cases are answered by as-of."""
    later = Story()
    for c, day in enumerate(book.later_remit_day):
        if day >= 0 and book.first_remit_day[c] < 0 and c not in story.silent and not book.trend[c] \
                and not book.case[c]:
            icn = make_icn(book.payer[c], day, LATER_ICN_SERIAL0 + book.serial0 + c)
            later.events.append(Event(day, c, ORIGINAL, book.outcome[c], icn, "", "1"))
            later.final_outcome[c] = book.outcome[c]
    return later


def mistyped(pcn: str) -> str:
    """A patient control number as a payer keys it wrong from a paper claim: its first zero typed
    as the letter O (ENC00000123 -> ENCO0000123); no claim of ours has that number."""
    return pcn.replace("0", "O", 1) if "0" in pcn else pcn + "O"


__all__ = ["PARTIAL", "Event", "LogRow", "Story", "mistyped", "tell"]

