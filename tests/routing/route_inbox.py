"""Ingest an inbox and build its denials, or route it, with the real stages (ingest, reconsiderations,
denials, queue).

Without Dagster or publishing, so a routing test runs in seconds; returns the work queue.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from claimback import ingest, stages
from claimback.inbox import scan


def denials_of(inbox: Path, warehouse: Path, as_of: date, payer_rules: Path | None = None,
               from_scratch: bool = False) -> stages.Settings:
    """Ingest the inbox, load its reconsideration log and build the denials; the run's settings."""
    settings = stages.Settings(inbox=inbox, warehouse=warehouse, as_of=as_of, payer_rules=payer_rules,
                               from_scratch=from_scratch)
    lake = settings.lake
    plan = ingest.plan(scan(inbox), lake)
    ingest.record_logs(plan.logs, lake)
    for batch in plan.batches(max_files=100):
        ingest.ingest_batch(batch, lake)
    ingest.consolidate(lake)
    stages.load_reconsiderations(settings)
    stages.build_denials(settings)
    return settings


def work_queue_of(inbox: Path, warehouse: Path, as_of: date, payer_rules: Path | None = None) -> pl.DataFrame:
    work_queue, _, _ = stages.build_queue(denials_of(inbox, warehouse, as_of, payer_rules))
    return work_queue
