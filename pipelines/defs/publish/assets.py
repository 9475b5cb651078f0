"""Publish: the DuckDB file analysts open, rebuilt aside and swapped in whole at the end of a run."""

import dagster as dg
import polars as pl

from claimback.publish import SQL_DIR
from claimback.stages import publish
from pipelines.defs.metadata import markdown_table
from pipelines.defs.resources import ClaimbackResource
from pipelines.defs.specs import upstream


@dg.asset(
    deps=upstream("publish"),  # every lake table (claimback.stages.READS)
    group_name="publish",
    description="WAREHOUSE/claimback.duckdb: every contract table and the analyst views in claimback/sql/. "
    "Built in a temporary file and renamed into place, so an open analyst connection is never "
    "blocked and never sees a half-written file.",
    kinds={"duckdb"},
    owners=["team:revenue-integrity"],
)
def claimback_duckdb(claimback: ClaimbackResource) -> dg.MaterializeResult:
    result = publish(claimback.settings(), SQL_DIR)
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(result.path)),
        "tables": markdown_table(pl.DataFrame({"table": list(result.tables), "rows": list(result.tables.values())}), limit=40),
        "views": dg.MetadataValue.md(", ".join(f"`{v}`" for v in result.views) or "_none_"),
        # said on every run, so nobody shares a copy this run did not refresh
        "deidentified_copy": dg.MetadataValue.path(str(result.deidentified)) if result.deidentified
        else dg.MetadataValue.text("not published (run once with --deidentify or CLAIMBACK_DEIDENTIFY=1; "
                                   "every later run then refreshes it)"),
    })
