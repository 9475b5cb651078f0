"""The one Dagster code location: every asset, check, job, sensor and schedule, and their resource."""
from __future__ import annotations

import dagster as dg

import assets
from assets.resources import from_environment
from pipelines.automation import claimback_job, inbox_sensor, nightly_refresh
from pipelines.one_writer import one_writer_executor

defs = dg.Definitions(
    assets=dg.load_assets_from_package_module(assets),
    asset_checks=dg.load_asset_checks_from_package_module(assets),
    jobs=[claimback_job],
    sensors=[inbox_sensor],
    schedules=[nightly_refresh],
    resources={"claimback": from_environment()},
    # also for the UI's "Materialize all" / "Materialize selected" (Dagster's implicit asset job)
    executor=one_writer_executor,
)
