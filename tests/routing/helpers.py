"""Small hand-made denials, reconsideration logs and trend members for the routing tests."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from claimback.schema import conform

AS_OF = dt.date(2026, 3, 1)

PAYERS = {
    "CCWA1": "COORDINATED CARE OF WASHINGTON",
    "SUNSH": "SUNSHINE HEALTH",
    "CSOH1": "CARESOURCE OHIO",
    "LHCC1": "LOUISIANA HEALTHCARE CONNECTIONS",
    "UHCCP": "UNITEDHEALTHCARE COMMUNITY PLAN",
    "ACME1": "ACME COMMERCIAL HEALTH",
}


def d(value: str | dt.date | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def denial(
    pcn: str,
    category: str,
    primary_reason: str,
    payer_id: str = "SUNSH",
    remit_date: str = "2026-02-01",
    first_remit_date: str | None = None,
    service_date: str | None = "2026-01-05",
    denied_amount: float = 100.0,
    remark_codes: list[str] | None = None,
    payer_claim_control_number: str | None = "ICN-{pcn}",
    frequency_code: str | None = "1",
    submitted_claim_key: str | None = "sub-{pcn}",
    **extra,
) -> dict:
    """One DENIALS row (plus any extra column such as prior_authorization)."""
    row = {
        "claim_key": f"key-{pcn}",
        "patient_control_number": pcn,
        "payer_claim_control_number": payer_claim_control_number.format(pcn=pcn) if payer_claim_control_number else None,
        "payer_name": PAYERS.get(payer_id, payer_id),
        "payer_id": payer_id,
        "remit_date": d(remit_date),
        "first_remit_date": d(first_remit_date or remit_date),
        "service_date": d(service_date),
        "category": category,
        "primary_reason": primary_reason,
        "reason_codes": [primary_reason],
        "remark_codes": remark_codes or [],
        "denial_level": "claim",
        "denied_amount": Decimal(str(denied_amount)).quantize(Decimal("0.01")),
        "frequency_code": frequency_code,
        "submitted_claim_key": submitted_claim_key.format(pcn=pcn) if submitted_claim_key else None,
        "adjudication_count": 1,
    }
    row.update(extra)
    return row


def denials(*rows: dict) -> pl.DataFrame:
    """DENIALS frame from rows; extra columns (prior_authorization, claim_status_code) are kept."""
    base = conform(pl.DataFrame([{k: v for k, v in r.items()} for r in rows], infer_schema_length=None), "denials")
    extras = sorted({k for r in rows for k in r} - set(base.columns))
    if not extras:
        return base
    return base.with_columns([pl.Series(k, [r.get(k) for r in rows], dtype=pl.String) for k in extras])


def log(*rows: tuple) -> pl.DataFrame:
    """Reconsideration log rows: (pcn, level, submitted_on, outcome, decided_on[, outcome_source])."""
    records = []
    for r in rows:
        pcn, level, submitted, outcome, decided, *source = r
        records.append(
            {
                "patient_control_number": pcn,
                "payer_claim_control_number": f"ICN-{pcn}",
                "level": level,
                "submitted_on": d(submitted),
                "reference_number": f"R-{pcn}-{level}",
                "outcome": outcome,
                "decided_on": d(decided),
                "outcome_source": source[0] if source else ("logged" if outcome else "pending"),
            }
        )
    schema = {
        "patient_control_number": pl.String, "payer_claim_control_number": pl.String, "level": pl.Int64,
        "submitted_on": pl.Date, "reference_number": pl.String, "outcome": pl.String, "decided_on": pl.Date,
        "outcome_source": pl.String,
    }
    return pl.DataFrame(records, schema=schema)


def members(*pairs: tuple[str, str], status: str = "flagged") -> pl.DataFrame:
    """Trend membership rows (cluster_id, pcn) with cluster status."""
    return pl.DataFrame(
        {
            "cluster_id": [c for c, _ in pairs],
            "claim_key": [f"key-{p}" for _, p in pairs],
            "patient_control_number": [p for _, p in pairs],
            "status": [status] * len(pairs),
        }
    )
