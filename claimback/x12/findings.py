"""Validation findings the reader reports (never rejects): money that does not balance and
NPIs whose check digit is wrong.

835 balancing rules (005010X221A1 §1.10.2): a claim's charge minus payment equals its CAS
adjustments (claim and line level); a line's charge minus payment equals its line CAS; the
check (BPR02) equals the claims' payments minus the provider-level adjustments (PLB).
De-identified sample files are masked and never balance, which is why these are findings.
"""
from __future__ import annotations

import polars as pl

from claimback.x12.fields import npi_is_valid

ZERO = pl.lit(0).cast(pl.Decimal(18, 2))


def _sum(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Decimal(18, 2)).fill_null(0).sum()


def _finding(rule: str, severity: str, message: pl.Expr, claim_key: str | None = "claim_key") -> dict:
    return dict(rule=pl.lit(rule), severity=pl.lit(severity), message=message,
                claim_key=pl.col(claim_key) if claim_key else pl.lit(None, pl.String))


def _unbalanced(rows: pl.LazyFrame, cas: pl.LazyFrame, key: str) -> pl.LazyFrame:
    """Rows whose charge minus payment differs from their CAS adjustments (`expected`, `cas_total`)."""
    return rows.join(cas, on=key, how="left").with_columns(
        pl.col("cas_total").fill_null(ZERO),
        expected=pl.col("charge_amount").cast(pl.Decimal(18, 2)).fill_null(0)
        - pl.col("paid_amount").cast(pl.Decimal(18, 2)).fill_null(0),
    ).filter(pl.col("expected") != pl.col("cas_total"))


def claim_balance(claims: pl.LazyFrame, adjustments: pl.LazyFrame) -> pl.LazyFrame:
    cas = adjustments.group_by("claim_ordinal").agg(cas_total=_sum("amount"))
    return _unbalanced(claims, cas, "claim_ordinal").select(
        "txn", "location",
        **_finding("claim_balance", "warning", pl.format(
            "claim {}: charge minus payment (CLP03 - CLP04) is {} but its CAS adjustments total {}",
            pl.col("patient_control_number").fill_null("-"), pl.col("expected"), pl.col("cas_total"))),
    )


def line_balance(lines: pl.LazyFrame, adjustments: pl.LazyFrame) -> pl.LazyFrame:
    cas = adjustments.filter(pl.col("line_seq").is_not_null()).group_by("line_seq").agg(cas_total=_sum("amount"))
    return _unbalanced(lines, cas, "line_seq").select(
        "txn", "location",
        **_finding("line_balance", "warning", pl.format(
            "service line {} ({}): charge minus payment (SVC02 - SVC03) is {} but its CAS adjustments total {}",
            pl.col("line_number"), pl.col("procedure_code").fill_null("-"), pl.col("expected"), pl.col("cas_total"))),
    )


def transaction_balance(payments: pl.LazyFrame, claims: pl.LazyFrame, plb: pl.LazyFrame) -> pl.LazyFrame:
    paid = claims.group_by("txn").agg(paid=_sum("paid_amount"))
    adj = plb.group_by("txn").agg(plb=_sum("amount"))
    p = payments.filter(pl.col("total_payment_amount").is_not_null()).join(paid, on="txn", how="left").join(
        adj, on="txn", how="left").with_columns(pl.col("paid").fill_null(ZERO), pl.col("plb").fill_null(ZERO))
    return p.filter(pl.col("total_payment_amount").cast(pl.Decimal(18, 2)) != pl.col("paid") - pl.col("plb")).select(
        "txn", "location",
        **_finding("transaction_balance", "error", pl.format(
            "BPR02 total payment {} does not equal claim payments {} minus provider adjustments {}",
            pl.col("total_payment_amount"), pl.col("paid"), pl.col("plb")), claim_key=None),
    )


def npi_check_digits(frame: pl.LazyFrame, column: str, role: str, with_claim: bool = True) -> pl.LazyFrame:
    """NPIs in `column` that are ten digits but fail the Luhn check digit."""
    bad = frame.filter(npi_is_valid(pl.col(column)) == False)  # noqa: E712 - null means "not an NPI"
    return bad.select(
        "txn", "location",
        **_finding("npi_check_digit", "warning", pl.format(
            "{} NPI {} fails the NPI check digit (Luhn with prefix 80840)", pl.lit(role), pl.col(column)),
            claim_key="claim_key" if with_claim else None),
    ).unique(maintain_order=True)
