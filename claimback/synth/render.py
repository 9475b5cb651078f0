"""X12 text for one claim: the 837 claim loops and the 835 claim payment loops.

Everything is written with the canonical delimiters (`*` element, `:` component, `~`
terminator, no line breaks); `files.py` translates a finished file to its own delimiters.
Money is kept in integer cents so the 835 balances exactly: CLP03 - CLP04 = the claim's CAS
total, SVC02 - SVC03 = the line's CAS total, and reversals negate every amount.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from claimback.synth.book import DEDUCTIBLE, PAID, ClaimBook
from claimback.synth.denials import DENIAL_KINDS
from claimback.synth.pools import PAYERS, PROVIDERS
from claimback.synth.story import PARTIAL, REVERSAL, Event


def money(cents: int) -> str:
    """X12 decimal: no trailing ".00" (real payers drop it), sign in front."""
    if cents % 100 == 0:
        return str(cents // 100)
    sign = "-" if cents < 0 else ""
    a = -cents if cents < 0 else cents
    return f"{sign}{a // 100}.{a % 100:02d}"


@lru_cache(maxsize=8192)
def ymd(day: int) -> str:
    return str(np.datetime64(day, "D")).replace("-", "")


@dataclass
class LineResult:
    line: int  # index in the book's flat line lists
    paid: int
    allowed: int
    adjustments: list[tuple[str, str, int]]  # (group, CARC, cents)
    remarks: tuple[str, ...]


@dataclass
class Adjudication:
    status: str  # CLP02
    claim_adjustments: list[tuple[str, str, int]]
    claim_remarks: tuple[str, ...]
    lines: list[LineResult]  # empty when the payer answered at claim level only
    charge: int
    paid: int
    patient_share: int


def _paid_line(book: ClaimBook, li: int) -> LineResult:
    charge, allowed, share = book.charge[li], book.allowed[li], book.patient_share[li]
    adj = []
    if charge > allowed:
        adj.append(("CO", "45", charge - allowed))
    if share:
        adj.append(("PR", book.patient_share_reason[li], share))
    return LineResult(li, allowed - share, allowed, adj, ())


def adjudicate(book: ClaimBook, c: int, outcome: int) -> Adjudication:
    """The payer's decision on claim `c` for an outcome, balanced to the cent."""
    start, count = book.line_start[c], book.line_count[c]
    lines = range(start, start + count)
    status, claim_adj, claim_remarks = "1", [], ()
    if outcome in (PAID, DEDUCTIBLE):
        results = [_paid_line(book, li) for li in lines]
    elif outcome == PARTIAL:
        kind = DENIAL_KINDS[book.outcome[c]]
        if count > 1:  # the payer stands by the denial of one line and pays the rest
            denied = start + book.denied_line[c]
            results = [LineResult(li, 0, 0, [(kind.group, kind.carc, book.charge[li])], kind.rarcs)
                       if li == denied else _paid_line(book, li) for li in lines]
        else:  # the payer pays half of what it would have allowed
            li = start
            charge, allowed = book.charge[li], book.allowed[li]
            paid = allowed // 2
            results = [LineResult(li, paid, paid, [("CO", "45", charge - allowed),
                                                   (kind.group, kind.carc, allowed - paid)], kind.rarcs)]
    else:
        kind = DENIAL_KINDS[outcome]
        if kind.level == "claim":
            status = kind.claim_status
            if book.claim_level_only[c]:
                total = sum(book.charge[li] for li in lines)
                return Adjudication(status, [(kind.group, kind.carc, total)], kind.rarcs, [], total, 0,
                                    total if kind.group == "PR" else 0)
            results = [LineResult(li, 0, 0, [(kind.group, kind.carc, book.charge[li])], kind.rarcs)
                       for li in lines]
        else:
            denied = start + book.denied_line[c]
            results = [LineResult(li, 0, 0, [(kind.group, kind.carc, book.charge[li])], kind.rarcs)
                       if li == denied else _paid_line(book, li) for li in lines]
    charge = sum(book.charge[li] for li in lines)
    paid = sum(r.paid for r in results)
    share = sum(a[2] for r in results for a in r.adjustments if a[0] == "PR")
    return Adjudication(status, claim_adj, claim_remarks, results, charge, paid, share)


