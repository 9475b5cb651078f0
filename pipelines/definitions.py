"""The one Dagster code location: every asset, check, job, sensor and schedule, and their resource."""
from __future__ import annotations

import dagster as dg

from pipelines import defs as stage_defs
from pipelines.defs.resources import from_environment
from pipelines.automation import claimback_job, inbox_sensor, nightly_refresh
from pipelines.one_writer import one_writer_executor

defs = dg.Definitions(
    # every stage's folder under pipelines/defs: its assets (a spec per lake table) and checks
    assets=dg.load_assets_from_package_module(stage_defs),
    asset_checks=dg.load_asset_checks_from_package_module(stage_defs),
    jobs=[claimback_job],
    sensors=[inbox_sensor],
    schedules=[nightly_refresh],
    resources={"claimback": from_environment()},
    # also for the UI's "Materialize all" / "Materialize selected" (Dagster's implicit asset job)
    executor=one_writer_executor,
)


def resolved_claimback_job() -> dg.JobDefinition:
    """The job, at an importable address: what `reconstructable` hands a process that must build it
    again (a Celery worker running one step, the multiprocess executor's step processes)."""
    return defs.resolve_job_def("claimback")


def reconstructable_job():
    return dg.reconstructable(resolved_claimback_job)
