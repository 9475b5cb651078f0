"""A hand-written inbox of two practices billing one payer: 837P claims, 835 remits, a log.

Written segment by segment from the X12 5010 implementation guides (837P 005010X222A1, 835
005010X221A1), every value chosen by hand so a test can say what each packet must print.

Practice A, EVERGREEN PHYSICAL THERAPY: billing NPI 1777777776, TIN 91-2345678 (REF*EI), a 2010AA
address with a suite and a 9-digit ZIP, and a 2010AA PER contact (Dana Lee). Its 1000A submitter
PER (the clearinghouse desk) is NOT the billing provider's contact.
Practice B, TACOMA FAMILY MEDICINE: billing NPI 1888888885, TIN 92-0000001, no PER.
Both bill COORDINATED CARE (payer id CCWA1); the 835s name each practice as payee (N1*PE, REF*TJ).

claim   practice  member (DOB)                denial               history (reconsiderations.csv)      packet
A-1001  A         HARBOR, ALICE (1970-03-15)  CO-204 on line 1     -                                  Level I
A-1002  A         QUINN, BOB (1961-11-02)     CO-204               Level I filed 2026-10-25, pending   none: awaiting
A-1003..A-1005  A members of their own        CO-16 + N290         -                                  trend (3 = threshold)
B-2001  B         ROSS, CARA (2015-06-10),    CO-204               Level I upheld 2026-10-20           Level II
                  patient HL under her father's subscriber HL (his DOB 1980-01-01 must not print)
B-2002  B         STONE, DEV (1990-07-07)     CO-204               Level I and Level II upheld        none: exhausted
B-2003..B-2004  B                             CO-16 + N290         -                                  none: 2 < 3

The trend threshold is lowered to 3 by a payer rules file (`rules_with_threshold`), so that a
handful of hand-written claims make a trend: A's 3 are one, B's 2 are not, and 3 + 2 are never 5.
A-1005's payer claim number is a spreadsheet formula, as a hostile 835 could send.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

AS_OF = date(2026, 11, 1)
REMIT_DATE = date(2026, 10, 15)

PRACTICE_A = {"name": "EVERGREEN PHYSICAL THERAPY", "npi": "1777777776", "tin": "912345678",
              "address": "2200 PACIFIC AVE, SUITE 4, TACOMA, WA 98402-1234", "contact": "DANA LEE",
              "phone": "2535550100", "email": "BILLING@EVERGREEN.EXAMPLE"}
PRACTICE_B = {"name": "TACOMA FAMILY MEDICINE", "npi": "1888888885", "tin": "920000001",
              "address": "901 S 11TH ST, TACOMA, WA 98405"}
FORMULA = "=cmd|' /C calc'!A1"

# What each claim's 837 says, as the packets must print it.
CLAIMS_837 = {
    "A-1001": {"practice": PRACTICE_A, "dob": "1970-03-15", "dos": "2026-09-02", "auth": "PA-5551",
               "referral": "RF-77", "member": "HARBOR, ALICE", "member_id": "CCW1001"},
    "A-1002": {"practice": PRACTICE_A, "dob": "1961-11-02", "dos": "2026-09-09", "auth": None,
               "referral": None, "member": "QUINN, BOB", "member_id": "CCW1002"},
    "B-2001": {"practice": PRACTICE_B, "dob": "2015-06-10", "dos": "2026-09-03", "auth": "PA-9001",
               "referral": None, "member": "ROSS, CARA", "member_id": "CCW2001"},
    "B-2002": {"practice": PRACTICE_B, "dob": "1990-07-07", "dos": "2026-09-04", "auth": None,
               "referral": None, "member": "STONE, DEV", "member_id": "CCW2002"},
}


def _envelope(kind: str, version: str, body: list[str], sender: str) -> str:
    """ISA/GS/ST around `body`; SE counts ST..SE as the guide requires."""
    group = "HC" if kind == "837" else "HP"
    st = [f"ST*{kind}*0001*{version}"] + body
    segments = [
        f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*RECEIVER       *261015*1200*^*00501*000000001*0*P*:",
        f"GS*{group}*{sender}*RECEIVER*20261015*1200*1*X*{version}",
        *st,
        f"SE*{len(st) + 1}*0001",
        "GE*1*1",
        "IEA*1*000000001",
    ]
    return "~\n".join(segments) + "~\n"


def claims_837_a() -> str:
    body = [
        "BHT*0019*00*EVG-BATCH-1*20261001*1200*CH",
        "NM1*41*2*EVERGREEN PHYSICAL THERAPY*****46*EVG01",   # 1000A submitter
        "PER*IC*CLEARINGHOUSE DESK*TE*8005550199",            # submitter contact: not the billing provider's
        "NM1*40*2*COORDINATED CARE*****46*CCWA1",             # 1000B receiver
        "HL*1**20*1",                                        # 2000A billing provider
        "NM1*85*2*EVERGREEN PHYSICAL THERAPY*****XX*1777777776",
        "N3*2200 PACIFIC AVE*SUITE 4",
        "N4*TACOMA*WA*984021234",
        "REF*EI*912345678",
        "PER*IC*DANA LEE*TE*2535550100*EM*BILLING@EVERGREEN.EXAMPLE",
        # A-1001: subscriber is the patient; authorization and referral on the claim; two lines
        "HL*2*1*22*0", "SBR*P*18*******MC",
        "NM1*IL*1*HARBOR*ALICE****MI*CCW1001", "N3*12 ELM ST", "N4*TACOMA*WA*98403",
        "DMG*D8*19700315*F", "NM1*PR*2*COORDINATED CARE*****PI*CCWA1",
        "CLM*A-1001*270***11:B:1*Y*A*Y*Y", "REF*G1*PA-5551", "REF*9F*RF-77", "HI*ABK:M545",
        "LX*1", "SV1*HC:97110:GP*150*UN*1***1", "DTP*472*D8*20260902",
        "LX*2", "SV1*HC:97140:GP*120*UN*1***1", "DTP*472*D8*20260902",
        # A-1002: no authorization on the claim
        "HL*3*1*22*0", "SBR*P*18*******MC",
        "NM1*IL*1*QUINN*BOB****MI*CCW1002", "N3*40 OAK AVE", "N4*TACOMA*WA*98404",
        "DMG*D8*19611102*M", "NM1*PR*2*COORDINATED CARE*****PI*CCWA1",
        "CLM*A-1002*200***11:B:1*Y*A*Y*Y", "HI*ABK:M545",
        "LX*1", "SV1*HC:97110:GP*200*UN*1***1", "DTP*472*D8*20260909",
    ]
    for n, (last, dob, dos) in enumerate((("LANE", "19850101", "20260910"), ("MOSS", "19850202", "20260911"),
                                          ("NASH", "19850303", "20260912")), start=3):
        body += [
            f"HL*{n + 1}*1*22*0", "SBR*P*18*******MC",
            f"NM1*IL*1*{last}*PAT****MI*CCW100{n}", "N3*1 MAIN ST", "N4*TACOMA*WA*98402",
            f"DMG*D8*{dob}*F", "NM1*PR*2*COORDINATED CARE*****PI*CCWA1",
            f"CLM*A-100{n}*100***11:B:1*Y*A*Y*Y", "HI*ABK:M545",
            "LX*1", "SV1*HC:97530*100*UN*1***1", f"DTP*472*D8*{dos}",
        ]
    return _envelope("837", "005010X222A1", body, "EVG01")


def claims_837_b() -> str:
    body = [
        "BHT*0019*00*TFM-BATCH-1*20261001*1200*CH",
        "NM1*41*2*TACOMA FAMILY MEDICINE*****46*TFM01",
        "PER*IC*FRONT DESK*TE*2535550300",
        "NM1*40*2*COORDINATED CARE*****46*CCWA1",
        "HL*1**20*1",
        "NM1*85*2*TACOMA FAMILY MEDICINE*****XX*1888888885",
        "N3*901 S 11TH ST",
        "N4*TACOMA*WA*98405",
        "REF*EI*920000001",
        # B-2001: the father is the subscriber, the patient is his daughter (HL 23 with her DMG)
        "HL*2*1*22*1", "SBR*P*18*******MC",
        "NM1*IL*1*ROSS*EVAN****MI*CCW2001", "N3*5 PINE ST", "N4*TACOMA*WA*98405",
        "DMG*D8*19800101*M", "NM1*PR*2*COORDINATED CARE*****PI*CCWA1",
        "HL*3*2*23*0", "PAT*19", "NM1*QC*1*ROSS*CARA", "N3*5 PINE ST", "N4*TACOMA*WA*98405",
        "DMG*D8*20150610*F",
        "CLM*B-2001*180***11:B:1*Y*A*Y*Y", "REF*G1*PA-9001", "HI*ABK:J069",
        "LX*1", "SV1*HC:99213*180*UN*1***1", "DTP*472*D8*20260903",
        # B-2002
        "HL*4*1*22*0", "SBR*P*18*******MC",
        "NM1*IL*1*STONE*DEV****MI*CCW2002", "N3*8 BAY ST", "N4*TACOMA*WA*98406",
        "DMG*D8*19900707*M", "NM1*PR*2*COORDINATED CARE*****PI*CCWA1",
        "CLM*B-2002*180***11:B:1*Y*A*Y*Y", "HI*ABK:J069",
        "LX*1", "SV1*HC:99213*180*UN*1***1", "DTP*472*D8*20260904",
    ]
    for n, (last, dos) in enumerate((("OWEN", "20260913"), ("PARK", "20260914")), start=3):
        body += [
            f"HL*{n + 2}*1*22*0", "SBR*P*18*******MC",
            f"NM1*IL*1*{last}*PAT****MI*CCW200{n}", "N3*1 MAIN ST", "N4*TACOMA*WA*98405",
            "DMG*D8*19750505*M", "NM1*PR*2*COORDINATED CARE*****PI*CCWA1",
            f"CLM*B-200{n}*100***11:B:1*Y*A*Y*Y", "HI*ABK:J069",
            "LX*1", "SV1*HC:97530*100*UN*1***1", f"DTP*472*D8*{dos}",
        ]
    return _envelope("837", "005010X222A1", body, "TFM01")


def _remit(payee: dict, paid: str, claims: list[list[str]], check: str) -> str:
    body = [
        f"BPR*I*{paid}*C*CHK************20261015",
        f"TRN*1*{check}*1911111111",
        "DTM*405*20261015",
        "N1*PR*COORDINATED CARE*XV*CCWA1",
        f"N1*PE*{payee['name']}*XX*{payee['npi']}",
        f"REF*TJ*{payee['tin']}",
        "LX*1",
    ]
    for claim in claims:
        body += claim
    return _envelope("835", "005010X221A1", body, "CCWA1")


def _denied(pcn: str, icn: str, charge: str, last: str, first: str, member: str, dos: str, code: str,
            carc: str, remark: str | None = None) -> list[str]:
    """A claim denied in full on its one line (CLP02 4 = denied)."""
    return [
        f"CLP*{pcn}*4*{charge}*0**MC*{icn}*11*1",
        f"NM1*QC*1*{last}*{first}****MI*{member}",
        f"SVC*HC:{code}*{charge}*0**1", f"DTM*472*{dos}", f"CAS*CO*{carc}*{charge}",
        *([f"LQ*HE*{remark}"] if remark else []),
    ]


def remit_a() -> str:
    claims = [
        # A-1001: line 1 denied CO-204 (not covered), line 2 paid 95 after CO-45 pricing
        ["CLP*A-1001*1*270*95**MC*CCW-ICN-1001*11*1", "NM1*QC*1*HARBOR*ALICE****MI*CCW1001",
         "SVC*HC:97110:GP*150*0**1", "DTM*472*20260902", "CAS*CO*204*150",
         "SVC*HC:97140:GP*120*95**1", "DTM*472*20260902", "CAS*CO*45*25"],
        _denied("A-1002", "CCW-ICN-1002", "200", "QUINN", "BOB", "CCW1002", "20260909", "97110:GP", "204"),
        _denied("A-1003", "CCW-ICN-1003", "100", "LANE", "PAT", "CCW1003", "20260910", "97530", "16", "N290"),
        _denied("A-1004", "CCW-ICN-1004", "100", "MOSS", "PAT", "CCW1004", "20260911", "97530", "16", "N290"),
        _denied("A-1005", FORMULA, "100", "NASH", "PAT", "CCW1005", "20260912", "97530", "16", "N290"),
    ]
    return _remit(PRACTICE_A, "95", claims, "CHK-A-1")


def remit_b() -> str:
    claims = [
        _denied("B-2001", "CCW-ICN-2001", "180", "ROSS", "CARA", "CCW2001", "20260903", "99213", "204"),
        _denied("B-2002", "CCW-ICN-2002", "180", "STONE", "DEV", "CCW2002", "20260904", "99213", "204"),
        _denied("B-2003", "CCW-ICN-2003", "100", "OWEN", "PAT", "CCW2003", "20260913", "97530", "16", "N290"),
        _denied("B-2004", "CCW-ICN-2004", "100", "PARK", "PAT", "CCW2004", "20260914", "97530", "16", "N290"),
    ]
    return _remit(PRACTICE_B, "0", claims, "CHK-B-1")


RECONSIDERATIONS = """\
patient_control_number,payer_claim_control_number,level,submitted_on,reference_number,outcome,decided_on
A-1002,CCW-ICN-1002,1,2026-10-25,RC-A1002,,
B-2001,CCW-ICN-2001,1,2026-10-16,RC-B2001,upheld,2026-10-20
B-2002,CCW-ICN-2002,1,2026-10-16,RC-B2002,upheld,2026-10-18
B-2002,CCW-ICN-2002,2,2026-10-21,RC-B2002-II,upheld,2026-10-28
"""


def write_inbox(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evergreen.837").write_text(claims_837_a())
    (folder / "tacoma.837").write_text(claims_837_b())
    (folder / "evergreen_remit.835").write_text(remit_a())
    (folder / "tacoma_remit.835").write_text(remit_b())
    (folder / "reconsiderations.csv").write_text(RECONSIDERATIONS)
    return folder


def rules_with_threshold(path: Path, threshold: int = 3) -> Path:
    """The shipped payer rules with Coordinated Care's trend threshold lowered (a payer rules file
    an organisation may pass with --payer-rules)."""
    from claimback.routing.rules import PACKAGED_RULES

    rules = yaml.safe_load(PACKAGED_RULES.read_text())
    for payer in rules["payers"]:
        if payer["name"] == "coordinated_care_wa":
            payer["trend_threshold"] = threshold
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    return path
