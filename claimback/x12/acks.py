"""X12 999 and 277CA acknowledgments → the `acknowledgments` and `acknowledged_claims` tables.

A 999 (005010X231A1, implementation acknowledgment) answers a functional group of 837s set by
set: AK1 names the group (its GS06), each AK2 a transaction set (its ST02), IK3/IK4 the segment
and element in error (with CTX*CLM01 naming the claim), IK5 accepts or rejects the set and AK9
the group. A 277CA (005010X214, health care claim acknowledgment) answers claim by claim: its
hierarchy is payer (HL 20, 2100A NM1*PR), information receiver (HL 21, 2200B: the batch's
counts), billing provider (HL 19, 2200C) and patient (HL PT) with one 2200D per claim: TRN02 =
the 837's CLM01, STC01 = "category:status:entity", STC03 WQ/U, STC04 the billed amount,
REF*1K the payer's claim number, DTP*472 the dates of service.

These files are small, so each transaction set is read by a plain walk over its segments; the
835/837 paths are untouched. A set that cannot be read safely (a 999 AK2 without its IK5, a
277CA claim without TRN02 or STC) is quarantined through the reader's REJECT column; an amount
that is not an X12 amount is left empty and reported (a FLAG column). IK404 (a copy of the bad
value, which may be a member id or a name) is never kept.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from claimback import schema
from claimback.x12.fields import FLAG, KEY_SPAN, REJECT, amount_problem, date8, date8_end, money
from claimback.x12.structure import locate

TYPES = ("999", "277")  # ST01 values read here; a 277 must be the X214 claim acknowledgment (structure.py)

# STC01-1 claim status categories (code source 507) that mean the claim was not accepted:
# returned as unprocessable (A3), rejected for missing (A6) or invalid (A7) information, or a
# relational field in error (A8). STC03 'U' (reject) says the same.
REJECTED_CATEGORIES = ("A3", "A6", "A7", "A8")
# IK501 / AK901 (data elements 717 / 715) as a status.
_ACK_STATUS = {"A": "accepted", "E": "accepted_with_errors", "P": "partially_accepted", "R": "rejected",
               "M": "rejected", "W": "rejected", "X": "rejected"}


@dataclass
class _Segment:
    txn: int
    seg_index: int
    offset: int
    tag: str
    elements: list[str]
    comp: str

    def el(self, i: int) -> str | None:
        """Element i (1-based, as in 'IK502'), stripped; None when absent or empty."""
        value = self.elements[i].strip() if i < len(self.elements) else ""
        return value or None

    def part(self, i: int, j: int) -> str | None:
        """Component j (1-based) of composite element i."""
        value = self.el(i)
        parts = value.split(self.comp) if value and self.comp else [value or ""]
        return (parts[j - 1].strip() or None) if j <= len(parts) else None


def _segments(rows: pl.DataFrame) -> dict[int, list[_Segment]]:
    out: dict[int, list[_Segment]] = {}
    for txn, seg_index, offset, tag, text, elem, comp in rows.select(
            "txn", "seg_index", "offset", "tag", "segment", "elem", "comp").iter_rows():
        out.setdefault(txn, []).append(_Segment(txn, seg_index, offset, tag, text.split(elem), comp or ":"))
    return out


def _key(shas: Sequence[str], seg: _Segment) -> str:
    """file_sha256[:16]-position of the segment in its file: stable across reruns."""
    return f"{shas[seg.seg_index // KEY_SPAN][:16]}-{seg.seg_index % KEY_SPAN + 1:07d}"


def _where(seg: _Segment) -> dict:
    return {"txn": seg.txn, "seg_index": seg.seg_index, "offset": seg.offset}


# --- 999 ---------------------------------------------------------------------------------------
@dataclass
class _Set999:
    """One AK2 loop: the transaction set acknowledged and what its IK3/IK4/IK5 say."""

    at: _Segment
    codes: list[str] = field(default_factory=list)  # IK3/IK4 codes, in file order
    locations: list[str] = field(default_factory=list)
    pcns: list[str] = field(default_factory=list)
    ik5: list[str] = field(default_factory=list)
    closed: bool = False


def _read_999(segs: list[_Segment], shas: Sequence[str]) -> tuple[list[dict], str | None]:
    """Rows of one 999, or a reason it cannot be read."""
    groups: list[tuple[_Segment, list[_Set999], _Segment | None]] = []  # AK1, its AK2 loops, AK9
    current: _Set999 | None = None
    segment_in_error: str | None = None
    for seg in segs:
        if seg.tag == "AK1":
            groups.append((seg, [], None))
        elif seg.tag in ("AK2", "IK3", "CTX", "IK4", "IK5", "AK9") and not groups:
            return [], f"999 {seg.tag} before any AK1 (segment {seg.seg_index % KEY_SPAN + 1})"
        elif seg.tag == "AK2":
            if current is not None and not current.closed:
                return [], f"999 AK2 {current.at.el(2) or '-'} has no IK5 before the next AK2"
            if not seg.el(2):
                return [], f"999 AK2 at segment {seg.seg_index % KEY_SPAN + 1} names no transaction set (AK202)"
            current = _Set999(seg)
            groups[-1][1].append(current)
        elif seg.tag in ("IK3", "CTX", "IK4", "IK5") and (current is None or current.closed):
            return [], f"999 {seg.tag} outside an AK2 loop (segment {seg.seg_index % KEY_SPAN + 1})"
        elif seg.tag == "IK3":
            segment_in_error = seg.el(1) or "?"
            current.locations.append(segment_in_error)
            if seg.el(4):
                current.codes.append(f"IK304:{seg.el(4)}")
        elif seg.tag == "CTX" and seg.part(1, 1) == "CLM01" and seg.part(1, 2):
            current.pcns.append(seg.part(1, 2))
        elif seg.tag == "IK4":
            position, component = seg.part(1, 1), seg.part(1, 2)
            where = f"{segment_in_error or ''}{int(position):02d}" if (position or "").isdigit() else (
                segment_in_error or "?")
            if component:
                where += f"-{component}"
            # the IK3 alone named the segment; its element is the more precise location
            if current.locations and current.locations[-1] == segment_in_error:
                current.locations[-1] = where
            else:
                current.locations.append(where)
            if seg.el(3):
                current.codes.append(f"IK403:{seg.el(3)}")
        elif seg.tag == "IK5":
            if not seg.el(1):
                return [], f"999 IK5 of AK2 {current.at.el(2)} has no acknowledgment code (IK501)"
            current.ik5 = [f"IK501:{seg.el(1)}"] + [f"IK50{i}:{seg.el(i)}" for i in range(2, 7) if seg.el(i)]
            current.closed = True
        elif seg.tag == "AK9":
            if current is not None and not current.closed:
                return [], f"999 AK2 {current.at.el(2) or '-'} has no IK5 before the AK9"
            if groups[-1][2] is not None:
                return [], "999 has two AK9 segments for one AK1"
            groups[-1] = (groups[-1][0], groups[-1][1], seg)
    if not groups:
        return [], "999 has no AK1 (functional group response header)"
    rows = []
    for ak1, sets, ak9 in groups:
        if ak9 is None or not ak9.el(1):
            return [], "999 has no AK9 (functional group response trailer) for its AK1"
        group_codes = [f"AK901:{ak9.el(1)}"] + [f"AK90{i}:{ak9.el(i)}" for i in range(5, 10) if ak9.el(i)]
        group = {
            "acknowledged_group_control_number": ak1.el(2), "group_status_code": ak9.el(1),
            "group_transaction_sets": ak9.el(2), "group_accepted_sets": ak9.el(4),
        }
        for s in sets:
            code = s.ik5[0].split(":")[1]
            # a rejected group takes every set with it, whatever the set's own IK5 says
            status = "rejected" if _ACK_STATUS.get(ak9.el(1)) == "rejected" else _ACK_STATUS.get(code, code)
            rows.append({**_where(s.at), **group, "acknowledgment_key": _key(shas, s.at), "level": "transaction_set",
                         "acknowledged_transaction_type": s.at.el(1),
                         "acknowledged_transaction_control_number": s.at.el(2),
                         "acknowledged_implementation": s.at.el(3) or ak1.el(3),
                         "status": status, "status_code": code, "status_codes": s.ik5 + s.codes,
                         "error_locations": s.locations, "error_patient_control_numbers": s.pcns})
        if not sets:  # no AK2: the answer is about the group as a whole
            rows.append({**_where(ak1), **group, "acknowledgment_key": _key(shas, ak1), "level": "functional_group",
                         "acknowledged_implementation": ak1.el(3), "status": _ACK_STATUS.get(ak9.el(1), ak9.el(1)),
                         "status_code": ak9.el(1), "status_codes": group_codes})
    return rows, None


# --- 277CA ---------------------------------------------------------------------------------------
def _status_of(categories: list[str], action: str | None) -> str:
    return "rejected" if action == "U" or any(c in REJECTED_CATEGORIES for c in categories) else "accepted"


def _stc_codes(seg: _Segment) -> tuple[list[str], list[str], list[str]]:
    """STC01, STC10 and STC11 (each "category:status:entity"): codes, categories, entities."""
    codes, categories, entities = [], [], []
    for i in (1, 10, 11):
        category = seg.part(i, 1)
        if category:
            codes.append(f"{category}:{seg.part(i, 2) or ''}".rstrip(":"))
            categories.append(category)
            entities.append(seg.part(i, 3) or "")
    return codes, categories, entities


def _read_277ca(segs: list[_Segment], shas: Sequence[str]) -> tuple[list[dict], list[dict], str | None]:
    """(acknowledgment rows, claim rows) of one 277CA, or a reason it cannot be read."""
    levels: list[dict] = []  # 2200B / 2200C rows
    claims: list[dict] = []
    payer: dict = {}
    provider: dict = {}
    member: str | None = None
    level = None  # HL03 of the current level: 20, 21, 19, PT
    row: dict | None = None  # the level or claim being read
    in_line = False  # inside a 2220D service line (its STC/DTP/REF are the line's)
    acknowledged_on = None
    for seg in segs:
        tag = seg.tag
        if tag == "BHT":
            acknowledged_on = seg.el(4)
        elif tag == "HL":
            level, in_line, row = seg.el(3), False, None
            if level in ("21", "19"):
                row = {**_where(seg), **payer, "acknowledgment_key": _key(shas, seg), "_codes": [], "_categories": [],
                       "level": "information_receiver" if level == "21" else "billing_provider"}
                if level == "19":
                    provider = {}
                    row["_provider"] = provider  # filled by the NM1*85 / REF*TJ that follow
                levels.append(row)
            elif level == "20":
                payer = {}
            elif level == "PT":
                member = None
        elif tag == "NM1":
            if level == "20" and seg.el(1) == "PR":
                payer = {"payer_name": seg.el(3), "payer_id": seg.el(9)}
            elif level == "19" and seg.el(1) == "85":
                provider["billing_npi" if seg.el(8) == "XX" else "billing_tax_id"] = seg.el(9)
            elif level == "PT" and seg.el(1) in ("QC", "IL"):
                member = seg.el(9)
        elif tag == "TRN":
            if level == "PT":  # a 2200D: one claim
                if not seg.el(2):
                    return [], [], f"277CA claim at segment {seg.seg_index % KEY_SPAN + 1} has no TRN02 (patient control number)"
                row = {**_where(seg), **payer, **provider, "acknowledgment_key": _key(shas, seg),
                       "patient_control_number": seg.el(2), "member_id": member, "_codes": [], "_categories": [],
                       "_entities": []}
                claims.append(row)
                in_line = False
            elif row is not None and level in ("21", "19"):
                row["trace_number"] = seg.el(2)
        elif tag == "SVC":
            in_line = True
        elif row is None or in_line:
            continue  # service-line detail, or a level this reader does not report on
        elif tag == "STC":
            codes, categories, entities = _stc_codes(seg)
            row["_codes"] += codes
            row["_categories"] += categories
            row.setdefault("_entities", []).extend(entities)
            if "action_code" not in row:  # the first STC carries the claim's own answer
                row.update(action_code=seg.el(3), status_date=seg.el(2), _amount=seg.el(4))
        elif tag == "REF" and level == "PT":
            if seg.el(1) == "1K":
                row.setdefault("payer_claim_control_number", seg.el(2))
            elif seg.el(1) == "D9":
                row.setdefault("clearinghouse_trace_number", seg.el(2))
        elif tag == "REF" and level == "19" and seg.el(1) == "TJ":
            provider.setdefault("billing_tax_id", seg.el(2))
        elif tag == "DTP" and level == "PT" and seg.el(1) == "472":
            row.setdefault("_dates", seg.el(3))
        elif tag == "QTY" and level in ("21", "19"):
            kind = {"90": "accepted_claims", "QA": "accepted_claims", "AA": "rejected_claims",
                    "QC": "rejected_claims"}.get(seg.el(1) or "")
            if kind:
                row[kind] = seg.el(2)
        elif tag == "AMT" and level in ("21", "19"):
            kind = {"YU": "_accepted_amount", "YY": "_rejected_amount"}.get(seg.el(1) or "")
            if kind:
                row[kind] = seg.el(2)
    for claim in claims:
        if not claim["_codes"]:
            return [], [], (f"277CA claim at segment {claim['seg_index'] % KEY_SPAN + 1} has no STC "
                            "(claim level status information)")
        claim.update(status=_status_of(claim["_categories"], claim.get("action_code")),
                     status_codes=claim.pop("_codes"), entity_codes=claim.pop("_entities"),
                     acknowledged_on=acknowledged_on)
    for row in levels:
        row.update(row.pop("_provider", {}))
        categories = row["_categories"]
        accepted, rejected = (int(row[k]) if str(row.get(k) or "").isdigit() else None
                              for k in ("accepted_claims", "rejected_claims"))
        # the counts say what became of the level's claims; its STC often only acknowledges receipt (A1)
        if rejected:
            status = "partially_accepted" if accepted else "rejected"
        elif categories:
            status = _status_of(categories, row.get("action_code"))
        else:
            status = "accepted" if accepted else None
        row.update(status=status, status_code=categories[0] if categories else None, status_codes=row.pop("_codes"),
                   acknowledged_on=acknowledged_on)
    return levels, claims, None


# --- tables --------------------------------------------------------------------------------------
_ACK_STRINGS = ("acknowledged_on", "accepted_claims", "rejected_claims", "group_transaction_sets",
                "group_accepted_sets", "_accepted_amount", "_rejected_amount")
_CLAIM_STRINGS = ("acknowledged_on", "status_date", "_amount", "_dates")


def _frame(rows: list[dict], table: str, strings: tuple[str, ...]) -> pl.DataFrame:
    """Rows → a frame with the table's columns (values as read: dates and amounts still text)."""
    provenance = ("source_file", "file_sha256", "transaction_hash", "transaction_ordinal", "location")  # the reader's
    columns = {name: dtype for name, dtype in schema.TABLES[table].items() if name not in provenance}
    columns.update({name: pl.String for name in strings}, txn=pl.Int64, seg_index=pl.Int64, offset=pl.Int64,
                   **{REJECT: pl.String})
    return pl.DataFrame([{k: r.get(k) for k in columns} for r in rows], schema=columns)


