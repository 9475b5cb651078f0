"""Front-door acknowledgments for the synthetic inbox: one 837 batch, its 999 and its 277CA.

Evergreen Physical Therapy sends Coordinated Care one batch of two transaction sets twelve days
before as_of: recent enough that no 835 has answered it and no claim of it is silent yet. The
clearinghouse's 999 accepts the first set and rejects the second (CLM05-3 = 9, not a professional
claim frequency code: IK3 CLM / IK4 5:3 / IK403 7); the payer's 277CA accepts most claims of the
first set and rejects a few for an invalid member id (A7:164, entity IL: the member was billed
under an id the plan does not know) or an invalid principal diagnosis (A7:254). Every rejected
claim is in the truth with the codes `claim_rejections` should show; none has an 835.
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from claimback.synth.files import VERSION_837, Controls, interchange, transaction
from claimback.synth.inbox import CLEARINGHOUSE, _header_837
from claimback.synth.pools import PAYER_INDEX, PAYERS, PROVIDERS
from claimback.synth.render import money, ymd

PROVIDER = 0  # Evergreen Physical Therapy Group (837P)
PAYER = PAYER_INDEX["CCWA1"]
SENT_DAYS_BEFORE_AS_OF = 12
ACCEPTED_SET_CLAIMS = 6
REJECTED_SET_CLAIMS = 2
# claim position in the accepted set -> the 277CA's STC01 for it (real codes: 507 category, 508 status)
REJECTED_BY_277CA = {1: "A7:164:IL", 3: "A7:164:IL", 4: "A7:254"}
BAD_FREQUENCY = "9"  # not 1, 7 or 8: what the 999 rejects the second set for
VERSION_999, VERSION_277CA = "005010X231A1", "005010X214"
# Invented; none is a word or part of one ("INES" is in "LINES"), since tests look for names in any text.
_NAMES = (("ABERNATHY", "ROSALIND"), ("BELLWEATHER", "OSWALDO"), ("CASTELLANO", "JUNIPER"), ("DUVALL", "PETRONELLA"),
          ("EASTWICK", "MAXIMILIAN"), ("FAIRWEATHER", "IMOGEN"), ("GALLOWAY", "TOBIAS"), ("HARTFIELD", "HENRIETTA"))


@dataclass(frozen=True)
class _Claim:
    pcn: str
    member: str
    last: str
    first: str
    service_day: int
    cents: int
    frequency: str


def _claims(as_of_day: int) -> list[_Claim]:
    out = []
    for i in range(ACCEPTED_SET_CLAIMS + REJECTED_SET_CLAIMS):
        last, first = _NAMES[i]
        frequency = "1" if i < ACCEPTED_SET_CLAIMS else BAD_FREQUENCY
        out.append(_Claim(f"FDR{i + 1:07d}", f"{PAYERS[PAYER].member_prefix}9{i + 1:07d}", last, first,
                          as_of_day - 20 + i % 4, 6800 * (1 + i % 3), frequency))
    return out


def _claim_837(claim: _Claim, hl: int) -> str:
    payer, prov = PAYERS[PAYER], PROVIDERS[PROVIDER]
    charge = money(claim.cents)
    return (f"HL*{hl}*1*22*0~SBR*P*18*******{payer.filing_indicator}~"
            f"NM1*IL*1*{claim.last}*{claim.first}****MI*{claim.member}~"
            f"NM1*PR*2*{payer.name}*****PI*{payer.payer_id}~"
            f"CLM*{claim.pcn}*{charge}***{prov.place_of_service}:B:{claim.frequency}*Y*A*Y*Y~"
            f"HI*ABK:{prov.diagnoses[0]}~LX*1~SV1*HC:{prov.procedures[0].code}:{prov.procedures[0].modifier}*"
            f"{charge}*UN*1***1~DTP*472*D8*{ymd(claim.service_day)}~")


def _ack_envelope(kind: str, version: str, day: int, body: str, controls: Controls) -> str:
    """The payer-side interchange of one acknowledgment transaction set."""
    control = controls.next_transaction()
    return interchange(kind, version, PAYERS[PAYER].payer_id, PROVIDERS[PROVIDER].tin, day,
                       [(control, transaction(body.replace("{control}", control), "", "", control))], controls)


def _999(gs06: int, sets: list[str], position: int, day: int, controls: Controls) -> str:
    """`position`: of the rejected set's first CLM in its set (ST = 1), as IK302 counts."""
    accepted, rejected = sets
    body = (f"ST*999*{{control}}*{VERSION_999}~AK1*HC*{gs06}*{VERSION_837['P']}~"
            f"AK2*837*{accepted}*{VERSION_837['P']}~IK5*A~"
            f"AK2*837*{rejected}*{VERSION_837['P']}~IK3*CLM*{position}*2300*8~"
            f"CTX*CLM01:FDR{ACCEPTED_SET_CLAIMS + 1:07d}~IK4*5:3*1325*7*{BAD_FREQUENCY}~IK5*R*5~AK9*P*2*2*1~")
    return _ack_envelope("FA", VERSION_999, day, body, controls)


