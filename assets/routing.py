"""Routing: every denial's next step and the date after which it is worthless, ordered by value."""

import dagster as dg
import polars as pl

from assets.ingest import reconsideration_log
from assets.metadata import chart, key_values, markdown_table
from claimback.charts import work_queue_by_route_and_deadline
from assets.resources import ClaimbackResource
from assets.trends import trend_clusters
from claimback.stages import route_denials


@dg.asset(
    deps=[trend_clusters, reconsideration_log],
    group_name="routing",
    description="The work queue: one row per denied claim with its route (corrected claim, Level I "
    "reconsideration, Level II dispute, clinical appeal, rebill another payer, trend report, expired, "
    "resolved), its deadline under the payer's rules, days left, and a priority (expected recovery "
    "weighted by urgency).",
    kinds={"polars", "scikitlearn"},
    owners=["team:provider-relations"],
)
def work_queue(claimback: ClaimbackResource) -> dg.MaterializeResult:
    settings = claimback.settings()
    result = route_denials(settings)
    queue: pl.DataFrame = result["work_queue"]
    report = result["model"]
    by_route = (
        queue.group_by("route")
        .agg(pl.len().alias("claims"), pl.col("denied_amount").sum(), pl.col("deadline").min().alias("nearest_deadline"))
        .sort("claims", descending=True)
    )
    return dg.MaterializeResult(metadata={
        "dagster/row_count": queue.height,
        "by_route": markdown_table(by_route),
        "overturn_model": key_values(report.as_dict()),
        "chart": chart(work_queue_by_route_and_deadline(queue, settings.as_of), "Work queue by route and deadline"),
        "request_packets_written": result["packets"],
        "top_priorities": markdown_table(
            queue.select("patient_control_number", "payer_name", "route", "deadline", "days_left",
                         "denied_amount", "priority").head(10)
        ),
    })

