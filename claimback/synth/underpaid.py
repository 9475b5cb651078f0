"""Plants a wrong fee schedule: one payer underpays one procedure from one day on.

ACME COMMERCIAL HEALTH's contract allows 99214 at $162.00 a unit (the demo inbox's
`fee_schedule.csv`, written by `fee_schedule_csv`). Its remits allow exactly that until
`WRONG_FROM_DAYS` before the as-of date; from then on they allow $131.22 — a wrong fee schedule
loaded at the payer, with CO-45 taking the difference — on every 99214 line of every practice.
So the pipeline has underpaid lines to find (`claimback.underpayments`), and at the practices
billing 99214 to ACME most, 10+ underpaid claims: a trend to report.

Only the allowed amounts (and the patient's share of them) of those lines change, after the
book's draws and before the story is told: no other claim, line or random draw moves.
"""
from __future__ import annotations

from claimback.synth.book import ClaimBook
from claimback.synth.pools import PAYER_INDEX, PAYERS, PROVIDERS

PAYER = "ACME1"
PROCEDURE = "99214"
CONTRACT_CENTS = 16_200  # per unit, the contract: $162.00
WRONG_CENTS = 13_122  # per unit, what the wrong schedule allows: $131.22 (81%)
WRONG_FROM_DAYS = 75  # the wrong schedule applies to claims first remitted this close to the as-of date
COPAY_CENTS = 2_500  # a commercial plan's copay (claimback.synth.book)


def plant_wrong_fee_schedule(book: ClaimBook, as_of_day: int) -> list[int]:
    """Prices every ACME 99214 line at the contract, or at the wrong rate once it was loaded; returns
    the claims first remitted under the wrong rate (book.underpaid marks them)."""
    payer = PAYER_INDEX[PAYER]
    underpaid = []
    book.underpaid = [False] * len(book)
    for c in range(len(book)):
        if book.payer[c] != payer:
            continue
        procedures = PROVIDERS[book.provider[c]].procedures
        wrong = book.first_remit_day[c] >= max(0, as_of_day - WRONG_FROM_DAYS)
        hit = False
        for li in range(book.line_start[c], book.line_start[c] + book.line_count[c]):
            if procedures[book.procedure[li]].code != PROCEDURE:
                continue
            rate = WRONG_CENTS if wrong else CONTRACT_CENTS
            allowed = min(rate * book.units[li], book.charge[li])
            book.allowed[li] = allowed
            book.patient_share[li] = _share(book.patient_share_reason[li], allowed)
            hit = True
        if hit and wrong:  # a denied one is underpaid too once paid after its correction
            underpaid.append(c)
            book.underpaid[c] = True
    return underpaid


def _share(reason: str, allowed: int) -> int:
    """The patient's share of a repriced line, by the same rule the book drew it with."""
    if reason == "1":  # deductible: all of it
        return allowed
    if reason == "2":  # coinsurance: a fifth
        return allowed // 5
    if reason == "3":
        return min(allowed, COPAY_CENTS)
    return 0


def fee_schedule_csv(as_of_year: int) -> str:
    """The organisation's contract fee schedule for the demo inbox: ACME's 99214 rate."""
    product = PAYERS[PAYER_INDEX[PAYER]].filing_indicator
    return ("payer,product,procedure,modifier,expected_allowed,effective_from,effective_to\n"
            f"{PAYER},{product},{PROCEDURE},,{CONTRACT_CENTS / 100:.2f},{as_of_year - 1}-01-01,\n")
