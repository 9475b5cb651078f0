"""Consolidation keeps each transaction set once: a remit delivered again (another file, the same
transactions) adds nothing to the current tables, whichever way the repeats are dropped."""
from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from claimback import ingest
from claimback.inbox import scan
from claimback.lake import Lake
from tests.reliability.harness import synth_inbox

TABLES = ("remit_claims", "remit_service_lines", "remit_adjustments", "submitted_claims", "validation_findings")


def _ingest(inbox: Path, warehouse: Path) -> Lake:
    lake = Lake(warehouse)
    plan = ingest.plan(scan(inbox), lake)
    for batch in plan.batches():
        ingest.ingest_batch(batch, lake)
    ingest.consolidate(lake)
    return lake


@pytest.fixture(scope="module")
def inboxes(tmp_path_factory):
    root = tmp_path_factory.mktemp("consolidate")
    original = synth_inbox(root, claims=400, claims_per_file=50).path
    resent = root / "resent"
    shutil.copytree(original, resent)
    again: dict[bytes, str] = {}  # the same transactions again, as another system would format them
    for path in sorted(resent.iterdir()):  # remits on one line: a line break per segment makes new bytes
        data = path.read_bytes()
        if "_ERA_" in path.name and b"\n" not in data and b"\r" not in data and len(again) < 3:
            again.setdefault(data.replace(data[105:106], data[105:106] + b"\n"), f"again-{path.stem}.edi")
    for data, name in again.items():
        (resent / name).write_bytes(data)
    assert again
    return original, resent, len(again)


@pytest.mark.parametrize("filter_up_to", [ingest.FILTER_REPEATS_UP_TO, 0], ids=["filter", "join"])
def test_repeated_transactions_load_once(inboxes, tmp_path, monkeypatch, filter_up_to):
    original, resent, repeated_files = inboxes
    monkeypatch.setattr(ingest, "FILTER_REPEATS_UP_TO", filter_up_to)
    once = _ingest(original, tmp_path / "once")
    twice = _ingest(resent, tmp_path / "twice")
    def repeats(lake: Lake) -> int:
        return lake.read("ingested_files").filter(pl.col("status") == "duplicate_transactions").height

    assert repeats(twice) - repeats(once) == repeated_files
    for table in TABLES:
        assert twice.read(table).equals(once.read(table)), table
