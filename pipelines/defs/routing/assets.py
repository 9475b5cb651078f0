"""Routing: every denial's next step and the date after which it is worthless, ordered by value.

The asset's page is the analyst's "Today" page: the table of what is due in the next 7 days and the
counts that matter, computed by the same sql/ views analysts query (analyst_today,
analyst_today_counts), so the UI, `claimback sql` and the notebook never disagree.
"""

import dagster as dg
import polars as pl

from claimback.charts import work_queue_by_route_and_deadline
from claimback.publish import SQL_DIR, query_views
from claimback.stages import route_denials
from pipelines.defs.metadata import chart, key_values, table
from pipelines.defs.resources import ClaimbackResource
from pipelines.defs.specs import stage_asset, table_results

STAGE = "routing"

TODAY_ROWS = 50  # the table in the UI; the view has them all
# Branches plotted run after run (metadata name -> analyst_today_branches.branch).
BRANCH_PLOTS = {"silent_claims": "silent claims", "front_door_rejections": "front-door rejections",
                "underpayments": "underpayments", "payer_overdue": "payer overdue"}
TODAY_VIEWS = ["analyst_today", "analyst_today_counts", "analyst_work_queue_by_route", "analyst_today_branches"]


@stage_asset(
    STAGE, "work_queue", group_name="routing", owners=["team:provider-relations"], kinds={"polars", "scikitlearn"},
    description="The work queue: one row per denied claim with its route (corrected claim, Level I "
    "reconsideration, Level II dispute, clinical appeal, rebill another payer, trend report, expired, "
    "resolved), its deadline under the payer's rules, days left, and a priority (expected recovery "
    "weighted by urgency); and the request packets drawn for the most valuable.",
)
def work_queue(claimback: ClaimbackResource):
    settings = claimback.settings()
    result = route_denials(settings)
    queue: pl.DataFrame = result.work_queue
    report = result.model
    lake = settings.lake
    tables = {"work_queue": queue, "request_packets": lake.read("request_packets"),
              "trend_packets": lake.read("trend_packets"), "trend_clusters": lake.read("trend_clusters"),
              "lonely_payments": lake.read("lonely_payments", ("claim_key", "paid_amount"))}
    today, counts, by_route, branches = query_views(
        tables, SQL_DIR, TODAY_VIEWS, "SELECT * FROM analyst_today", "SELECT * FROM analyst_today_counts",
        "SELECT route, items, denied_amount, expected_recovery, next_deadline, due_within_7_days, "
        "past_our_deadline, awaiting_payer_decision, payer_decision_overdue FROM analyst_work_queue_by_route",
        "SELECT * FROM analyst_today_branches")
    counts = counts.row(0, named=True)
    by_branch = {row["branch"]: row for row in branches.iter_rows(named=True)}
    yield from table_results(STAGE, lake, {"work_queue": {
        # first, so it is the top of the asset's page: what to do today
        "today": table(today, limit=TODAY_ROWS),
        "today_more_rows": dg.MetadataValue.md(
            f"{today.height - TODAY_ROWS} more rows: `claimback sql analyst_today`" if today.height > TODAY_ROWS
            else "_every item due in the next 7 days is in the table above_"),
        # every branch of the payer's decision tree with its items and dollars
        "branches": table(branches),
        # numbers Dagster plots run after run (the asset's Plots tab)
        "due_this_week": dg.MetadataValue.int(int(counts["due_this_week"])),
        "past_our_deadline": dg.MetadataValue.int(int(counts["past_our_deadline"])),
        "past_confirmed_deadline": dg.MetadataValue.int(int(counts["past_confirmed_deadline"])),
        "awaiting_payer": dg.MetadataValue.int(int(counts["awaiting_payer"])),
        "payer_decision_overdue": dg.MetadataValue.int(int(counts["payer_decision_overdue"])),
        "open_expected_recovery": dg.MetadataValue.float(float(counts["open_expected_recovery"])),
        **{f"{name}{suffix}": value for name, branch in BRANCH_PLOTS.items()
           for suffix, value in (("", dg.MetadataValue.int(int(by_branch[branch]["items"]))),
                                 ("_dollars", dg.MetadataValue.float(float(by_branch[branch]["dollars"]))))},
        "new_trends_since_last_run": dg.MetadataValue.int(lake.read_state("new_trend_clusters").height),
        "dagster/row_count": queue.height,
        "by_route": table(by_route),
        "overturn_model": key_values(report.as_dict()),
        "chart": chart(work_queue_by_route_and_deadline(queue, settings.as_of), "Work queue by route and deadline"),
        "request_packets_written": result.packets,
    }})