def cas_segments(adjustments: list[tuple[str, str, int]], sign: int) -> str:
    """One CAS per group code, up to six reason/amount triplets each (quantity left empty)."""
    out = []
    for group in ("CO", "OA", "PI", "PR"):
        triplets = [f"{rc}*{money(sign * amt)}" for g, rc, amt in adjustments if g == group and amt]
        if triplets:
            out.append(f"CAS*{group}*{'**'.join(triplets[:6])}~")
    return "".join(out)


def claim_835(book: ClaimBook, event: Event, adjudication: Adjudication, received_day: int) -> str:
    """The 2100 claim payment loop (CLP..) and its 2110 service loops for one event."""
    c = event.claim
    sign = -1 if event.role == REVERSAL else 1
    status = "22" if event.role == REVERSAL else adjudication.status
    ctype = book.claim_type[c]
    payer = PAYERS[book.payer[c]]
    people = book.people
    p = book.patient[c]
    prov = PROVIDERS[book.provider[c]]
    facility = prov.place_of_service
    share = adjudication.patient_share
    out = [f"CLP*{book.pcn[c]}*{status}*{money(sign * adjudication.charge)}*"
           f"{money(sign * adjudication.paid)}*{money(sign * share) if share else ''}*"
           f"{payer.filing_indicator}*{event.icn}*{facility}*{event.frequency}~"]
    if adjudication.claim_adjustments:
        out.append(cas_segments(adjudication.claim_adjustments, sign))
    out.append(f"NM1*QC*1*{people.last[p]}*{people.first[p]}****MI*{people.member_id[p]}~")
    if people.dependent[p]:
        out.append(f"NM1*IL*1*{people.last[p]}*{people.sub_first[p]}****MI*{people.member_id[p]}~")
    if ctype != "I":
        r_last, r_first, r_npi = prov.renderers[book.renderer[c]]
        out.append(f"NM1*82*1*{r_last}*{r_first}****XX*{r_npi}~")
    if adjudication.claim_remarks:
        # MIA has one claim-remark slot before its 20th element; MOA03-07 hold up to five.
        if ctype == "I":
            out.append(f"MIA*0****{adjudication.claim_remarks[0]}~")
        else:
            out.append(f"MOA***{'*'.join(adjudication.claim_remarks[:5])}~")
    if event.original_icn:
        out.append(f"REF*F8*{event.original_icn}~")
    if ctype == "I":
        out.append(f"DTM*232*{ymd(book.service_from[c])}~DTM*233*{ymd(book.service_to[c])}~")
    out.append(f"DTM*050*{ymd(received_day)}~")
    if adjudication.paid:
        out.append(f"AMT*AU*{money(sign * sum(r.allowed for r in adjudication.lines))}~")
    qualifier = "AD" if ctype == "D" else "HC"
    procedures = prov.procedures
    for r in adjudication.lines:
        li = r.line
        proc = procedures[book.procedure[li]]
        mod = book.modifier[li]
        code = f"{qualifier}:{proc.code}:{mod}" if mod else f"{qualifier}:{proc.code}"
        out.append(f"SVC*{code}*{money(sign * book.charge[li])}*{money(sign * r.paid)}*"
                   f"{proc.revenue_code}*{book.units[li]}~DTM*472*{ymd(book.line_day[li])}~")
        out.append(cas_segments(r.adjustments, sign))
        if r.allowed:
            out.append(f"AMT*B6*{money(sign * r.allowed)}~")
        for rarc in r.remarks:
            out.append(f"LQ*HE*{rarc}~")
    return "".join(out)