def _amount(column: str, element: str, target: str) -> tuple[pl.Expr, pl.Expr]:
    return money(pl.col(column)).alias(target), amount_problem(pl.col(column), element).alias(FLAG + target)


def build(rows: pl.DataFrame, txns: pl.DataFrame, shas: Sequence[str]) -> dict[str, pl.LazyFrame]:
    """Plans of `acknowledgments` and `acknowledged_claims` for the 999/277 sets in `rows`.

    `txns` holds those sets (structure.transactions, with transaction_hash); a set that cannot
    be read gets one row with REJECT saying why, so the reader quarantines it."""
    envelope = {t["txn"]: t for t in txns.iter_rows(named=True)}
    acks: list[dict] = []
    claims: list[dict] = []
    for txn, segs in _segments(rows).items():
        t = envelope[txn]
        head = {"kind": "999" if t["st01"] == "999" else "277CA", "interchange_control_number": t["isa13"],
                "transaction_control_number": t["st02"], "sender_id": t["gs02"] or t["isa06"],
                "receiver_id": t["gs03"] or t["isa08"]}
        if t["st01"] == "999":
            found, why = _read_999(segs, shas)
            found = [{**row, "acknowledged_on": t["gs04"]} for row in found]
            claim_rows: list[dict] = []
        else:  # structure.transactions quarantined every 277 that is not a 277CA (X214)
            found, claim_rows, why = _read_277ca(segs, shas)
        if why:
            acks.append({**_where(segs[0]), **head, REJECT: why})
            continue
        acks += [{**head, **row} for row in found]
        claims += [{**row, "transaction_control_number": t["st02"]} for row in claim_rows]
    hashes = txns.lazy().select("txn", "transaction_hash")
    sets = txns.lazy()
    ack_frame = _frame(acks, "acknowledgments", _ACK_STRINGS).lazy().with_columns(
        date8(pl.col("acknowledged_on")).alias("acknowledged_on"),
        *(pl.col(c).cast(pl.Int64, strict=False) for c in ("accepted_claims", "rejected_claims",
                                                          "group_transaction_sets", "group_accepted_sets")),
        *_amount("_accepted_amount", "AMT*YU", "accepted_amount"),
        *_amount("_rejected_amount", "AMT*YY", "rejected_amount"),
    )
    claim_frame = _frame(claims, "acknowledged_claims", _CLAIM_STRINGS).lazy().with_columns(
        date8(pl.col("acknowledged_on")).alias("acknowledged_on"),
        date8(pl.col("status_date")).alias("status_date"),
        date8(pl.col("_dates")).alias("service_date"),
        date8_end(pl.col("_dates")).alias("service_date_to"),
        *_amount("_amount", "STC04", "billed_amount"),
    )
    return {
        "acknowledgments": locate(ack_frame, sets).join(hashes, on="txn", how="left"),
        "acknowledged_claims": locate(claim_frame, sets).join(hashes, on="txn", how="left"),
    }
