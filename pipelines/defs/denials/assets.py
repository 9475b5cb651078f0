"""Denials: which claims are denied now, why, for how much, and who can fix it; and beside them the
claims no denial list shows (lonely payments, silent claims, front-door rejections, underpayments).
The stage's tables are each an asset (claimback.stages.WRITES["denials"]); `denials` carries the
stage's summary."""

import polars as pl

from claimback.charts import denials_by_category_over_time
from claimback.stages import build_denials
from pipelines.defs.metadata import chart, dollars, markdown_table, percent
from pipelines.defs.resources import ClaimbackResource
from pipelines.defs.specs import stage_asset, table_results

STAGE = "denials"


@stage_asset(
    STAGE, "denials", group_name="denials", owners=["team:revenue-integrity"], kinds={"polars"},
    description="Denials, their lines, every adjudication, recovered claims, lonely payments, silent "
    "claims, front-door rejections, the fee schedule and the underpaid lines it finds.",
)
def denials(claimback: ClaimbackResource):
    settings = claimback.settings()
    result = build_denials(settings)
    denied: pl.DataFrame = result.denials
    adjudicated = max(result.adjudicated_claims, 1)
    top = (
        denied.group_by("primary_reason").agg(pl.len().alias("claims"), pl.col("denied_amount").sum())
        .sort("claims", descending=True)
    )
    yield from table_results(STAGE, settings.lake, {"denials": {
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
    }})
