"""Writes one block of the claim book to the inbox as 837 and 835 files.

837s are the provider's weekly batches (one billing provider and claim type per file, every
payer in it, sometimes one ST per payer). 835s are the payers' check runs: one transaction per
check (payer, payee, remit date), bundled per payer the way that payer's clearinghouse delivers
them: a file per check, several ST in one GS, or one interchange per check in one file. Two
remittances arrive twice (a byte-identical resend and a re-issued transaction in a new
envelope), as real ones do, so ingest's de-duplication has something to catch; and one check is
sent wrong first and then corrected, so only the payer's dates say which stands.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from pathlib import Path

import numpy as np

from claimback.synth.book import ClaimBook
from claimback.synth.files import (EXTENSIONS_835, EXTENSIONS_837, NEWLINE_ONLY, STANDARD, VERSION_835,
                                   VERSION_837, Controls, finish, interchange, pick_style,
                                   transaction)
from claimback.synth.pools import PAYERS, PROVIDERS
from claimback.synth.render import Prepared, claim_835, claim_837, money, ymd
from claimback.synth.story import READJUDICATION, Story, mistyped

CLEARINGHOUSE = ("NORTHWIND CLEARINGHOUSE", "NWCH01")
# How each payer's ERAs arrive: one file per check, several ST per GS, or one ISA per check.
BUNDLING = {"CCWA1": "single", "LHCC1": "single", "ACME1": "single",
            "UHCCP": "several_st", "CSOH1": "several_st", "SUNSH": "several_isa"}


@dataclass
class Tally:
    """Run-wide counters so names and control numbers stay unique across blocks."""

    controls: Controls = field(default_factory=Controls)
    files_837: int = 0
    files_835: int = 0
    claims_837: int = 0
    claims_835: int = 0
    newline_only_written: bool = False
    styles: dict[str, int] = field(default_factory=dict)
    extensions: dict[str, int] = field(default_factory=dict)
    bytes_written: int = 0
    last_icn: dict[tuple[int, int], str] = field(default_factory=dict)  # per (payer, payee)
    resent_files: list[str] = field(default_factory=list)
    resent_remit_claims: int = 0
    corrected_remit_files: list[str] = field(default_factory=list)  # first, wrong sends of a check
    corrected_remit_claims: int = 0
    sent_elsewhere: int = 0  # lonely payments: claims with an 835 and no 837 (story.sent_elsewhere)
    pcn_keyed_wrong: int = 0  # and claims whose 835 names a mistyped patient control number


def _write(out_dir: Path, name: str, text: str, tally: Tally, rng: np.random.Generator,
           ordinal: int, extensions: tuple[str, ...], allow_newline_only: bool) -> tuple[str, bytes]:
    style, ext = pick_style(rng, ordinal)
    if allow_newline_only and not tally.newline_only_written and ordinal == len(extensions):
        style = NEWLINE_ONLY
        tally.newline_only_written = True
    data = finish(text, style)
    path = out_dir / f"{name}{extensions[ext]}"
    path.write_bytes(data)
    tally.styles[style.name] = tally.styles.get(style.name, 0) + 1
    tally.extensions[extensions[ext]] = tally.extensions.get(extensions[ext], 0) + 1
    tally.bytes_written += len(data)
    return path.name, data


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _header_837(prov_i: int, ctype: str, day: int, control: str) -> str:
    prov = PROVIDERS[prov_i]
    street, city, state, zip_code = prov.address
    return (f"ST*837*{control}*{VERSION_837[ctype]}~BHT*0019*00*{control}{day}*{ymd(day)}*1200*CH~"
            f"NM1*41*2*{prov.name}*****46*{prov.tin}~PER*IC*BILLING OFFICE*TE*2065550100~"
            f"NM1*40*2*{CLEARINGHOUSE[0]}*****46*{CLEARINGHOUSE[1]}~HL*1**20*1~"
            f"PRV*BI*PXC*{prov.taxonomy}~NM1*85*2*{prov.name}*****XX*{prov.npi}~"
            f"N3*{street}~N4*{city}*{state}*{zip_code}~REF*EI*{prov.tin}~" + _billing_contact(prov))


def _billing_contact(prov) -> str:
    """2010AA PER, for a practice that sends its billing contact (the 1000A PER is the submitter's)."""
    if prov.billing_contact is None:
        return ""
    name, phone, email = prov.billing_contact
    return f"PER*IC*{name}*TE*{phone}*EM*{email}~"


def write_837s(book: ClaimBook, prepared: Prepared, story: Story, out_dir: Path,
               claims_per_file: int, rng: np.random.Generator, tally: Tally) -> None:
    """Weekly batches per billing provider: original claims and frequency-7 corrections; the
    claims another billing system sent (`story.sent_elsewhere`) are left out."""
    tally.sent_elsewhere += len(story.sent_elsewhere)
    tally.pcn_keyed_wrong += len(story.pcn_keyed_wrong)
    items = [(book.provider[c], book.submit_day[c] // 7, book.submit_day[c], c, "1", "")
             for c in range(len(book)) if c not in story.sent_elsewhere]
    items += [(book.provider[c], day // 7, day, c, "7", icn) for day, c, icn in story.corrected]
    items.sort()
    for (prov_i, _week), batch in groupby(items, key=lambda t: (t[0], t[1])):
        prov = PROVIDERS[prov_i]
        for chunk in _chunks(list(batch), claims_per_file):
            day = chunk[-1][2]
            split_by_payer = rng.random() < 0.2
            parts = ([list(g) for _, g in groupby(sorted(chunk, key=lambda t: book.payer[t[3]]),
                                                 key=lambda t: book.payer[t[3]])]
                     if split_by_payer else [chunk])
            legacy_dx = prov.claim_type == "I" and rng.random() < 0.1
            transactions = []
            for part in parts:
                control = tally.controls.next_transaction()
                hl, claims = 2, []
                for _, _, _, c, freq, icn in part:
                    text, hl = claim_837(book, prepared, c, hl, freq, icn, legacy_dx)
                    claims.append(text)
                transactions.append((control, transaction(
                    _header_837(prov_i, prov.claim_type, day, control), "".join(claims), "", control)))
            text = interchange("HC", VERSION_837[prov.claim_type], prov.tin, CLEARINGHOUSE[1], day,
                               transactions, tally.controls)
            name = f"{prov.npi}_{prov.claim_type}837_{ymd(day)}_{tally.files_837 + 1:05d}"
            _write(out_dir, name, text, tally, rng, tally.files_837, EXTENSIONS_837, False)
            tally.files_837 += 1
            tally.claims_837 += len(chunk)


def _header_835(payer_i: int, prov_i: int, day: int, total: int, check: str, control: str,
                by_check: bool) -> str:
    payer, prov = PAYERS[payer_i], PROVIDERS[prov_i]
    d = ymd(day)
    if total <= 0:
        bpr = f"BPR*H*0*C*NON************{d}~"
    elif by_check:
        bpr = f"BPR*I*{money(total)}*C*CHK************{d}~"
    else:
        bpr = (f"BPR*I*{money(total)}*C*ACH*CCP*01*0{payer.tin[:8]}*DA*{payer.tin}01*1{payer.tin}**"
               f"01*0{prov.tin[:8]}*DA*{prov.npi[:8]}*{d}~")
    street, city, state, zip_code = payer.address
    # Some payers put their id in N1*PR N104, others in REF*2U (both are 5010-valid).
    in_n1 = payer.payer_id not in ("CSOH1", "UHCCP")
    n1 = f"N1*PR*{payer.name}*XV*{payer.payer_id}~" if in_n1 else f"N1*PR*{payer.name}~"
    ref = "" if in_n1 else f"REF*2U*{payer.payer_id}~"
    pstreet, pcity, pstate, pzip = prov.address
    return (f"ST*835*{control}~{bpr}TRN*1*{check}*1{payer.tin}~DTM*405*{d}~{n1}"
            f"N3*{street}~N4*{city}*{state}*{zip_code}~{ref}PER*CX*PROVIDER SERVICES*TE*{payer.phone}~"
            f"PER*BL*EDI SUPPORT*TE*{payer.phone}~N1*PE*{prov.name}*XX*{prov.npi}~"
            f"N3*{pstreet}~N4*{pcity}*{pstate}*{pzip}~REF*TJ*{prov.tin}~LX*1~")


def _provider_adjustments(rng: np.random.Generator, npi: str, day: int, paid: int,
                          icns: list[str], earlier_icn: str | None) -> tuple[str, int]:
    """Occasional PLB: interest on a late claim of this check (L6, increases the payment) or
    the recoupment of an overpaid claim from an earlier check (WO, decreases it, never below
    zero). The reference is the payer claim number concerned."""
    pick = rng.random()
    year = ymd(day)[:4]
    if pick < 0.05:
        interest = int(rng.integers(150, 6_000))
        return f"PLB*{npi}*{year}1231*L6:{icns[0]}*{money(-interest)}~", -interest
    if pick < 0.08 and paid > 10_000 and earlier_icn:
        recoup = int(paid * rng.uniform(0.05, 0.3))
        return f"PLB*{npi}*{year}1231*WO:{earlier_icn}*{money(recoup)}~", recoup
    return "", 0


def write_835s(book: ClaimBook, prepared: Prepared, story: Story, out_dir: Path,
               claims_per_file: int, rng: np.random.Generator, tally: Tally, *,
               by_check_date: bool = False) -> None:
    """One transaction per check: (payer, payee, remit date); files bundled per payer habit.
    `by_check_date`: each file in a folder of its check date under `out_dir` (YYYY-MM-DD), and
    none of the inbox's one-off quirks (a resend, a corrected remittance): the later remittances
    of a drop (`story.later_remittances`), which a history delivers night by night."""
    order = sorted(range(len(story.events)), key=lambda i: (
        story.events[i].remit_day, book.payer[story.events[i].claim],
        book.provider[story.events[i].claim], i))
    checks: list[tuple[tuple[int, int, int], list[int]]] = []
    for key, group in groupby(order, key=lambda i: (story.events[i].remit_day,
                                                    book.payer[story.events[i].claim],
                                                    book.provider[story.events[i].claim])):
        events = list(group)
        # Split big checks, keeping each reversal next to its re-adjudication.
        chunk: list[int] = []
        for i in events:
            if len(chunk) >= claims_per_file and story.events[i].role != READJUDICATION:
                checks.append((key, chunk))
                chunk = []
            chunk.append(i)
        checks.append((key, chunk))

    for (day, payer_i), day_checks in groupby(checks, key=lambda kc: (kc[0][0], kc[0][1])):
        payer = PAYERS[payer_i]
        bundling = BUNDLING[payer.payer_id]
        rendered = [_render_check(book, prepared, story, key, chunk, rng, tally)
                    for key, chunk in day_checks]
        if bundling == "single":
            files = [[r] for r in rendered]
        else:
            files, current, size = [], [], 0
            for r in rendered:
                if current and size + r[2] > claims_per_file:
                    files.append(current)
                    current, size = [], 0
                current.append(r)
                size += r[2]
            files.append(current)
        for members in files:
            if bundling == "several_isa":
                text = "".join(interchange("HP", VERSION_835, payer.tin, PROVIDERS[prov_i].tin, day,
                                           [(control, body)], tally.controls)
                               for control, body, _, prov_i in members)
            else:
                receiver = PROVIDERS[members[0][3]].tin if len(members) == 1 else CLEARINGHOUSE[1]
                text = interchange("HP", VERSION_835, payer.tin, receiver, day,
                                   [(control, body) for control, body, _, _ in members], tally.controls)
            name = f"{payer.payer_id}_ERA_{ymd(day)}_{tally.files_835 + 1:05d}"
            if by_check_date:
                folder = out_dir / str(np.datetime64(day, "D"))  # YYYY-MM-DD
                folder.mkdir(parents=True, exist_ok=True)
                _write(folder, name, text, tally, rng, tally.files_835, EXTENSIONS_835, False)
            else:
                written, data = _write(out_dir, name, text, tally, rng, tally.files_835, EXTENSIONS_835, True)
                _resend(out_dir, tally, written, data, payer_i, day, members)
                _wrong_first_send(out_dir, tally, payer_i, day, members)
            tally.files_835 += 1
            tally.claims_835 += sum(m[2] for m in members)


def _resend(out_dir: Path, tally: Tally, written: str, data: bytes, payer_i: int, day: int,
            members: list[tuple[str, str, int, int]]) -> None:
    """Payers and clearinghouses deliver some remittances twice; ingest must not count them
    twice. The third ERA file arrives again byte for byte under another name; one transaction
    of the eighth is re-issued inside a new interchange (new ISA/GS control numbers)."""
    if tally.files_835 == 2:
        name = f"{Path(written).stem}_resent{Path(written).suffix}"
        (out_dir / name).write_bytes(data)
    elif tally.files_835 == 7:
        payer = PAYERS[payer_i]
        control, body, _, prov_i = members[0]
        text = interchange("HP", VERSION_835, payer.tin, PROVIDERS[prov_i].tin, day, [(control, body)],
                           tally.controls)
        name = f"{payer.payer_id}_ERA_{ymd(day)}_reissue_{control}.edi"
        data = finish(text, STANDARD)
        members = members[:1]
        (out_dir / name).write_bytes(data)
    else:
        return
    tally.resent_files.append(name)
    tally.resent_remit_claims += sum(m[2] for m in members)
    tally.bytes_written += len(data)


# The ERA file after which the payer turns out to have sent that check wrong the day before.
CORRECTED_FILE_ORDINAL = 11


def _wrong_first_send(out_dir: Path, tally: Tally, payer_i: int, day: int,
                      members: list[tuple[str, str, int, int]]) -> None:
    """A corrected remittance: the payer first sent this check (same TRN02, BPR16 and payee)
    the evening before with one paid claim wrongly denied (CO-29 timely filing), then re-sent it
    right. The check written above is the correction; this is the earlier, wrong send. Only
    the payer's dates (envelope date-time) tell which stands, and every other claim of the check
    is in both. Written once per inbox, on the first check from CORRECTED_FILE_ORDINAL on that
    holds two paid claims."""
    if tally.corrected_remit_files or tally.files_835 < CORRECTED_FILE_ORDINAL:
        return
    for control, body, count, prov_i in members:
        segments = body.split("~")[:-1]
        paid_claims = [i for i, seg in enumerate(segments)
                       if seg.startswith("CLP*") and seg.split("*")[2] == "1" and Decimal(seg.split("*")[4]) > 0]
        if len(paid_claims) < 2:
            continue
        at = paid_claims[0]
        clp = segments[at].split("*")
        paid = Decimal(clp[4])
        clp[4] = "0.00"
        segments[at] = "*".join(clp)
        segments.insert(at + 1, f"CAS*CO*29*{paid:.2f}")
        bpr = next(i for i, seg in enumerate(segments) if seg.startswith("BPR*"))
        parts = segments[bpr].split("*")
        if Decimal(parts[2]) - paid <= 0:
            continue
        parts[2] = f"{Decimal(parts[2]) - paid:.2f}"
        segments[bpr] = "*".join(parts)
        segments[-1] = f"SE*{len(segments)}*{control}"
        payer = PAYERS[payer_i]
        text = interchange("HP", VERSION_835, payer.tin, PROVIDERS[prov_i].tin, day - 1,
                           [(control, "~".join(segments) + "~")], tally.controls)
        name = f"{payer.payer_id}_ERA_{ymd(day)}_{control}_sent_first.txt"
        data = finish(text, STANDARD)
        (out_dir / name).write_bytes(data)
        tally.corrected_remit_files.append(name)
        tally.corrected_remit_claims += count
        tally.bytes_written += len(data)
        return


def _render_check(book: ClaimBook, prepared: Prepared, story: Story, key: tuple[int, int, int],
                  chunk: list[int], rng: np.random.Generator, tally: Tally) -> tuple[str, str, int, int]:
    """One 835 transaction: (control number, ST..SE text, CLP count, payee provider)."""
    day, payer_i, prov_i = key
    claims, paid, icns = [], 0, []
    for i in chunk:
        event = story.events[i]
        text, amount = claim_835(book, prepared, event)
        if event.claim in story.pcn_keyed_wrong:
            pcn = book.pcn[event.claim]
            text = text.replace(f"CLP*{pcn}*", f"CLP*{mistyped(pcn)}*", 1)
        claims.append(text)
        paid += amount
        icns.append(event.icn)
    prov = PROVIDERS[prov_i]
    key_pair = (payer_i, prov_i)
    plb, plb_total = _provider_adjustments(rng, prov.npi, day, paid, icns, tally.last_icn.get(key_pair))
    tally.last_icn[key_pair] = icns[-1]
    control = tally.controls.next_transaction()
    check = f"{payer_i + 1}{tally.controls.transaction:09d}"
    if paid - plb_total < 0:
        # A check that takes back more than it pays (a recoupment alone) is sent as a notice
        # (BPR02 0) with the debt carried to the next check: PLB forward balance, negative.
        owed = paid - plb_total
        plb += f"PLB*{prov.npi}*{ymd(day)[:4]}1231*FB:{check}*{money(owed)}~"
        plb_total += owed
    header = _header_835(payer_i, prov_i, day, paid - plb_total, check, control, rng.random() < 0.2)
    return control, transaction(header, "".join(claims), plb, control), len(chunk), prov_i
