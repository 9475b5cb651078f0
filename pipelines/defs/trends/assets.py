"""Trends: payer problems hitting 10+ claims at once, and their Claim Trend Identification packets."""

import polars as pl

from claimback.charts import trend_clusters_chart
from claimback.stages import find_trends
from pipelines.defs.metadata import chart, markdown_table
from pipelines.defs.resources import ClaimbackResource
from pipelines.defs.specs import stage_asset, table_results

STAGE = "trends"


@stage_asset(
    STAGE, "trend_clusters", group_name="trends", owners=["team:provider-relations"], kinds={"polars", "pdf"},
    description="Denied claims at one payer sharing the same denial codes within the lookback window. "
    "Clusters of 10+ claims (the payer's threshold) are flagged and get a Claim Trend Identification "
    "packet (PDF with one example claim and a brief description, plus a CSV of every claim); "
    "signatures rising fast below the threshold are marked emerging.",
)
def trend_clusters(claimback: ClaimbackResource):
    settings = claimback.settings()
    result = find_trends(settings)
    clusters: pl.DataFrame = result.clusters
    shown = clusters.select("payer_name", "signature", "status", "claim_count", "denied_amount", "description")
    yield from table_results(STAGE, settings.lake, {"trend_clusters": {
        "dagster/row_count": clusters.height,
        "flagged_clusters": int((clusters["status"] == "flagged").sum()),
        "emerging_signatures": int((clusters["status"] == "emerging").sum()),
        "provider_side_patterns": int((clusters["status"] == "provider_fix").sum()),
        "packets_written": result.packets,
        "clusters": markdown_table(shown.sort("claim_count", descending=True)),
        "chart": chart(trend_clusters_chart(clusters), "Trend clusters by payer and signature"),
    }})
