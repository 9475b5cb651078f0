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
import polars as pl

from claimback.synth.book import DEDUCTIBLE, PAID, ClaimBook
from claimback.synth.denials import DENIAL_KINDS
from claimback.synth.pools import PAYERS, PROCEDURES, PROVIDERS
from claimback.synth.story import ORIGINAL, PARTIAL, REVERSAL, Event

RECEIPT_DAYS = 2  # the payer receives a claim two days after it is sent


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
    clean: bool = False  # paid as contracted: identical to the pre-rendered line


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
    return LineResult(li, allowed - share, allowed, adj, (), True)


def _partly_denied_line(book: ClaimBook, li: int, kind) -> LineResult:
    """A paid line of which the payer refuses a share: a third of the allowed amount (one unit
    of three, or the days before the late authorization), the rest paid as contracted."""
    charge, allowed = book.charge[li], book.allowed[li]
    cut = max(1, allowed // 3)
    paid = allowed - cut
    adj = [("CO", "45", charge - allowed)] if charge > allowed else []
    return LineResult(li, paid, paid, adj + [(kind.group, kind.carc, cut)], kind.rarcs)


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
        elif kind.level == "partial":
            denied = start + book.denied_line[c]
            results = [_partly_denied_line(book, li, kind) if li == denied else _paid_line(book, li)
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


def claim_835(book: ClaimBook, prepared: "Prepared", event: Event) -> tuple[str, int]:
    """The 2100 claim payment loop (CLP..) and its 2110 service loops for one event.

    Returns the text and the paid amount it adds to the check (negative for a reversal).
    A clean first payment, the bulk of any remittance, is pre-rendered but for its CLP07.
    """
    c = event.claim
    if event.role == ORIGINAL and event.outcome in (PAID, DEDUCTIBLE):
        return f"{prepared.paid_835_head[c]}{event.icn}{prepared.paid_835_tail[c]}", prepared.claim_paid[c]
    if event.role != REVERSAL and event.outcome in (PAID, DEDUCTIBLE):
        charge, paid = prepared.claim_charge[c], prepared.claim_paid[c]
        share, allowed = prepared.claim_share[c], prepared.claim_allowed[c]
        start = book.line_start[c]
        return (_claim_head(book, prepared, event, "1", charge, paid, share, (), (), 1, allowed if paid else 0)
                + "".join(prepared.line_835_paid[start:start + book.line_count[c]])), paid
    adjudication = adjudicate(book, c, event.outcome)
    sign = -1 if event.role == REVERSAL else 1
    status = "22" if event.role == REVERSAL else adjudication.status
    allowed = sum(r.allowed for r in adjudication.lines) if adjudication.paid else 0
    out = [_claim_head(book, prepared, event, status, adjudication.charge, adjudication.paid,
                       adjudication.patient_share, adjudication.claim_adjustments,
                       adjudication.claim_remarks, sign, allowed)]
    for r in adjudication.lines:
        li = r.line
        if r.clean and sign == 1:
            out.append(prepared.line_835_paid[li])
            continue
        out.append(f"SVC*{prepared.composite[li]}*{money(sign * book.charge[li])}*{money(sign * r.paid)}*"
                   f"{prepared.revenue[li]}*{book.units[li]}~DTM*472*{prepared.day[li]}~")
        out.append(cas_segments(r.adjustments, sign))
        if r.allowed:
            out.append(f"AMT*B6*{money(sign * r.allowed)}~")
        for rarc in r.remarks:
            out.append(f"LQ*HE*{rarc}~")
    return "".join(out), sign * adjudication.paid


def _claim_head(book: ClaimBook, prepared: "Prepared", event: Event, status: str, charge: int,
                paid: int, share: int, claim_adjustments, claim_remarks, sign: int, allowed: int) -> str:
    """CLP through AMT*AU: the claim-level part of a claim payment loop."""
    c = event.claim
    ctype = book.claim_type[c]
    out = [f"CLP*{book.pcn[c]}*{status}*{money(sign * charge)}*{money(sign * paid)}*"
           f"{money(sign * share) if share else ''}*{prepared.filing[c]}*{event.icn}*"
           f"{prepared.facility[c]}*{event.frequency}~"]
    if claim_adjustments:
        out.append(cas_segments(claim_adjustments, sign))
    out.append(prepared.patient_835(book.patient[c]))
    if ctype != "I":
        out.append(prepared.rendering_835[c])
    if claim_remarks:
        # MIA has one claim-remark slot before its 20th element; MOA03-07 hold up to five.
        if ctype == "I":
            out.append(f"MIA*0****{claim_remarks[0]}~")
        else:
            out.append(f"MOA***{'*'.join(claim_remarks[:5])}~")
    if event.original_icn:
        out.append(f"REF*F8*{event.original_icn}~")
    if ctype == "I":
        out.append(f"DTM*232*{ymd(book.service_from[c])}~DTM*233*{ymd(book.service_to[c])}~")
    out.append(f"DTM*050*{ymd(book.submit_day[c] + RECEIPT_DAYS)}~")
    if allowed:
        out.append(f"AMT*AU*{money(sign * allowed)}~")
    return "".join(out)


def claim_837(book: ClaimBook, prepared: "Prepared", c: int, hl: int, frequency: str,
              original_icn: str, legacy_dx: bool) -> tuple[str, int]:
    """Subscriber/patient HL loops and the 2300 claim with its service lines.

    Returns the text and the next free HL number. `legacy_dx` writes BK/BF diagnosis
    qualifiers (4010 style) instead of ABK/ABF, as some institutional feeds still do.
    """
    subscriber, patient = prepared.subscriber_837(book.patient[c], book.payer[c], book.provider[c])
    if book.other_payer and book.other_payer[c] >= 0:  # billed as secondary: SBR01 S
        subscriber = "SBR*S" + subscriber[len("SBR*P"):]
    out = [f"HL*{hl}*1*22*{1 if patient else 0}~", subscriber]
    next_hl = hl + 1
    if patient:
        out.append(f"HL*{next_hl}*{hl}*23*0~{patient}")
        next_hl += 1
    if frequency == "1":
        body = prepared.claim_837[c]
    else:  # a replacement: CLM05-3 and REF*F8 (before the other REFs of the 2300 loop)
        clm, dates, rest = prepared.claim_837_parts(c)
        body = f"{clm[:-len(_ORIGINAL_CLM_TAIL)]}{frequency}*Y*A*Y*Y~{dates}REF*F8*{original_icn}~{rest}"
    if legacy_dx:
        body = body.replace("*ABK:", "*BK:").replace("*ABF:", "*BF:")
    out.append(body)
    return "".join(out), next_hl


_ORIGINAL_CLM_TAIL = "1*Y*A*Y*Y~"


def money_expr(cents: pl.Expr) -> pl.Expr:
    """`money` for a whole column at once (same text, cent for cent)."""
    a = cents.abs()
    whole = (a // 100).cast(pl.String)
    body = pl.when(a % 100 == 0).then(whole).otherwise(
        pl.concat_str([whole, pl.lit("."), (a % 100).cast(pl.String).str.zfill(2)]))
    return pl.when(cents < 0).then(pl.concat_str([pl.lit("-"), body])).otherwise(body)


def _optional(condition: pl.Expr, *parts: pl.Expr | str) -> pl.Expr:
    return pl.when(condition).then(pl.concat_str([pl.lit(x) if isinstance(x, str) else x for x in parts])
                                   ).otherwise(pl.lit(""))


def _cat(*parts: pl.Expr | str) -> pl.Expr:
    return pl.concat_str([pl.lit(x) if isinstance(x, str) else x for x in parts])


class Prepared:
    """Text that does not depend on how a claim is adjudicated, rendered once per block.

    Service lines (837 LX/SV1-3/DTP and the 835 SVC loop of a clean payment) are built
    column-wise with Polars; patient and provider name segments are cached per person.
    """

    def __init__(self, book: ClaimBook) -> None:
        self.book = book
        claim_of_line = np.repeat(np.arange(len(book)), book.line_count)
        rows = PROCEDURES.rows(np.asarray(book.provider, dtype=np.int64)[claim_of_line],
                               np.asarray(book.procedure, dtype=np.int64))
        ctype = np.asarray(book.claim_type)[claim_of_line]
        position = np.arange(len(claim_of_line)) - np.asarray(book.line_start)[claim_of_line] + 1
        lines = pl.DataFrame({
            "code": PROCEDURES.code[rows], "rev": PROCEDURES.revenue_code[rows],
            "mod": book.modifier, "ctype": ctype, "n": position,
            "charge": book.charge, "allowed": book.allowed, "share": book.patient_share,
            "reason": book.patient_share_reason, "units": book.units, "day": book.line_day,
        }, schema_overrides={"day": pl.Int32})
        charge, allowed, share = pl.col("charge"), pl.col("allowed"), pl.col("share")
        composite = _cat(pl.when(pl.col("ctype") == "D").then(pl.lit("AD")).otherwise(pl.lit("HC")),
                         ":", pl.col("code"), _optional(pl.col("mod") != "", ":", pl.col("mod")))
        day = pl.from_epoch("day", time_unit="d").dt.strftime("%Y%m%d")
        units = pl.col("units").cast(pl.String)
        lines = lines.with_columns(composite=composite, day_s=day, charge_s=money_expr(charge))
        c, d = pl.col("composite"), pl.col("day_s")
        lx = _cat("LX*", pl.col("n").cast(pl.String), "~")
        lines = lines.with_columns(
            line_837=pl.when(pl.col("ctype") == "P").then(
                _cat(lx, "SV1*", c, "*", pl.col("charge_s"), "*UN*", units, "***1~DTP*472*D8*", d, "~")
            ).when(pl.col("ctype") == "I").then(
                _cat(lx, "SV2*", pl.col("rev"), "*", c, "*", pl.col("charge_s"), "*UN*", units,
                     "~DTP*472*D8*", d, "~")
            ).otherwise(_cat(lx, "SV3*", c, "*", pl.col("charge_s"), "****", units, "~DTP*472*D8*", d, "~")),
            line_835_paid=_cat(
                "SVC*", c, "*", pl.col("charge_s"), "*", money_expr(allowed - share), "*", pl.col("rev"), "*",
                units, "~DTM*472*", d, "~",
                _optional(charge > allowed, "CAS*CO*45*", money_expr(charge - allowed), "~"),
                _optional(share > 0, "CAS*PR*", pl.col("reason"), "*", money_expr(share), "~"),
                _optional(allowed > 0, "AMT*B6*", money_expr(allowed), "~")),
        )
        self.composite: list[str] = lines["composite"].to_list()
        self.revenue: list[str] = lines["rev"].to_list()
        self.day: list[str] = lines["day_s"].to_list()
        self.line_837: list[str] = lines["line_837"].to_list()
        self.line_835_paid: list[str] = lines["line_835_paid"].to_list()
        starts = np.asarray(book.line_start, dtype=np.int64)

        def per_claim(values: list[int]) -> list[int]:
            if not len(starts):
                return []
            return np.add.reduceat(np.asarray(values, dtype=np.int64), starts).tolist()

        self.claim_charge = per_claim(book.charge)
        self.claim_allowed = per_claim(book.allowed)
        self.claim_share = per_claim(book.patient_share)
        self.claim_paid = [a - s for a, s in zip(self.claim_allowed, self.claim_share)]
        self.filing = [PAYERS[p].filing_indicator for p in book.payer]
        self.facility = [PROVIDERS[p].place_of_service for p in book.provider]
        render_835 = [[f"NM1*82*1*{last}*{first}****XX*{npi}~" for last, first, npi in prov.renderers]
                      for prov in PROVIDERS]
        render_837 = [[f"NM1*{'71' if prov.claim_type == 'I' else '82'}*1*{last}*{first}****XX*{npi}~"
                       + ("" if prov.claim_type == "I" else f"PRV*PE*PXC*{prov.taxonomy}~")
                       for last, first, npi in prov.renderers] for prov in PROVIDERS]
        self.rendering_835 = [render_835[p][r] for p, r in zip(book.provider, book.renderer)]
        self.rendering_837 = [render_837[p][r] for p, r in zip(book.provider, book.renderer)]
        self._claim_837_columns(lines, claim_of_line)
        self._paid_835_columns(lines, claim_of_line)
        self._subscriber_837: dict[tuple[int, int], tuple[str, str]] = {}

    def _claim_837_columns(self, lines: pl.DataFrame, claim_of_line: np.ndarray) -> None:
        """The 2300 loop of every claim as an original (frequency 1) submission, in three
        parts so a replacement can slip its REF*F8 in: CLM, the claim dates, the rest."""
        book = self.book
        hi = [("" if t == "D" else "HI*" + "*".join([f"ABK:{dx[0]}", *(f"ABF:{d}" for d in dx[1:])]) + "~")
              for t, dx in zip(book.claim_type, book.diagnoses)]
        joined = (lines.select(pl.Series("claim", claim_of_line), "line_837")
                  .group_by("claim", maintain_order=True).agg(pl.col("line_837").str.join("")))
        ctype, day_from, day_to = pl.col("ctype"), pl.col("from"), pl.col("to")
        claims = pl.DataFrame({
            "pcn": book.pcn, "ctype": book.claim_type, "facility": self.facility,
            "charge": self.claim_charge, "auth": book.auth, "hi": hi, "render": self.rendering_837,
            "from": book.service_from, "to": book.service_to, "trend": book.trend,
            "referral": book.referral, "cob": [self._other_payer_837(c) for c in range(len(book))],
        }, schema_overrides={"from": pl.Int32, "to": pl.Int32}).with_columns(
            # A third of the professional/dental authorizations outside the planted trends are sent on
            # the (last) service line, loop 2400 REF*G1 (837I has no line-level G1): the router must read it.
            on_line=(pl.col("auth") != "") & (pl.col("trend") == "") & (pl.col("ctype") != "I")
            & (pl.col("auth").str.slice(-1).cast(pl.Int32, strict=False) % 3 == 0).fill_null(False),
        ).with_columns(
            from_s=pl.from_epoch("from", time_unit="d").dt.strftime("%Y%m%d"),
            to_s=pl.from_epoch("to", time_unit="d").dt.strftime("%Y%m%d"),
            lines=joined["line_837"] if len(joined) else pl.lit(""),
        ).select(
            clm=_cat("CLM*", pl.col("pcn"), "*", money_expr(pl.col("charge")), "***", pl.col("facility"), ":",
                     pl.when(ctype == "I").then(pl.lit("A")).otherwise(pl.lit("B")), ":", _ORIGINAL_CLM_TAIL),
            dates=pl.when(ctype == "I").then(
                _cat("DTP*434*RD8*", pl.col("from_s"), "-", pl.col("to_s"), "~CL1*1*1*01~")
            ).when(ctype == "D").then(_cat("DTP*472*D8*", pl.col("from_s"), "~")).otherwise(pl.lit("")),
            rest=_cat(_optional(pl.col("referral") != "", "REF*9F*", pl.col("referral"), "~"),
                      _optional((pl.col("auth") != "") & ~pl.col("on_line"), "REF*G1*", pl.col("auth"), "~"),
                      pl.col("hi"), pl.col("render"), pl.col("cob"), pl.col("lines"),
                      _optional(pl.col("on_line"), "REF*G1*", pl.col("auth"), "~")),
        )
        self._clm: list[str] = claims["clm"].to_list()
        self._dates: list[str] = claims["dates"].to_list()
        self._rest: list[str] = claims["rest"].to_list()
        self.claim_837: list[str] = claims.select(_cat(pl.col("clm"), pl.col("dates"), pl.col("rest"))
                                                  ).to_series().to_list()

    def _paid_835_columns(self, lines: pl.DataFrame, claim_of_line: np.ndarray) -> None:
        """Every claim's payment loop as a clean first payment, split around CLP07."""
        book = self.book
        people = book.people
        self.patient_835_text = self._patients_835(people)
        per_patient = np.array(self.patient_835_text, dtype=object)
        joined = (lines.select(pl.Series("claim", claim_of_line), "line_835_paid")
                  .group_by("claim", maintain_order=True).agg(pl.col("line_835_paid").str.join("")))
        ctype, charge = pl.col("ctype"), pl.col("charge")
        paid, share, allowed = pl.col("paid"), pl.col("share"), pl.col("allowed")
        frame = pl.DataFrame({
            "pcn": book.pcn, "ctype": book.claim_type, "facility": self.facility, "filing": self.filing,
            "charge": self.claim_charge, "paid": self.claim_paid, "share": self.claim_share,
            "allowed": self.claim_allowed, "patient": per_patient[np.asarray(book.patient, dtype=np.int64)]
            if len(book) else [], "render": self.rendering_835,
            "from": book.service_from, "to": book.service_to,
            "received": [d + RECEIPT_DAYS for d in book.submit_day],
        }, schema_overrides={"from": pl.Int32, "to": pl.Int32, "received": pl.Int32, "patient": pl.String})
        day = {name: pl.from_epoch(name, time_unit="d").dt.strftime("%Y%m%d") for name in ("from", "to", "received")}
        frame = frame.with_columns(lines=joined["line_835_paid"] if len(joined) else pl.lit("")).select(
            head=_cat("CLP*", pl.col("pcn"), "*1*", money_expr(charge), "*", money_expr(paid), "*",
                      _optional(share != 0, money_expr(share)), "*", pl.col("filing"), "*"),
            tail=_cat("*", pl.col("facility"), "*1~", pl.col("patient"),
                      _optional(ctype != "I", pl.col("render")),
                      _optional(ctype == "I", "DTM*232*", day["from"], "~DTM*233*", day["to"], "~"),
                      "DTM*050*", day["received"], "~",
                      _optional(paid != 0, "AMT*AU*", money_expr(allowed), "~"), pl.col("lines")),
        )
        self.paid_835_head: list[str] = frame["head"].to_list()
        self.paid_835_tail: list[str] = frame["tail"].to_list()

    def _other_payer_837(self, c: int) -> str:
        """Loops 2320/2330A/2330B of a claim billed as secondary (book.other_payer): the primary's
        SBR (P, self, its filing indicator), OI (benefits assigned, release of information), the
        subscriber under that plan and the plan itself. "" for the other claims."""
        book = self.book
        other = book.other_payer[c] if book.other_payer else -1
        if other < 0:
            return ""
        people, p, payer = book.people, book.patient[c], PAYERS[other]
        member = f"{payer.member_prefix}{people.member_id[p][-8:]}"
        return (f"SBR*P*18*******{payer.filing_indicator}~OI***Y*P**Y~"
                f"NM1*IL*1*{people.last[p]}*{people.first[p]}****MI*{member}~"
                f"NM1*PR*2*{payer.name}*****PI*{payer.payer_id}~")

    def claim_837_parts(self, c: int) -> tuple[str, str, str]:
        return self._clm[c], self._dates[c], self._rest[c]

    def patient_835(self, p: int) -> str:
        """NM1*QC (and NM1*IL for a dependent) of patient `p`."""
        return self.patient_835_text[p]

    @staticmethod
    def _patients_835(people) -> list[str]:
        out = []
        for last, first, member, dependent, sub_first in zip(people.last, people.first, people.member_id,
                                                             people.dependent, people.sub_first):
            text = f"NM1*QC*1*{last}*{first}****MI*{member}~"
            if dependent:
                text += f"NM1*IL*1*{last}*{sub_first}****MI*{member}~"
            out.append(text)
        return out

    def subscriber_837(self, p: int, payer_i: int, provider_i: int) -> tuple[str, str]:
        """(SBR..NM1*PR of the subscriber loop, PAT..DMG of the patient loop or "")."""
        key = (p, provider_i)
        cached = self._subscriber_837.get(key)
        if cached is not None:
            return cached
        people = self.book.people
        payer = PAYERS[payer_i]
        city, state, zip_code = PROVIDERS[provider_i].address[1:]
        last, member = people.last[p], people.member_id[p]
        address = f"N3*{people.street[p]}~N4*{city}*{state}*{zip_code}~"
        group_no = f"GRP{payer_i + 1}{member[-4:]}" if payer.filing_indicator == "CI" else ""
        if people.dependent[p]:
            other_sex = "M" if people.sex[p] == "F" else "F"
            subscriber = (f"SBR*P**{group_no}******{payer.filing_indicator}~"
                          f"NM1*IL*1*{last}*{people.sub_first[p]}****MI*{member}~{address}"
                          f"DMG*D8*{people.sub_dob[p]}*{other_sex}~")
            patient = (f"PAT*19~NM1*QC*1*{last}*{people.first[p]}~{address}"
                       f"DMG*D8*{people.dob[p]}*{people.sex[p]}~")
        else:
            subscriber = (f"SBR*P*18*{group_no}******{payer.filing_indicator}~"
                          f"NM1*IL*1*{last}*{people.first[p]}****MI*{member}~{address}"
                          f"DMG*D8*{people.dob[p]}*{people.sex[p]}~")
            patient = ""
        subscriber += f"NM1*PR*2*{payer.name}*****PI*{payer.payer_id}~"
        self._subscriber_837[key] = (subscriber, patient)
        return subscriber, patient
