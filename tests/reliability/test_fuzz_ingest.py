"""Fuzzing the whole ingest path (inbox scan → plan → ingest_batch → consolidate) with random bytes
and mutated synthetic 835/837 files: it never raises, every file is registered, and every file
that could not be read, wholly or partly, is in quarantine with a reason. Bounded: a fixed number
of examples, each a handful of small files (the reader's own property tests live in tests/x12)."""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimback import ingest
from claimback.inbox import scan
from claimback.lake import Lake
from tests.reliability.harness import synth_inbox

DELIMITERS = b"*~:^|>\n\r"


@functools.cache
def seed_files() -> tuple[bytes, ...]:
    """A few small synthetic files, 835s and 837s in different delimiter styles."""
    with tempfile.TemporaryDirectory(prefix="claimback-fuzz-seed-") as root:
        files = synth_inbox(Path(root), 12, claims_per_file=2).x12_files()
        remits = [p for p in files if "_ERA_" in p.name][:3]
        claims = [p for p in files if "_ERA_" not in p.name][:3]
        return tuple(p.read_bytes() for p in remits + claims)


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(seed_files())))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["cut", "insert", "delimiter", "truncate", "repeat"]))
        if kind == "cut":
            del data[at:at + draw(st.integers(1, 200))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=40))
        elif kind == "delimiter" and data:
            data[min(at, len(data) - 1)] = draw(st.sampled_from(DELIMITERS))
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = data[max(0, at - 120):at]
    return bytes(data)


garbage = st.one_of(st.binary(max_size=3000), st.text(max_size=500).map(lambda t: t.encode("utf-8")))
inbox_files = st.lists(st.one_of(mutated(), garbage), min_size=1, max_size=4)


def ingest_inbox(inbox: Path, warehouse: Path) -> Lake:
    """What the x12_lake asset does, through the library."""
    lake = Lake(warehouse)
    plan = ingest.plan(scan(inbox), lake)
    ingest.record_duplicates(plan.duplicates, lake)
    for batch in plan.batches():
        ingest.ingest_batch(batch, lake)
    ingest.consolidate(lake)
    return lake


@pytest.mark.timeout(180)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(contents=inbox_files)
def test_ingest_survives_anything_and_quarantines_with_a_reason(contents):
    with tempfile.TemporaryDirectory(prefix="claimback-fuzz-") as tmp:
        inbox = Path(tmp) / "inbox"
        inbox.mkdir()
        names = [f"{i:02d}-fuzz.x12" for i in range(len(contents))]
        for name, data in zip(names, contents):
            (inbox / name).write_bytes(data)

        lake = ingest_inbox(inbox, Path(tmp) / "warehouse")

        files = lake.read("ingested_files")
        assert sorted(files["source_file"].to_list()) == names
        quarantine = lake.read("quarantine")
        reasons = quarantine.filter(pl.col("error").str.len_chars() > 0)
        unread = files.filter(pl.col("status").is_in(["quarantined", "partly_loaded"]))
        assert set(unread["source_file"]) <= set(reasons["source_file"]), (unread, quarantine)
        for name, data in zip(names, contents):
            if b"ISA" not in data and b"ST" not in data:  # no envelope, no transaction set: nothing loads
                status = files.filter(pl.col("source_file") == name)["status"].item()
                assert status in ("quarantined", "duplicate_file"), status
