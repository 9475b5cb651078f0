"""Reliability fixtures: one synthetic demo inbox and two complete nights per session.

The expensive things (an inbox, a complete run) are built once and copied where a test needs to
change them.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.harness import MALFORMED_LOG_ROW, Inbox, published_tables, run, synth_inbox


@dataclass(frozen=True)
class CompletedNight:
    """A warehouse after a complete run, with what the run printed and published."""

    inbox: Inbox
    warehouse: Path
    stdout: str
    stderr: str
    tables: dict[str, list[tuple]]


@pytest.fixture(scope="session")
def demo_inbox(tmp_path_factory) -> Inbox:
    """~820 claims in one month (enough for the planted trends, so packets are written), ~120
    files, and one malformed row in the reconsideration log."""
    inbox = synth_inbox(tmp_path_factory.mktemp("demo"), 820)
    with open(inbox.path / "reconsiderations.csv", "a") as log:
        log.write(MALFORMED_LOG_ROW)
    return inbox


@pytest.fixture(scope="session")
def first_night(demo_inbox, tmp_path_factory) -> CompletedNight:
    """A complete run on the older half of the demo inbox: the 'previous' published file."""
    root = tmp_path_factory.mktemp("first-night")
    half = root / "inbox"
    half.mkdir()
    files = demo_inbox.x12_files()
    for path in files[: len(files) // 2]:
        shutil.copy2(path, half / path.name)
    warehouse = root / "warehouse"
    result = run(half, warehouse)
    return CompletedNight(Inbox(half, demo_inbox.truth), warehouse, result.stdout, result.stderr,
                          published_tables(warehouse))


@pytest.fixture(scope="session")
def full_night(first_night, demo_inbox, tmp_path_factory) -> CompletedNight:
    """The next night, uninterrupted: the whole demo inbox on top of the first night's warehouse.
    What every interrupted-and-resumed run must end up equal to."""
    warehouse = tmp_path_factory.mktemp("full-night") / "warehouse"
    shutil.copytree(first_night.warehouse, warehouse)
    result = run(demo_inbox.path, warehouse)
    return CompletedNight(demo_inbox, warehouse, result.stdout, result.stderr, published_tables(warehouse))
