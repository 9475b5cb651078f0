"""When the pipeline runs: a sensor on the inbox for new files, and a nightly refresh."""

import hashlib

import dagster as dg

from assets.resources import ClaimbackResource
from claimback import ingest
from claimback.inbox import InboxError, scan
from claimback.lake import Lake
from claimback.warehouse import holder
from pipelines.one_writer import one_writer_executor

claimback_job = dg.define_asset_job(
    "claimback",
    selection=dg.AssetSelection.all(),
    description="Inbox → lake → denials → trends → work queue → published DuckDB.",
    executor_def=one_writer_executor,  # one run at a time per warehouse
)


def pending_files(inbox: str, warehouse: str) -> list[str]:
    """Inbox entries (name, size, mtime) no committed batch has recorded, logs included."""
    known = ingest.registry(Lake(warehouse)).select("source_file", "bytes", "mtime_ns")
    seen = set(known.iter_rows())
    return [f"{f.name}:{f.size}:{f.mtime_ns}" for f in scan(inbox) if (f.name, f.size, f.mtime_ns) not in seen]


@dg.sensor(job=claimback_job, minimum_interval_seconds=60,
           description="Starts a run when new files land in the inbox (or a reconsideration log changes).")
def inbox_sensor(context: dg.SensorEvaluationContext, claimback: ClaimbackResource):
    if busy := holder(claimback.warehouse):  # files landing during a run wait for the next tick
        return dg.SkipReason(f"a run is using the warehouse ({busy})")
    try:
        pending = pending_files(claimback.inbox, claimback.warehouse)
    except InboxError as exc:
        return dg.SkipReason(str(exc))
    if not pending:
        return dg.SkipReason("no new files in the inbox")
    digest = hashlib.sha256("\n".join(pending).encode()).hexdigest()[:16]
    if digest == context.cursor:
        return dg.SkipReason("a run for these files was already requested")
    context.update_cursor(digest)
    return dg.RunRequest(run_key=f"inbox-{digest}", tags={"claimback/new_files": str(len(pending))})


@dg.schedule(
    name="nightly_refresh",
    job=claimback_job,
    cron_schedule="0 5 * * *",
    execution_timezone="America/Los_Angeles",
    description="Every night: read anything new, recompute deadlines and priorities for today, republish.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def nightly_refresh(context: dg.ScheduleEvaluationContext, claimback: ClaimbackResource):
    if busy := holder(claimback.warehouse):  # the running run publishes for today already
        return dg.SkipReason(f"a run is using the warehouse ({busy})")
    return dg.RunRequest()
