"""Hand-written 835 and 837 transaction sets, rendered with any delimiters and layout.

Segments are written once in canonical form (* elements, : components, ^ repetitions) and
`render` produces the bytes a sender might send: other delimiters, a line break after or
before each terminator, newline as the terminator, indentation, CRLF, a short ISA. Counts
(SE01, GE01, IEA01) are computed, so a test that wants them wrong says so explicitly.
"""
from __future__ import annotations

from dataclasses import dataclass

REMIT_1 = [  # one check: a paid claim (line CAS, two triplets in one CAS), a claim-level denial, a reversal
    "BPR*I*7.50*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20240115",
    "TRN*1*CHK0001*1512345678",
    "DTM*405*20240112",
    "N1*PR*ACME HEALTH PLAN*XV*ACME1",
    "REF*2U*ACME1",
    "N1*PE*GOOD CLINIC*XX*1234567893",
    "REF*TJ*123456789",
    "LX*1",
    "CLP*PCN001*1*200*120*30*12*PAYERCLM001*11*1",
    "NM1*QC*1*DOE*JANE****MI*MEM123",
    "NM1*82*1*SMITH*JOHN****XX*1234567893",
    "MOA***MA01*N123",
    "DTM*232*20240101",
    "DTM*233*20240101",
    "AMT*AU*150",
    "SVC*HC:99213:25:59*200*120**1",
    "DTM*472*20240101",
    "CAS*CO*45*50",
    "CAS*PR*1*20**2*10",
    "REF*6R*LINE001",
    "AMT*B6*150",
    "LQ*HE*N130",
    "CLP*PCN002*4*100*0*0*12*PAYERCLM002*11*1",
    "CAS*CO*197*100",
    "NM1*QC*1*ROE*RICHARD****MI*MEM456",
    "CLP*PCN003*22*-200*-120*-30*12*PAYERCLM001*11*1",
    "CAS*CO*45*-50",
    "CAS*PR*1*-20**2*-10",
    "NM1*QC*1*DOE*JANE****MI*MEM123",
    "PLB*1234567893*20241231*WO:ABC123*-10*L6*2.50",
]

REMIT_2 = [  # a second check in the same group: 4010-style header, units, modifiers
    "BPR*I*50*C*CHK************20240116",
    "TRN*1*CHK0002*1512345678",
    "N1*PR*OTHER PLAN",
    "N1*PE*GOOD CLINIC*XX*1234567893",
    "LX*1",
    "CLP*PCN004*1*60*50*10*MC*PAYERCLM004*11*1",
    "SVC*HC:97110:GP*60*50**2",
    "DTM*472*20240102",
    "CAS*PR*2*10",
]

CLAIMS_837P = [
    "BHT*0019*00*BATCH1*20240105*1200*CH",
    "NM1*41*2*GOOD CLINIC*****46*SUB001",
    "PER*IC*BILLING DESK*TE*5555555555",
    "NM1*40*2*ACME HEALTH PLAN*****46*ACME1",
    "HL*1**20*1",
    "NM1*85*2*GOOD CLINIC*****XX*1234567893",
    "N3*1 MAIN ST",
    "N4*SPRINGFIELD*IL*62701",
    "REF*EI*123456789",
    "HL*2*1*22*1",
    "SBR*P*18*GRP1******CI",
    "NM1*IL*1*DOE*JANE****MI*MEM123",
    "DMG*D8*19800101*F",
    "NM1*PR*2*ACME HEALTH PLAN*****PI*ACME1",
    "CLM*PCN001*200***11:B:1*Y*A*Y*Y",
    "REF*G1*AUTH77",
    "HI*ABK:J020*ABF:R509",
    "NM1*82*1*SMITH*JOHN****XX*1234567893",
    "LX*1",
    "SV1*HC:99213:25*200*UN*1*11**1",
    "DTP*472*D8*20240101",
    "REF*6R*LINE001",
    "HL*3*2*23*0",
    "PAT*19",
    "NM1*QC*1*DOE*JIMMY",
    "DMG*D8*20100505*M",
    "CLM*PCN002*100***11:B:7*Y*A*Y*Y",
    "REF*F8*PAYERCLM002",
    "HI*ABF:R05*ABK:Z0000",
    "SBR*S*18*******MC",
    "NM1*IL*1*DOE*JOHN****MI*OTHERMEM",
    "NM1*PR*2*OTHER PAYER*****PI*OTH1",
    "REF*F8*OTHERPAYERCLAIM",
    "LX*1",
    "SV1*HC:99214*100*UN*1*11**1",
    "DTP*472*RD8*20240103-20240105",
]

