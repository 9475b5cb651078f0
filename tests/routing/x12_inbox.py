"""Hand-written X12 837P / 835 files for the routing cases, segment by segment.

Each segment is written as the 005010X222A1 (837P) and 005010X221A1 (835) implementation guides
define it; only the envelope arithmetic (ISA padding, SE segment counts) is computed. A case
adds its own segments (REF*G1 on a line, a 2320 other-payer loop, CLP02=23...) where the guide
puts them. Not produced by claimback's synthetic generator.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

BILLING_NPI = "1234567893"  # the CMS example NPI (valid check digit)
BILLING_TIN = "911234567"


def _isa(sender: str, receiver: str, date: str, control: str, usage: str = "P") -> str:
    # ISA: fixed-width interchange header; ISA09 YYMMDD, ISA11 repetition separator ^,
    # ISA12 version 00501, ISA16 component separator ':'
    return (f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender:<15}*ZZ*{receiver:<15}*{date[2:]}*1200*^*00501*"
            f"{control}*0*{usage}*:")


def interchange(functional_id: str, version: str, st01: str, body: list[str], date: str, control: str) -> str:
    """ISA/GS/ST ... SE/GE/IEA around the segments of one transaction set (SE01 counts ST..SE)."""
    segments = [
        _isa("CLINIC", "PAYER", date, control),
        f"GS*{functional_id}*CLINIC*PAYER*{date}*1200*{int(control)}*X*{version}",  # GS04: file created
        f"ST*{st01}*0001*{version}" if st01 == "837" else f"ST*{st01}*0001",
        *body,
    ]
    segments.append(f"SE*{len(body) + 2}*0001")
    segments += [f"GE*1*{int(control)}", f"IEA*1*{control}"]
    return "~\n".join(segments) + "~\n"


@dataclass
class Claim837:
    """One 2300 CLM with one 2400 service line, under its own subscriber HL (loop 2000B)."""

    pcn: str  # CLM01 patient control number
    member: str  # NM1*IL09 subscriber member id
    service_date: str  # DTP*472 D8 CCYYMMDD
    procedure: str  # SV101-2 HCPCS/CPT
    charge: str = "150"
    frequency: str = "1"  # CLM05-3: 1 original, 7 replacement
    sbr01: str = "P"  # SBR01 payer responsibility: P primary, S secondary
    claim_refs: list[str] = field(default_factory=list)  # 2300 REF segments (G1 authorization, 9F referral, F8)
    other_payer: list[str] = field(default_factory=list)  # 2320/2330A/2330B loops (COB)
    line_refs: list[str] = field(default_factory=list)  # 2400 REF segments (G1 line authorization)


def claims_837(payer_name: str, payer_id: str, claims: list[Claim837], date: str, control: str) -> str:
    body = [
        "BHT*0019*00*BATCH1*" + date + "*1200*CH",  # BHT: original (00) chargeable (CH) claims
        "NM1*41*2*RIVER CLINIC*****46*S1",  # 1000A submitter
        "PER*IC*BILLING*TE*5555551234",
        "NM1*40*2*CLEARINGHOUSE*****46*R1",  # 1000B receiver
        "HL*1**20*1",  # 2000A billing provider
        f"NM1*85*2*RIVER CLINIC*****XX*{BILLING_NPI}",  # 2010AA billing provider NPI
        "N3*1 MAIN ST",
        "N4*SEATTLE*WA*98101",
        f"REF*EI*{BILLING_TIN}",  # billing provider TIN
    ]
    for n, c in enumerate(claims, start=2):
        body += [
            f"HL*{n}*1*22*0",  # 2000B subscriber, no patient HL below (subscriber is the patient)
            f"SBR*{c.sbr01}*18*******MC",  # SBR01 responsibility, SBR02 self, SBR09 MC = Medicaid
            f"NM1*IL*1*DOE*SAM****MI*{c.member}",  # 2010BA subscriber
            "DMG*D8*19800101*F",
            f"NM1*PR*2*{payer_name}*****PI*{payer_id}",  # 2010BB payer
            f"CLM*{c.pcn}*{c.charge}***11:B:{c.frequency}*Y*A*Y*Y",  # CLM05: POS 11, B, frequency
            *c.claim_refs,
            "HI*ABK:J069",  # principal diagnosis
            *c.other_payer,
            "LX*1",
            f"SV1*HC:{c.procedure}*{c.charge}*UN*1***1",
            f"DTP*472*D8*{c.service_date}",
            *c.line_refs,
        ]
    return interchange("HC", "005010X222A1", "837", body, date, control)


@dataclass
class Remit:
    """One 2100 CLP with one 2110 SVC line; the CAS adjustments sit on the line."""

    pcn: str
    icn: str  # CLP07 payer claim control number
    member: str  # NM1*QC09
    service_date: str
    procedure: str
    charge: str = "150"
    paid: str = "0"
    status: str = "1"  # CLP02
    adjustments: list[tuple[str, str, str]] = field(default_factory=list)  # (group, CARC, amount)
    remarks: list[str] = field(default_factory=list)  # LQ*HE remark codes on the line
    # DTM*232 is situational: many professional 835s date the visit on the line (DTM*472) only
    claim_dates: bool = True
    product: str = "MC"  # CLP06 claim filing indicator: MC Medicaid, CI commercial


def remit_835(payer_name: str, payer_id: str, remits: list[Remit], date: str, control: str) -> str:
    total = sum(float(r.paid) for r in remits)
    body = [
        f"BPR*I*{total:.2f}*C*CHK************{date}",  # BPR16: payment date (the EOP date)
        f"TRN*1*CHK{control}*1{BILLING_TIN}",
        f"DTM*405*{date}",  # production date
        f"N1*PR*{payer_name}*XV*{payer_id}",  # 1000A payer, N104 payer id
        "N3*PO BOX 1",
        "N4*TACOMA*WA*98402",
        f"N1*PE*RIVER CLINIC*XX*{BILLING_NPI}",  # 1000B payee NPI
        f"REF*TJ*{BILLING_TIN}",
        "LX*1",
    ]
    for r in remits:
        body += [
            f"CLP*{r.pcn}*{r.status}*{r.charge}*{r.paid}**{r.product}*{r.icn}*11*1",
            f"NM1*QC*1*DOE*SAM****MI*{r.member}",  # patient
            *([f"DTM*232*{r.service_date}"] if r.claim_dates else []),  # claim statement period start
            f"SVC*HC:{r.procedure}*{r.charge}*{r.paid}**1",
            f"DTM*472*{r.service_date}",
        ]
        body += [f"CAS*{g}*{code}*{amount}" for g, code, amount in r.adjustments]
        body += [f"LQ*HE*{code}" for code in r.remarks]
    return interchange("HP", "005010X221A1", "835", body, date, control)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path
