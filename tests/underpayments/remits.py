"""Hand-written 835s (005010X221A1) and a fee schedule for the underpayment cases, segment by segment.

Each segment is written as the 835 implementation guide defines it and commented with what it
says; only the envelope arithmetic (ISA padding, SE count) is computed, by the routing tests'
`interchange`. Names, member IDs and numbers are invented. Not produced by claimback's generator.

The 835 line balances as the guide requires: SVC02 (charge) - every CAS amount = SVC03 (paid).
"""
from __future__ import annotations

from tests.routing.x12_inbox import BILLING_NPI, BILLING_TIN, interchange

PAYER = ("ACME HEALTH PLAN", "ACME01")


def _header(paid_total: str, date: str, check: str) -> list[str]:
    return [
        f"BPR*I*{paid_total}*C*CHK************{date}",  # BPR02 total paid; BPR16 payment (EOP) date
        f"TRN*1*{check}*1{BILLING_TIN}",  # TRN02 check number
        f"DTM*405*{date}",  # production date
        f"N1*PR*{PAYER[0]}*XV*{PAYER[1]}",  # 1000A payer; N104 payer id
        f"N1*PE*RIVER CLINIC*XX*{BILLING_NPI}",  # 1000B payee NPI: the practice
        f"REF*TJ*{BILLING_TIN}",  # payee TIN
        "LX*1",  # 2000 header number
    ]


def history_835() -> str:
    """2026-10-01: five 97110-GP visits, one unit each, billed $100 and allowed $45 (CO-45 $55):
    the payer's own amount for 97110-GP at this practice, with no fee schedule row for it. And six
    97140-GP visits, three allowed $40 and three $42: no clear mode (neither is on more lines)."""
    body = _header("471.00", "20261001", "CHK-1001")
    for n in range(1, 6):
        body += [
            f"CLP*MO{n}*1*100*45**12*ICN-MO{n}*11*1",  # CLP02 1 processed as primary; CLP03 charge, CLP04 paid; CLP06 12 PPO
            f"NM1*QC*1*DOE*SAM****MI*M-MO{n}",  # patient
            "SVC*HC:97110:GP*100*45**1",  # SVC01 procedure:modifier, SVC02 charge, SVC03 paid, SVC05 1 unit
            "DTM*472*20260915",  # date of service
            "CAS*CO*45*55",  # contractual: charge over the fee schedule, $55 (100 - 55 = 45 paid)
        ]
    for n, allowed in zip(range(6, 12), (40, 40, 40, 42, 42, 42)):
        body += [
            f"CLP*MO{n}*1*100*{allowed}**12*ICN-MO{n}*11*1",
            f"NM1*QC*1*DOE*SAM****MI*M-MO{n}",
            f"SVC*HC:97140:GP*100*{allowed}**1",
            "DTM*472*20260916",
            f"CAS*CO*45*{100 - allowed}",
        ]
    return interchange("HP", "005010X221A1", "835", body, "20261001", "000000701")


