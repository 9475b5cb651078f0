"""Reliability fixtures: one synthetic demo inbox and two complete nights per session.

The expensive things (an inbox, a complete run) are built once and copied where a test needs to
change them. The first night runs in process (so its Dagster events and log records can be
searched for PHI), the second through the command line, as cron runs it.
"""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.reliability.harness import (
    AS_OF, MALFORMED_LOG_ROW, Inbox, daily_drops, published_tables, run, step_failures, synth_inbox)


@dataclass(frozen=True)
class CompletedNight:
    """A warehouse after a complete run, with what the run printed, recorded and published."""

    inbox: Inbox
    warehouse: Path
    output: str  # CLI stdout + stderr, or the log records of an in-process run
    tables: dict[str, list[tuple]]
    events: list = field(default_factory=list)  # Dagster events of an in-process run


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="session")
def demo_inbox(tmp_path_factory) -> Inbox:
    """~820 claims in one month (enough for the planted trends, so packets are written) in ~10
    daily-drop files, and one malformed row in the reconsideration log."""
    root = tmp_path_factory.mktemp("demo")
    synthetic = synth_inbox(root / "synthetic", 820)
    inbox = Inbox(root / "inbox", synthetic.truth)
    daily_drops(synthetic.path, inbox.path)
    with open(inbox.path / "reconsiderations.csv", "a") as log:
        log.write(MALFORMED_LOG_ROW)
    return inbox


@pytest.fixture(scope="session")
def first_night(demo_inbox, tmp_path_factory) -> CompletedNight:
    """Every other file of the demo inbox, run in process: the 'previous' published file."""
    from pipelines.cli import run_pipeline

    root = tmp_path_factory.mktemp("first-night")
    half = root / "inbox"
    half.mkdir()
    for path in demo_inbox.x12_files()[::2]:
        shutil.copy2(path, half / path.name)
    warehouse = root / "warehouse"
    warehouse.mkdir()
    collect, logger = _Collect(), logging.getLogger("claimback")
    logger.addHandler(collect)
    level, logger.level = logger.level, logging.DEBUG
    try:
        result = run_pipeline(half, warehouse, AS_OF)
    finally:
        logger.removeHandler(collect)
        logger.setLevel(level)
    assert result.success, step_failures(result)
    return CompletedNight(Inbox(half, demo_inbox.truth), warehouse, "\n".join(collect.lines),
                          published_tables(warehouse, half), list(result.all_events))


@pytest.fixture(scope="session")
def full_night(first_night, demo_inbox, tmp_path_factory) -> CompletedNight:
    """The next night, uninterrupted, through the CLI: the whole demo inbox on top of the first
    night's warehouse. What every interrupted-and-resumed run must end up equal to."""
    warehouse = tmp_path_factory.mktemp("full-night") / "warehouse"
    shutil.copytree(first_night.warehouse, warehouse)
    result = run(demo_inbox.path, warehouse)
    return CompletedNight(demo_inbox, warehouse, result.stdout + result.stderr,
                          published_tables(warehouse, demo_inbox.path))
