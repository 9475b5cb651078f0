"""Hand-made remits and claims in the contract schemas, for tests that need exact small cases.

Write a case the way an analyst reads a remit:

    book = ClaimBook()
    claim = book.remit("PCN1", remit_date="2026-01-10", charge=100, paid=0, payer_claim_number="ICN1")
    claim.line("99213", charge=100, paid=0, adjustments=[("CO", "197", 100)], remarks=["N54"])
    book.submitted("PCN1", charge=100)
    frames = book.frames()   # {"remit_claims": DataFrame, ...} conformed to claimback.schema

Claim keys follow the reader's shape (`<16 hex>-<ordinal>`); each `remit_file`/`submitted_file`
name gets its own hash, and claims in one file are numbered in the order they were added.
Amounts are given as numbers and become Decimal(12, 2).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from claimback.schema import conform, empty

Adjustment = tuple[str, str, float]  # (group_code, reason_code, amount)


def _money(value: float | int | str | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _date(value: str | dt.date | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def _file_hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


@dataclass
class RemitClaim:
    """One CLP with its lines, adjustments and remarks, as rows of the contract tables."""

    row: dict
    lines: list[dict] = field(default_factory=list)
    adjustments: list[dict] = field(default_factory=list)
    remarks: list[dict] = field(default_factory=list)

    @property
    def claim_key(self) -> str:
        return self.row["claim_key"]

    def adjust(self, group: str, reason: str, amount: float, line_number: int | None = None) -> "RemitClaim":
        """A CAS triplet at claim level (line_number None) or on a line."""
        self.adjustments.append(
            {"claim_key": self.claim_key, "line_number": line_number, "group_code": group,
             "reason_code": reason, "amount": _money(amount), "quantity": None,
             "source_file": self.row["source_file"]}
        )
        return self

    def remark(self, code: str, line_number: int | None = None, segment: str | None = None) -> "RemitClaim":
        self.remarks.append(
            {"claim_key": self.claim_key, "line_number": line_number, "remark_code": code,
             "source_segment": segment or ("LQ" if line_number else "MOA"),
             "source_file": self.row["source_file"]}
        )
        return self

    def line(
        self,
        procedure_code: str,
        charge: float,
        paid: float,
        adjustments: list[Adjustment] = (),
        remarks: list[str] = (),
        service_date: str | None = None,
        modifiers: list[str] = (),
        units: float = 1.0,
    ) -> "RemitClaim":
        number = len(self.lines) + 1
        self.lines.append(
            {"claim_key": self.claim_key, "line_number": number, "procedure_qualifier": "HC",
             "procedure_code": procedure_code, "modifiers": list(modifiers),
             "charge_amount": _money(charge), "paid_amount": _money(paid), "units": units,
             "service_date": _date(service_date), "source_file": self.row["source_file"]}
        )
        for group, reason, amount in adjustments:
            self.adjust(group, reason, amount, line_number=number)
        for code in remarks:
            self.remark(code, line_number=number)
        return self


class ClaimBook:
    """A growing set of hand-made 835 claims and 837 submissions."""

    def __init__(self, payer_name: str = "ACME COMMERCIAL HEALTH", payer_id: str = "ACME1"):
        self.payer_name = payer_name
        self.payer_id = payer_id
        self.remit_claims: list[RemitClaim] = []
        self.submissions: list[dict] = []
        self.submitted_lines: list[dict] = []
        self._ordinals: dict[str, int] = {}

    def _key(self, source_file: str) -> tuple[str, int, str]:
        ordinal = self._ordinals.get(source_file, 0) + 1
        self._ordinals[source_file] = ordinal
        sha = _file_hash(source_file)
        return f"{sha[:16]}-{ordinal:07d}", ordinal, sha

    def remit(
        self,
        patient_control_number: str,
        remit_date: str,
        charge: float,
        paid: float,
        status: str = "1",
        payer_claim_number: str | None = None,
        original_payer_claim_number: str | None = None,
        patient_responsibility: float = 0,
        remit_file: str | None = None,
        payer_name: str | None = None,
        payer_id: str | None = "default",
        statement_from: str | None = None,
        rendering_npi: str | None = None,
        payee_npi: str | None = "1234567893",
        member_id: str | None = None,
    ) -> RemitClaim:
        """Add one CLP. `remit_file` defaults to one file per remit date (one check per file)."""
        source_file = remit_file or f"remit-{remit_date}.835"
        key, ordinal, sha = self._key(source_file)
        row = {
            "claim_key": key, "source_file": source_file, "file_sha256": sha,
            "transaction_hash": sha[:32], "payer_name": payer_name or self.payer_name,
            "payer_id": self.payer_id if payer_id == "default" else payer_id,
            "payee_npi": payee_npi, "member_id": member_id, "remit_date": _date(remit_date),
            "check_number": f"CHK-{sha[:8]}",
            "patient_control_number": patient_control_number, "claim_status_code": status,
            "charge_amount": _money(charge), "paid_amount": _money(paid),
            "patient_responsibility_amount": _money(patient_responsibility),
            "payer_claim_control_number": payer_claim_number,
            "original_payer_claim_control_number": original_payer_claim_number,
            "statement_from": _date(statement_from), "rendering_npi": rendering_npi,
            "is_reversal": status == "22", "claim_ordinal": ordinal,
        }
        claim = RemitClaim(row)
        self.remit_claims.append(claim)
        return claim

    def reversal_of(self, claim: RemitClaim, remit_date: str, remit_file: str | None = None) -> RemitClaim:
        """CLP02=22 for `claim`: same identity, every amount negated (5010 TR3 1.10.2.8)."""
        row = claim.row
        reversal = self.remit(
            row["patient_control_number"], remit_date,
            charge=-row["charge_amount"], paid=-row["paid_amount"], status="22",
            payer_claim_number=row["payer_claim_control_number"],
            patient_responsibility=-row["patient_responsibility_amount"],
            remit_file=remit_file, payer_name=row["payer_name"], payer_id=row["payer_id"],
            payee_npi=row["payee_npi"], member_id=row["member_id"],
        )
        for line in claim.lines:
            reversal.line(line["procedure_code"], charge=-line["charge_amount"],
                          paid=-line["paid_amount"], service_date=line["service_date"],
                          modifiers=line["modifiers"])
        for adj in claim.adjustments:
            reversal.adjust(adj["group_code"], adj["reason_code"], -adj["amount"], adj["line_number"])
        return reversal

    def submitted(
        self,
        patient_control_number: str,
        charge: float,
        frequency_code: str = "1",
        original_payer_claim_number: str | None = None,
        submitted_file: str = "claims.837",
        payer_name: str | None = None,
        payer_id: str | None = "default",
        billing_npi: str = "1234567893",
        place_of_service: str = "11",
        subscriber_member_id: str | None = None,
        statement_from: str | None = "2026-01-02",
        lines: list[tuple[str, float]] = (),
    ) -> str:
        """Add one CLM (and its SV1 lines as (procedure_code, charge)); returns its claim_key."""
        key, ordinal, sha = self._key(submitted_file)
        self.submissions.append(
            {"claim_key": key, "source_file": submitted_file, "file_sha256": sha,
             "transaction_hash": sha[:32], "claim_type": "P",
             "patient_control_number": patient_control_number,
             "payer_name": payer_name or self.payer_name,
             "payer_id": self.payer_id if payer_id == "default" else payer_id,
             "billing_npi": billing_npi, "subscriber_member_id": subscriber_member_id,
             "total_charge": _money(charge),
             "frequency_code": frequency_code, "place_of_service": place_of_service,
             "statement_from": _date(statement_from), "statement_to": _date(statement_from),
             "original_payer_claim_control_number": original_payer_claim_number,
             "claim_ordinal": ordinal}
        )
        for number, (code, line_charge) in enumerate(lines, start=1):
            self.submitted_lines.append(
                {"claim_key": key, "line_number": number, "source_file": submitted_file,
                 "service_type": "SV1", "procedure_code": code, "modifiers": [],
                 "charge_amount": _money(line_charge), "units": 1.0,
                 "service_date": _date(statement_from)}
            )
        return key

    def frames(self) -> dict[str, pl.DataFrame]:
        """Every table, conformed to the contract schema (empty tables keep their schema)."""
        rows = {
            "remit_claims": [c.row for c in self.remit_claims],
            "remit_service_lines": [r for c in self.remit_claims for r in c.lines],
            "remit_adjustments": [r for c in self.remit_claims for r in c.adjustments],
            "remit_remarks": [r for c in self.remit_claims for r in c.remarks],
            "submitted_claims": self.submissions,
            "submitted_service_lines": self.submitted_lines,
        }
        return {
            table: conform(pl.DataFrame(data, infer_schema_length=None), table) if data else empty(table)
            for table, data in rows.items()
        }