def underpaid_835() -> str:
    """2026-11-09: five claims against the fee schedule and the payer's own history.

    - UP1 99214 allowed $120 (AMT*B6) = the contract: paid $100 + coinsurance PR-2 $20. Not underpaid.
    - UP2 99214 allowed $95 (paid $95, CO-45 $105): contract $120 -> $25 short, hidden by CO-45.
    - UP3 97110-GP 2 units allowed $60 (CO-45 $140): no schedule row; the payer allowed $45 a unit on
      5 of 5 lines in the 180 days before -> expected $90, $30 short (payer_modal_180d).
    - UP4 99213 allowed $82 (CO-45 $68): contract $85 -> $3 short, under max($5, 5%): not material.
    - UP5 99215 allowed $150: no schedule row and no history of the payer's: not judged.
    - UP6 99214 allowed $97 ($23 short) beside 36415 denied CO-97 $30: the claim is a coding denial;
      its underpaid line is listed, not made a second denial.
    - UP7 99213 under an HMO product (CLP06 HM) allowed $90: the HMO row ($100) wins over the
      all-products row ($85): $10 short, at least max($5, 5%).
    - UP8 99214 allowed $120 (AMT*B6) of which 2% was sequestered (CO-253 $2.40): paid + patient
      share would say $117.60, but the payer's own allowed amount is the contract. Not underpaid.
    - UP9 97140-GP allowed $30: the payer's history has no clear mode (3 lines at $40, 3 at $42).
      Not judged.
    - UP10 99214 billed $110, below the contract, and paid in full: expected is the charge. Not underpaid.
    """
    body = _header("931.60", "20261109", "CHK-1109")
    body += [
        "CLP*UP1*1*200*100*20*12*ICN-UP1*11*1",  # CLP05 patient responsibility $20
        "NM1*QC*1*DOE*SAM****MI*M-UP1",
        "SVC*HC:99214*200*100**1",
        "DTM*472*20261020",
        "CAS*CO*45*80",  # contractual reduction to the allowed amount
        "CAS*PR*2*20",  # coinsurance: the patient's share of the allowed amount
        "AMT*B6*120",  # 2110 AMT*B6 allowed - actual: the allowed amount before patient responsibility
        "CLP*UP2*1*200*95**12*ICN-UP2*11*1",
        "NM1*QC*1*DOE*SAM****MI*M-UP2",
        "SVC*HC:99214*200*95**1",
        "DTM*472*20261021",
        "CAS*CO*45*105",  # the wrong fee schedule: CO-45 took $25 of the contracted $120
        "CLP*UP3*1*200*60**12*ICN-UP3*11*1",
        "NM1*QC*1*DOE*SAM****MI*M-UP3",
        "SVC*HC:97110:GP*200*60**2",  # SVC05 2 units
        "DTM*472*20261022",
        "CAS*CO*45*140",
        "CLP*UP4*1*150*82**12*ICN-UP4*11*1",
        "NM1*QC*1*DOE*SAM****MI*M-UP4",
        "SVC*HC:99213*150*82**1",
        "DTM*472*20261023",
        "CAS*CO*45*68",
        "CLP*UP5*1*300*150**12*ICN-UP5*11*1",
        "NM1*QC*1*DOE*SAM****MI*M-UP5",
        "SVC*HC:99215*300*150**1",
        "DTM*472*20261024",
        "CAS*CO*45*150",
        "CLP*UP6*1*230*97**12*ICN-UP6*11*1",
        "NM1*QC*1*DOE*SAM****MI*M-UP6",
        "SVC*HC:99214*200*97**1",
        "DTM*472*20261025",
        "CAS*CO*45*103",
        "SVC*HC:36415*30*0**1",  # the venipuncture, paid nothing
        "DTM*472*20261025",
        "CAS*CO*97*30",  # bundled into the visit: a denial of the line
        "CLP*UP7*1*150*90**HM*ICN-UP7*11*1",  # CLP06 HM: a health maintenance organization product
        "NM1*QC*1*DOE*SAM****MI*M-UP7",
        "SVC*HC:99213*150*90**1",
        "DTM*472*20261026",
        "CAS*CO*45*60",
        "CLP*UP8*1*200*117.6**12*ICN-UP8*11*1",
        "NM1*QC*1*DOE*SAM****MI*M-UP8",
        "SVC*HC:99214*200*117.6**1",
        "DTM*472*20261027",
        "CAS*CO*45*80**253*2.4",  # contractual $80, then sequestration $2.40 (CAS05/06: a second reason)
        "AMT*B6*120",  # allowed before the payment reductions
        "CLP*UP9*1*100*30**12*ICN-UP9*11*1",
        "NM1*QC*1*DOE*SAM****MI*M-UP9",
        "SVC*HC:97140:GP*100*30**1",
        "DTM*472*20261028",
        "CAS*CO*45*70",
        "CLP*UP10*1*110*110**12*ICN-UP10*11*1",
        "NM1*QC*1*DOE*SAM****MI*M-UP10",
        "SVC*HC:99214*110*110**1",  # charge = paid: no adjustment at all
        "DTM*472*20261029",
    ]
    return interchange("HP", "005010X221A1", "835", body, "20261109", "000000702")


# The organisation's contract fee schedule. Line 2: 99214 at $120 through 2026. Line 3: 99213 at
# $85, the payer named by name, US dates, open-ended. Line 4: 99214 with modifier 25 at $150 (UP2
# carries no modifier: the row must not apply). Line 5: bad on three counts, reported and skipped.
# Line 6: 99213 at $100 for the HMO product (CLP06 HM) only.
FEE_SCHEDULE = """payer,product,procedure,modifier,expected_allowed,effective_from,effective_to
ACME01,,99214,,120.00,2026-01-01,2026-12-31
Acme Health Plan,,99213,,85,01/01/2026,
ACME01,,99214,25,150.00,2026-01-01,2026-12-31
ACME01,,,,abc,2026-13-01,
ACME01,HM,99213,,100.00,2026-01-01,
"""


def wrong_fee_schedule_835(claims: int = 12) -> str:
    """2026-11-09: the payer loaded a wrong fee schedule for 99214 — `claims` visits (dates of
    service 2026-10-01 onwards), each billed $200 and allowed $95 (CO-45 $105) where the contract
    (FEE_SCHEDULE line 2) says $120: $25 short on every claim."""
    body = _header(f"{95 * claims:.2f}", "20261109", "CHK-2109")
    for n in range(1, claims + 1):
        body += [
            f"CLP*UC{n:02d}*1*200*95**12*ICN-UC{n:02d}*11*1",  # processed as primary, paid $95
            f"NM1*QC*1*DOE*SAM****MI*M-UC{n:02d}",
            "SVC*HC:99214*200*95**1",
            f"DTM*472*202610{n:02d}",  # one visit a day from 2026-10-01
            "CAS*CO*45*105",  # the contractual adjustment that hid the $25
        ]
    return interchange("HP", "005010X221A1", "835", body, "20261109", "000000703")
