"""Checks on the work queue: known routes, and a deadline on every claim still to file."""

import dagster as dg
import polars as pl

from claimback import schema
from claimback.routing import routes, unanswered
from pipelines.defs.metadata import markdown_table
from pipelines.defs.resources import ClaimbackResource


@dg.asset_check(asset="work_queue", blocking=True,
                description="Every work-queue row has a known route, and every claim still to file has a deadline.")
def routes_are_valid(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    queue = claimback.settings().lake.read("work_queue")
    bad_route = queue.filter(~pl.col("route").is_in(list(schema.ROUTES)))
    # resolved, expired and patient billing have nothing left to file
    to_file = queue.filter(routes.has_filing_window())
    # a rejection whose 837 is not in the inbox has no date of service to count from: said in its
    # reason, and counted here, not a failure
    unknown = to_file.filter(unanswered.window_unknown())
    no_deadline = to_file.filter(pl.col("deadline").is_null() & ~unanswered.window_unknown())
    return dg.AssetCheckResult(
        passed=bad_route.is_empty() and no_deadline.is_empty(),
        description=f"{queue.height - bad_route.height} of {queue.height} rows have a known route; "
        f"{to_file.height - no_deadline.height - unknown.height} of {to_file.height} claims still to file "
        f"have a deadline; {unknown.height} front-door rejections wait for their 837's date of service",
        metadata={"routes_without_deadline": markdown_table(no_deadline.group_by("route").len("claims")),
                  "rejections_without_837": unknown.height},
    )
