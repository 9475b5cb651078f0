"""Denials: which claims are denied now, why, for how much, and who can fix it."""

import dagster as dg
import polars as pl

from assets.ingest import x12_lake
from assets.metadata import chart, dollars, lake_tables, markdown_table, percent
from claimback.charts import denials_by_category_over_time
from assets.resources import ClaimbackResource
from claimback.stages import build_denials


@dg.asset(
    deps=[x12_lake],
    group_name="denials",
    metadata=lake_tables("denials"),
    description="One row per claim whose latest adjudication denies all or part of the charge, "
    "with its root-cause category (from CARC, RARC and group codes), the denied dollars and who can "
    "fix it. Deductible/coinsurance and contractual pricing are not denials. Also writes the claims a 999 "
    "or 277CA rejected at the front door (claim_rejections).",
    kinds={"polars"},
    owners=["team:revenue-integrity"],
)
def denials(claimback: ClaimbackResource) -> dg.MaterializeResult:
    result = build_denials(claimback.settings())
    denied: pl.DataFrame = result.denials
    adjudicated = max(result.adjudicated_claims, 1)
    top = (
        denied.group_by("primary_reason").agg(pl.len().alias("claims"), pl.col("denied_amount").sum())
        .sort("claims", descending=True)
    )
    return dg.MaterializeResult(metadata={
        "dagster/row_count": denied.height,
        "denial_rate": percent(denied.height / adjudicated),
        "denied_dollars": dollars(result.denied_amount),
        "by_category": markdown_table(result.by_category),
        "top_reasons": markdown_table(top, limit=10),
        # 835 claims answering no 837 (table lonely_payments): posting and denial work are partial
        "lonely_payments": result.lonely_payments,
        "lonely_paid_dollars": dollars(result.lonely_paid_amount),
        "lonely_with_candidates": result.lonely_with_candidates,
        # paid lines allowed below the fee schedule or the payer's usual amount (table underpaid_lines)
        "underpaid_line_count": result.underpaid_lines,
        "underpaid_claims": result.underpaid_claims,
        "underpaid_dollars": dollars(result.underpaid_amount),
        # 837 claims with no 835 past the payer's window (table silent_claims): claim status inquiries
        "silent_claims": result.silent_claims,
        "silent_billed_dollars": dollars(result.silent_billed_amount),
        # claims a 999 or 277CA rejected and nothing has answered since (table claim_rejections)
        "front_door_rejections": result.front_door_rejections,
        "front_door_rejected_dollars": dollars(result.front_door_rejected_amount),
        "chart": chart(denials_by_category_over_time(denied), "Denied dollars by month and category"),
    })
