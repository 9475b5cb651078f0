"""Ingest: new inbox files → reader tables in the Parquet lake, in parallel batches.

A graph-backed multi-asset: `plan_new_files` fans the new files out as batches, `parse_batch` runs
once per batch (in parallel under the multiprocess executor, or on a cluster executor's workers), and
`consolidate_lake` de-duplicates transactions into the tables every later stage reads. Each of those
tables is an asset (claimback.stages.WRITES["ingest"]); `x12_lake` beside them is the run of the
stage itself: what this run read.
"""

import dagster as dg
import polars as pl

from claimback import stages
from claimback.stages import WRITES
from pipelines.defs.metadata import markdown_table
from pipelines.defs.resources import ClaimbackResource
from pipelines.defs.specs import table_specs

NO_NEW_FILES = "none"
STAGE = "ingest"
_COMMON = {"group_name": "ingest", "owners": ["team:revenue-integrity"], "kinds": {"polars", "parquet"}}
RUN = dg.AssetSpec(
    "x12_lake",
    description="Every 835 remittance, 837 claim, 999 and 277CA in the inbox, read into the Parquet lake "
    "(the tables beside it in this group): each file is read once; the same remit delivered twice loads "
    "once; files or transaction sets that could not be read are quarantined. This asset is the read "
    "itself: files and claims read by the run, rows per table, files by status.",
    **_COMMON,
)
SPECS = [RUN, *table_specs(STAGE, **_COMMON)]


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


@dg.op(out={spec.key.to_python_identifier(): dg.Out(dagster_type=dg.Nothing) for spec in SPECS},
       description="Build the de-duplicated current tables.")
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
    }, output_name=RUN.key.to_python_identifier())
    for table in WRITES[STAGE]:
        context.add_output_metadata({"dagster/row_count": counts[table]}, output_name=table)


@dg.graph_multi_asset(name="x12_lake", group_name=_COMMON["group_name"], outs={spec.key.to_python_identifier(): dg.AssetOut.from_spec(spec)
                                             for spec in SPECS})
def x12_lake():
    return consolidate_lake(plan_new_files().map(parse_batch).collect())
