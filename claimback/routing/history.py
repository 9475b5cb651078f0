"""Denial history for the overturn model: every claim ever denied, as it looked when first denied.

The current `denials` table only holds claims still denied today, so a claim a Level I won (and
the payer then paid) has left it: training on it alone would learn from losers only. The
adjudications table (every adjudication with `is_denied`, `denied_amount`, `primary_reason`)
still holds the first denial of every claim, won or lost, so the history is rebuilt from it.
It carries no remark codes, so the category comes from the primary CARC alone (`carc_category`);
the model then scores current denials by the same rule, so training and scoring agree.
"""
from __future__ import annotations

import polars as pl

from claimback import codes


def is_adjudications(frame: pl.DataFrame) -> bool:
    """True when `frame` is the adjudications table rather than denial rows."""
    return "is_denied" in frame.columns and "category" not in frame.columns


def carc_category(primary_reason: pl.Series) -> pl.Series:
    """The root-cause category of a group-CARC such as "CO-197" (no remark-code refinement)."""
    distinct = pl.DataFrame({"primary_reason": primary_reason.unique()}).with_columns(
        pl.col("primary_reason").str.split_exact("-", 1).struct.rename_fields(["group_code", "reason_code"])
    ).unnest("primary_reason", separator="_").rename(
        {"primary_reason_group_code": "group_code", "primary_reason_reason_code": "reason_code"}
    )
    distinct = distinct.with_columns(primary_reason=pl.concat_str("group_code", pl.lit("-"), "reason_code"))
    classified = codes.classify(distinct).select("primary_reason", "category")
    return (
        pl.DataFrame({"primary_reason": primary_reason})
        .join(classified, on="primary_reason", how="left", maintain_order="left")["category"]
        .fill_null("unknown")
    )


def denial_history(adjudications: pl.DataFrame) -> pl.DataFrame:
    """One row per claim that was ever denied, from its first denied adjudication (DENIALS-like columns)."""
    identity = "claim_id" if "claim_id" in adjudications.columns else "patient_control_number"
    order = [c for c in ("remit_date", "adjudication_seq") if c in adjudications.columns]
    first = (
        adjudications.filter(pl.col("is_denied").fill_null(False))
        .sort(order, nulls_last=True)
        .unique(identity, keep="first", maintain_order=True)
    )
    keep = [c for c in ("claim_key", "patient_control_number", "payer_claim_control_number", "payer_id",
                        "payer_name", "remit_date", "service_date", "denied_amount", "primary_reason")
            if c in first.columns]
    return first.select(keep).with_columns(
        first_remit_date=pl.col("remit_date"),
        category=carc_category(first["primary_reason"].cast(pl.String)),
    )
