"""Trends: payer problems hitting 10+ claims at once, and their Claim Trend Identification packets."""

import dagster as dg
import polars as pl

from assets.denials import denials
from assets.metadata import chart, lake_tables, markdown_table
from claimback.charts import trend_clusters_chart
from assets.resources import ClaimbackResource
from claimback.stages import find_trends


@dg.asset(
    deps=[denials],
    group_name="trends",
    metadata=lake_tables("trends"),
    description="Denied claims at one payer sharing the same denial codes within the lookback window. "
    "Clusters of 10+ claims (the payer's threshold) are flagged and get a Claim Trend Identification "
    "packet (PDF with one example claim and a brief description, plus a CSV of every claim); "
    "signatures rising fast below the threshold are marked emerging.",
    kinds={"polars", "pdf"},
    owners=["team:provider-relations"],
)
def trend_clusters(claimback: ClaimbackResource) -> dg.MaterializeResult:
    result = find_trends(claimback.settings())
    clusters: pl.DataFrame = result.clusters
    shown = clusters.select("payer_name", "signature", "status", "claim_count", "denied_amount", "description")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": clusters.height,
        "flagged_clusters": int((clusters["status"] == "flagged").sum()),
        "emerging_signatures": int((clusters["status"] == "emerging").sum()),
        "provider_side_patterns": int((clusters["status"] == "provider_fix").sum()),
        "packets_written": result.packets,
        "clusters": markdown_table(shown.sort("claim_count", descending=True)),
        "chart": chart(trend_clusters_chart(clusters), "Trend clusters by payer and signature"),
    })
