"""When the pipeline runs: a sensor on the inbox for new content, and a nightly refresh.

The sensor looks at content, not file times: a file is new when no committed batch has read its
bytes (a reconsideration log: when that version of it was not read). File times only save work:
a file whose name, size and modification time match the registry or the sensor's cursor is not
hashed again. So an inbox copied or restored from a backup (every time changed, nothing new)
starts no run, and costs one hash per file once, not on every tick.
"""
from __future__ import annotations

import hashlib
import json

import dagster as dg

from pipelines.defs.resources import ClaimbackResource
from claimback import ingest
from claimback.inbox import InboxError, InboxFile, scan, sha256_of_all
from claimback.lake import Lake
from claimback.warehouse import holder
from pipelines.one_writer import one_writer_executor

claimback_job = dg.define_asset_job(
    "claimback",
    selection=dg.AssetSelection.all(),
    description="Inbox → lake → denials → trends → work queue → published DuckDB.",
    executor_def=one_writer_executor,  # one run at a time per warehouse; in process unless asked
)

# A drop of more than this many parse batches (10,000 files at 250 a batch) is parsed by the
# multiprocess executor, its batches side by side; anything smaller runs in one process. A process
# per step costs far more than it saves on a normal drop: the demo inbox (649 files, 3 batches) took
# 138 s under multiprocess and 15 s in process on 2 cores (bench/README.md, "UI, sensor and CLI").
FAN_OUT_BATCHES = 40
MULTIPROCESS = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}


def pending_files(inbox: str, warehouse: str, hashes: dict | None = None,
                  lake_location: str | None = None) -> tuple[list[InboxFile], dict]:
    """Inbox files with content no committed batch has read, and the hashes to keep for next time.

    `hashes` is the previous tick's {name: [size, mtime_ns, sha256]} for files the registry does not
    know by name, size and time; a file is hashed only when neither knows it as it is now.
    """
    hashes = hashes or {}
    known = ingest.registry(Lake(warehouse, lake_location or None))  # the lake may be on an object store
    by_stat = {(n, s, m): sha for n, s, m, sha in known.select("source_file", "bytes", "mtime_ns", "sha256").iter_rows()}
    contents = set(known["sha256"].to_list())  # read under any name
    versions = set(known.select("source_file", "sha256").iter_rows())  # logs: this name with this content
    files = scan(inbox)
    sha_of: dict[str, str] = {}
    to_hash: list[InboxFile] = []
    for f in files:
        cached = hashes.get(f.name)
        if (f.name, f.size, f.mtime_ns) in by_stat:
            sha_of[f.name] = by_stat[(f.name, f.size, f.mtime_ns)]
        elif cached and cached[:2] == [f.size, f.mtime_ns]:
            sha_of[f.name] = cached[2]
        else:
            to_hash.append(f)
    sha_of.update(zip((f.name for f in to_hash), sha256_of_all([f.path for f in to_hash])))
    pending = [f for f in files if ((f.name, sha_of[f.name]) not in versions if f.is_csv_input
                                    else sha_of[f.name] not in contents)]
    kept = {f.name: [f.size, f.mtime_ns, sha_of[f.name]] for f in files if (f.name, f.size, f.mtime_ns) not in by_stat}
    return pending, kept


def _skip(context: dg.SensorEvaluationContext, state: dict, reason: str) -> dg.SkipReason:
    """Say why once: the same sentence on every tick hides the tick where something changed."""
    repeated = state.get("said") == reason
    state["said"] = reason
    context.update_cursor(json.dumps(state))
    return dg.SkipReason(None if repeated else reason)


@dg.sensor(job=claimback_job, minimum_interval_seconds=60,
           description="Starts a run when new content lands in the inbox (a new 835/837, or a changed "
           "reconsideration log). Files copied or restored with new times but already read start nothing.")
def inbox_sensor(context: dg.SensorEvaluationContext, claimback: ClaimbackResource):
    state = json.loads(context.cursor) if context.cursor and context.cursor.startswith("{") else {}
    if busy := holder(claimback.warehouse):  # files landing during a run wait for the next tick
        return _skip(context, state, f"a run is using the warehouse ({busy})")
    try:
        pending, state["hashes"] = pending_files(claimback.inbox, claimback.warehouse, state.get("hashes"),
                                                 claimback.lake_location)
    except InboxError as exc:
        return _skip(context, state, str(exc))
    if not pending:
        return _skip(context, state, "nothing new in the inbox: every file's content has been read")
    digest = hashlib.sha256("\n".join(f"{f.name}:{f.size}:{f.mtime_ns}" for f in pending).encode()).hexdigest()[:16]
    if digest == state.get("requested"):
        return _skip(context, state, f"a run for these {len(pending)} files was already requested "
                     f"(run key inbox-{digest}); waiting for it to read them")
    state.update(requested=digest, said=None)
    context.update_cursor(json.dumps(state))
    new_x12 = sum(not f.is_csv_input for f in pending)
    fan_out = new_x12 > FAN_OUT_BATCHES * claimback.batch_files
    return dg.RunRequest(run_key=f"inbox-{digest}", run_config=MULTIPROCESS if fan_out else {},
                         tags={"claimback/new_files": str(len(pending)),
                               "claimback/executor": "multiprocess" if fan_out else "in_process"})


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