CLAIMS_837I = [
    "BHT*0019*00*BATCH2*20240105*1200*CH",
    "HL*1**20*1",
    "NM1*85*2*GENERAL HOSPITAL*****XX*1234567893",
    "HL*2*1*22*0",
    "SBR*P*18*******MC",
    "NM1*IL*1*DOE*JANE****MI*MEM123",
    "NM1*PR*2*MEDICARE*****PI*MCR01",
    "CLM*PCNI01*1500***13:A:1**A*Y*Y",
    "DTP*434*RD8*20240201-20240203",
    "HI*ABK:I10",
    "NM1*71*1*JONES*AMY****XX*1234567893",
    "LX*1",
    "SV2*0450*HC:99283*1500*UN*1",
    "DTP*472*D8*20240201",
]


@dataclass(frozen=True)
class Layout:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    terminator: str = "~"
    after: str = ""  # text after each terminator: "", "\n", "\r\n"
    before: str = ""  # a line break placed before each terminator
    indent: bool = False
    short_isa: bool = False  # ISA06/ISA08 not padded to fixed width


def _transaction(kind: str, control: str, body: list[str], version: str) -> list[str]:
    st = f"ST*{kind}*{control}*{version}" if version.startswith("005") else f"ST*{kind}*{control}"
    return [st, *body, f"SE*{len(body) + 2}*{control}"]


def interchange(sets: list[tuple[str, list[str]]], version: str = "005010X221A1", control: str = "000000101",
                layout: Layout = Layout(), functional: str = "HP") -> list[str]:
    """ISA..IEA around the given (kind, body) transaction sets, counts computed."""
    sender = "SENDER" if layout.short_isa else "SENDER".ljust(15)
    receiver = "RECEIVER" if layout.short_isa else "RECEIVER".ljust(15)
    isa_version = "00501" if version.startswith("005") else "00401"
    rep = "^" if isa_version == "00501" else "U"
    segs = [f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*{sender}*ZZ*{receiver}*240115*1200*{rep}*{isa_version}*{control}*0*P*:",
            f"GS*{functional}*SENDER*RECEIVER*20240115*1200*7*X*{version}"]
    for i, (kind, body) in enumerate(sets, 1):
        segs += _transaction(kind, f"{i:04d}", body, version)
    segs += [f"GE*{len(sets)}*7", f"IEA*1*{control}"]
    return segs


def render(segments: list[str], layout: Layout = Layout()) -> bytes:
    """Canonical segments → the text a sender would send with `layout`."""
    out = []
    for seg in segments:
        if seg.startswith("ISA*"):
            fields = seg.split("*")
            if fields[12] == "00501":
                fields[11] = layout.repetition
            fields[16] = layout.component
            text = layout.element.join(fields)
        else:
            text = seg.replace("^", "\x01").replace(":", "\x02").replace("*", "\x03")
            text = text.replace("\x01", layout.repetition).replace("\x02", layout.component)
            text = text.replace("\x03", layout.element)
        indent = "  " if layout.indent and not seg.startswith(("ISA", "GS", "GE", "IEA")) else ""
        out.append(f"{indent}{text}{layout.before}{layout.terminator}{layout.after}")
    return "".join(out).encode("utf-8")


def remit_file(layout: Layout = Layout(), **kw) -> bytes:
    return render(interchange([("835", REMIT_1), ("835", REMIT_2)], layout=layout, **kw), layout)


def claims_file(layout: Layout = Layout()) -> bytes:
    segs = interchange([("837", CLAIMS_837P)], version="005010X222A1", functional="HC", layout=layout)
    segs += interchange([("837", CLAIMS_837I)], version="005010X223A2", functional="HC", control="000000102",
                        layout=layout)
    return render(segs, layout)
