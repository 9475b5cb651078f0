"""Checks on the work queue: known routes, and a deadline on every claim still to file."""

import dagster as dg
import polars as pl

from claimback import schema
from claimback.routing import routes
from pipelines.defs.metadata import markdown_table
from pipelines.defs.resources import ClaimbackResource


@dg.asset_check(asset="work_queue", blocking=True,
                description="Every work-queue row has a known route, and every claim still to file has a deadline.")
def routes_are_valid(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    queue = claimback.settings().lake.read("work_queue")
    bad_route = queue.filter(~pl.col("route").is_in(list(schema.ROUTES)))
    # resolved, expired and patient billing have nothing left to file
    to_file = queue.filter(routes.has_filing_window())
    no_deadline = to_file.filter(pl.col("deadline").is_null())
    return dg.AssetCheckResult(
        passed=bad_route.is_empty() and no_deadline.is_empty(),
        description=f"{queue.height - bad_route.height} of {queue.height} rows have a known route; "
        f"{to_file.height - no_deadline.height} of {to_file.height} claims still to file have a deadline",
        metadata={"routes_without_deadline": markdown_table(no_deadline.group_by("route").len("claims"))},
    )
