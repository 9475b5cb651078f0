"""Checks on the trend clusters: a new trend since the last published run is said."""

import dagster as dg

from pipelines.defs.metadata import warn_when_found
from pipelines.defs.resources import ClaimbackResource


@dg.asset_check(asset="trend_clusters", description="Warns when a new 10+ claim trend appears since the last run.")
def no_new_trend(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    new = claimback.settings().lake.read_state("new_trend_clusters")
    return warn_when_found(
        new, f"{new.height} new trend clusters to report to the payer" if new.height else "no new trend cluster",
        new_clusters=new.select("payer_name", "signature", "claim_count", "description") if new.height else new)