def claim_837(book: ClaimBook, c: int, hl: int, frequency: str, original_icn: str,
              legacy_dx: bool) -> tuple[str, int]:
    """Subscriber/patient HL loops and the 2300 claim with its service lines.

    Returns the text and the next free HL number. `legacy_dx` writes BK/BF diagnosis
    qualifiers (4010 style) instead of ABK/ABF, as some institutional feeds still do.
    """
    people = book.people
    p = book.patient[c]
    payer = PAYERS[book.payer[c]]
    prov = PROVIDERS[book.provider[c]]
    ctype = book.claim_type[c]
    dependent = people.dependent[p]
    last, member = people.last[p], people.member_id[p]
    city, state, zip_code = prov.address[1:]
    group_no = f"GRP{book.payer[c] + 1}{member[-4:]}" if payer.filing_indicator == "CI" else ""
    out = [f"HL*{hl}*1*22*{1 if dependent else 0}~",
           f"SBR*P*{'' if dependent else '18'}*{group_no}******{payer.filing_indicator}~"]
    if dependent:
        out.append(f"NM1*IL*1*{last}*{people.sub_first[p]}****MI*{member}~"
                   f"N3*{people.street[p]}~N4*{city}*{state}*{zip_code}~"
                   f"DMG*D8*{people.sub_dob[p]}*{'M' if people.sex[p] == 'F' else 'F'}~")
    else:
        out.append(f"NM1*IL*1*{last}*{people.first[p]}****MI*{member}~"
                   f"N3*{people.street[p]}~N4*{city}*{state}*{zip_code}~"
                   f"DMG*D8*{people.dob[p]}*{people.sex[p]}~")
    out.append(f"NM1*PR*2*{payer.name}*****PI*{payer.payer_id}~")
    next_hl = hl + 1
    if dependent:
        out.append(f"HL*{next_hl}*{hl}*23*0~PAT*19~NM1*QC*1*{last}*{people.first[p]}~"
                   f"N3*{people.street[p]}~N4*{city}*{state}*{zip_code}~"
                   f"DMG*D8*{people.dob[p]}*{people.sex[p]}~")
        next_hl += 1
    start, count = book.line_start[c], book.line_count[c]
    total = sum(book.charge[start:start + count])
    facility = "A" if ctype == "I" else "B"
    out.append(f"CLM*{book.pcn[c]}*{money(total)}***{prov.place_of_service}:{facility}:{frequency}*Y*A*Y*Y~")
    if ctype == "I":
        out.append(f"DTP*434*RD8*{ymd(book.service_from[c])}-{ymd(book.service_to[c])}~CL1*1*1*01~")
    elif ctype == "D":
        out.append(f"DTP*472*D8*{ymd(book.service_from[c])}~")
    if original_icn:
        out.append(f"REF*F8*{original_icn}~")
    if book.auth[c]:
        out.append(f"REF*G1*{book.auth[c]}~")
    dx = book.diagnoses[c]
    if ctype != "D":
        principal, other = ("BK", "BF") if legacy_dx else ("ABK", "ABF")
        out.append("HI*" + "*".join([f"{principal}:{dx[0]}"] + [f"{other}:{d}" for d in dx[1:]]) + "~")
    r_last, r_first, r_npi = prov.renderers[book.renderer[c]]
    if ctype == "I":
        out.append(f"NM1*71*1*{r_last}*{r_first}****XX*{r_npi}~")
    else:
        out.append(f"NM1*82*1*{r_last}*{r_first}****XX*{r_npi}~PRV*PE*PXC*{prov.taxonomy}~")
    procedures = prov.procedures
    for n, li in enumerate(range(start, start + count), 1):
        proc = procedures[book.procedure[li]]
        mod = book.modifier[li]
        charge = money(book.charge[li])
        day = ymd(book.line_day[li])
        if ctype == "P":
            code = f"HC:{proc.code}:{mod}" if mod else f"HC:{proc.code}"
            out.append(f"LX*{n}~SV1*{code}*{charge}*UN*{book.units[li]}***1~DTP*472*D8*{day}~")
        elif ctype == "I":
            out.append(f"LX*{n}~SV2*{proc.revenue_code}*HC:{proc.code}*{charge}*UN*{book.units[li]}~"
                       f"DTP*472*D8*{day}~")
        else:
            out.append(f"LX*{n}~SV3*AD:{proc.code}*{charge}****{book.units[li]}~DTP*472*D8*{day}~")
    return "".join(out), next_hl
