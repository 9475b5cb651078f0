"""Ingest: new inbox files → reader tables in the Parquet lake, in parallel batches.

A graph-backed asset: `plan_new_files` fans the new files out as batches, `parse_batch` runs once per
batch (in parallel under the multiprocess executor, or on a cluster executor's workers), and
`consolidate_lake` de-duplicates transactions into the tables every later stage reads.
"""

import dagster as dg
import polars as pl

from assets.metadata import lake_tables, markdown_table
from assets.resources import ClaimbackResource
from claimback import stages

NO_NEW_FILES = "none"


@dg.op(out=dg.DynamicOut(list), description="Find inbox files no earlier run has read.")
def plan_new_files(context: dg.OpExecutionContext, claimback: ClaimbackResource):
    plan = stages.plan_new_files(claimback.settings())
    batches = plan.batches(max_files=claimback.batch_files)
    context.log.info(
        f"inbox: {len(plan.new)} new files in {len(batches)} batches, {plan.known} already read, "
        f"{len(plan.duplicates)} duplicates of files already read"
    )
    for index, batch in enumerate(batches):
        yield dg.DynamicOutput(batch, mapping_key=f"batch_{index:05d}")
    if not batches:  # keep the graph flowing so downstream stages refresh for the new as-of date
        yield dg.DynamicOutput([], mapping_key=NO_NEW_FILES)


@dg.op(description="Parse one batch of X12 files into the lake (a file is read exactly once).")
def parse_batch(context: dg.OpExecutionContext, claimback: ClaimbackResource, batch: list) -> dict:
    if not batch:
        return {"files": 0, "claims": 0, "quarantined_transactions": 0}
    summary = stages.parse_batch(claimback.settings(), batch)
    context.log.info(f"batch {summary['batch_id']}: {summary['files']} files, {summary['claims']} claims")
    return summary


@dg.op(out=dg.Out(dagster_type=dg.Nothing), description="Build the de-duplicated current tables.")
def consolidate_lake(context: dg.OpExecutionContext, claimback: ClaimbackResource, batches: list[dict]):
    settings = claimback.settings()
    counts = stages.consolidate_lake(settings)
    lake = settings.lake
    files = lake.read("ingested_files")
    quarantine = lake.read("quarantine")
    context.add_output_metadata({
        "dagster/row_count": counts.get("remit_claims", 0) + counts.get("submitted_claims", 0),
        "files_read_this_run": sum(b["files"] for b in batches),
        "claims_read_this_run": sum(b["claims"] for b in batches),
        "rows_per_table": markdown_table(pl.DataFrame({"table": list(counts), "rows": list(counts.values())})),
        "files_by_status": markdown_table(files.group_by("status").len("files").sort("status")),
        "quarantined": markdown_table(quarantine.select("source_file", "location", "error")),
    })


@dg.graph_asset(
    group_name="ingest",
    metadata=lake_tables("ingest"),
    description="Every 835 remittance and 837 claim in the inbox, read into the Parquet lake: "
    "claims, service lines, every adjustment (CAS) and remark, provider-level adjustments, and the "
    "files or transaction sets that could not be read (quarantine). Each file is read once; the "
    "same remit delivered twice loads once.",
    kinds={"polars", "parquet"},
    owners=["team:revenue-integrity"],
)
def x12_lake():
    return consolidate_lake(plan_new_files().map(parse_batch).collect())


@dg.asset(
    group_name="ingest",
    metadata=lake_tables("reconsiderations"),
    description="The reconsideration log (every *reconsiderations.csv in the inbox): Level I and "
    "Level II requests with their outcomes. Malformed rows are listed with their line number and skipped.",
    kinds={"polars"},
    owners=["team:provider-relations"],
)
def reconsideration_log(claimback: ClaimbackResource) -> dg.MaterializeResult:
    result = stages.load_reconsiderations(claimback.settings())
    return dg.MaterializeResult(metadata={
        "dagster/row_count": result.rows,
        "log_files": result.files,
        "rows_skipped": result.problems.height,
        "skipped_rows": markdown_table(result.problems),
    })