def _277ca(claims: list[_Claim], day: int, controls: Controls) -> str:
    payer, prov = PAYERS[PAYER], PROVIDERS[PROVIDER]
    rejected = [c for i, c in enumerate(claims) if i in REJECTED_BY_277CA]
    total, bad = sum(c.cents for c in claims), sum(c.cents for c in rejected)
    counts = (f"QTY*{{a}}*{len(claims) - len(rejected)}~QTY*{{r}}*{len(rejected)}~AMT*YU*{money(total - bad)}~"
              f"AMT*YY*{money(bad)}~")
    body = (f"ST*277*{{control}}*{VERSION_277CA}~BHT*0085*08*FD{day}*{ymd(day)}*0800*TH~"
            f"HL*1**20*1~NM1*PR*2*{payer.name}*****PI*{payer.payer_id}~TRN*1*FD{day}~"
            f"DTP*050*D8*{ymd(day - 1)}~DTP*009*D8*{ymd(day)}~"
            f"HL*2*1*21*1~NM1*41*2*{prov.name}*****46*{prov.tin}~TRN*2*FDBATCH{day}~"
            f"STC*A1:19:PR*{ymd(day)}*WQ*{money(total)}~" + counts.format(a="90", r="AA") +
            f"HL*3*2*19*{1 if claims else 0}~NM1*85*2*{prov.name}*****XX*{prov.npi}~TRN*1*0~REF*TJ*{prov.tin}~"
            + counts.format(a="QA", r="QC"))
    for i, claim in enumerate(claims):
        stc = REJECTED_BY_277CA.get(i, "A2:20:PR")
        action = "U" if i in REJECTED_BY_277CA else "WQ"
        icn = "" if i in REJECTED_BY_277CA else f"REF*1K*CW{day}{i + 1:04d}~"
        body += (f"HL*{4 + i}*3*PT~NM1*QC*1*{claim.last}*{claim.first}****MI*{claim.member}~TRN*2*{claim.pcn}~"
                 f"STC*{stc}*{ymd(day)}*{action}*{money(claim.cents)}~{icn}DTP*472*D8*{ymd(claim.service_day)}~")
    return _ack_envelope("HN", VERSION_277CA, day, body, controls)


def write_front_door(out_dir, as_of_day: int, controls: Controls) -> tuple[list[str], pl.DataFrame]:
    """Write the batch, its 999 and its 277CA into `out_dir`: (file names, truth of the rejections).

    The truth has one row per rejected claim: patient_control_number, acknowledgment, status_codes
    (as `claim_rejections.status_codes`) and error_location."""
    claims = _claims(as_of_day)
    sent = as_of_day - SENT_DAYS_BEFORE_AS_OF
    prov = PROVIDERS[PROVIDER]
    sets = []
    for part in (claims[:ACCEPTED_SET_CLAIMS], claims[ACCEPTED_SET_CLAIMS:]):
        control = controls.next_transaction()
        header = _header_837(PROVIDER, "P", sent, control)
        body = "".join(_claim_837(c, 2 + k) for k, c in enumerate(part))  # HL 1 is the billing provider
        sets.append((control, transaction(header, body, "", control)))
    position = header.count("~") + 5  # the CLM after HL, SBR, NM1*IL, NM1*PR
    gs06 = controls.group + 1  # the group interchange() opens next
    batch = interchange("HC", VERSION_837["P"], prov.tin, CLEARINGHOUSE[1], sent, sets, controls)
    files = {
        f"{prov.npi}_P837_{ymd(sent)}_frontdoor.837": batch,
        f"{PAYERS[PAYER].payer_id}_999_{ymd(sent + 1)}.999": _999(gs06, [s[0] for s in sets], position, sent + 1,
                                                                       controls),
        f"{PAYERS[PAYER].payer_id}_277CA_{ymd(sent + 2)}.277": _277ca(claims[:ACCEPTED_SET_CLAIMS], sent + 2,
                                                                      controls),
    }
    for name, text in files.items():
        (out_dir / name).write_bytes(text.encode("ascii"))
    rows = [{"patient_control_number": claims[i].pcn, "acknowledgment": "277CA",
             "status_codes": [REJECTED_BY_277CA[i].rsplit(":", 1)[0] if REJECTED_BY_277CA[i].count(":") == 2
                              else REJECTED_BY_277CA[i]], "error_location": None}
            for i in sorted(REJECTED_BY_277CA)]
    rows += [{"patient_control_number": c.pcn, "acknowledgment": "999",
              "status_codes": ["IK501:R", "IK502:5", "IK304:8", "IK403:7"],
              "error_location": "CLM05-3" if c.pcn == f"FDR{ACCEPTED_SET_CLAIMS + 1:07d}" else None}
             for c in claims[ACCEPTED_SET_CLAIMS:]]
    return list(files), pl.DataFrame(rows, schema={"patient_control_number": pl.String, "acknowledgment": pl.String,
                                                   "status_codes": pl.List(pl.String), "error_location": pl.String})

