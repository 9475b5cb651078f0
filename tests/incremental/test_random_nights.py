"""Randomised nights: a synthetic inbox delivered in an order no clearinghouse promises still
publishes, night after night, what one from-scratch run of the same inbox publishes on the same
as-of date. The other nightly tests hold the split fixed (by the date in a file's name); here a
fixed seed picks it, so a remit may arrive a night before or after the 837 it answers, and the
nights add what a real inbox does:

    night 1  2026-11-08  a random half of the X12 files, the fee schedule, half the
                         reconsideration log's rows; the remits of 11-09 and 11-10 not yet in view
    night 2  2026-11-10  the other half, a file of night 1 delivered again under another name,
                         the log with all its rows; the last two days' remits come into view
    night 3  2027-01-09  nothing new: the as-of date jumps two months

The seed and split are fixed, so a failure repeats; nights 2 and 3 are each compared with a fresh
warehouse built from scratch (the `from_scratch` setting) by bench/compare_published.py.

What these nights hold back, known to differ (found while writing this test):
* which copy of a re-sent transaction stands is decided by when each copy was loaded
  (claimback.ingest: the registry's loaded_at, then the smaller file, then its hash; identical
  bytes under two names: the first name planned), which a run over the whole inbox cannot know:
  the synthetic inbox's re-issued remit is left out, and its byte-for-byte copy comes on night 2,
  never before the file it copies.
Acknowledgments take their chances with the rest: a 999 or 277CA rejecting an 837 a night before
the 837 comes is a corrected-claim row waiting for its date of service (claimback.routing.unanswered.
window_unknown), found here first and written by hand in tests/facts/test_front_door_queue.py.
"""
from __future__ import annotations

import random
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from claimback.synth import generate
from pipelines.cli import run_pipeline
from tests.compare_published import against_a_full_run, described

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

GENERATED_AS_OF = date(2026, 11, 10)
NIGHTS = [GENERATED_AS_OF - timedelta(days=2), GENERATED_AS_OF, GENERATED_AS_OF + timedelta(days=60)]
LOG = "reconsiderations.csv"
SEED = 21
LATER = ("_resent",)  # always on night 2 (see the top)


def _deliveries(files: list[Path], rng: random.Random) -> list[list[tuple[str, Path | str]]]:
    """Each night's files: (name in the inbox, the synthetic file or the text to write)."""
    x12 = [p for p in files if p.suffix != ".csv" and "_reissue_" not in p.name
           and not any(part in p.name for part in LATER)]
    later = [(p.name, p) for p in files if any(part in p.name for part in LATER)]
    halves: list[list] = [[], []]
    for path in x12:  # a random half each night, whatever the file holds or is dated
        halves[rng.randrange(2)].append((path.name, path))
    rows = next(p for p in files if p.name == LOG).read_text().splitlines(keepends=True)
    fees = [(p.name, p) for p in files if p.suffix == ".csv" and p.name != LOG]
    again = rng.choice(halves[0])[1]
    return [halves[0] + fees + [(LOG, "".join(rows[:len(rows) // 2]))],
            halves[1] + later + [("resent-" + again.name, again), (LOG, "".join(rows))],
            []]


def test_random_nights_publish_what_a_full_run_publishes(tmp_path):
    source, inbox, nightly = tmp_path / "synth", tmp_path / "inbox", tmp_path / "nightly"
    generate(source, 900, seed=SEED, as_of=GENERATED_AS_OF, claims_per_file=60)
    inbox.mkdir()
    deliveries = _deliveries(sorted(p for p in source.rglob("*") if p.is_file()), random.Random(SEED))
    for night, (as_of, delivered) in enumerate(zip(NIGHTS, deliveries), start=1):
        for name, what in delivered:
            if isinstance(what, str):
                (inbox / name).write_text(what)
            else:
                shutil.copyfile(what, inbox / name)
        assert run_pipeline(inbox, nightly, as_of, batch_files=8).success, f"night {night}"
        whole = pl.read_parquet(nightly / "lake" / "state" / "changed_claims_run.parquet")["whole"].to_list()
        assert whole == [night == 1], f"night {night}: the touched claims' path did not run"
        if night == 1:
            continue
        full = tmp_path / f"full-{night}"
        differences, counted = against_a_full_run(inbox, nightly, full, as_of)
        assert counted["denials"] > 0 and counted["work_queue"] > 0
        differences = _without_the_logs_first_version(differences, nightly, full)
        assert not differences, f"night {night} ({as_of}, seed {SEED}): " + described(differences)
        shutil.rmtree(full)


def _without_the_logs_first_version(differences: list, nightly: Path, full: Path) -> list:
    """The one difference there must be: the file registry keeps every version of a
    reconsideration log it read (claimback.ingest.record_logs), so the nightly warehouse also
    lists the log's first, shorter version, and publish_info counts that row. Checked to be
    exactly that, then left out (as test_nightly_equals_full does for its log)."""
    registry = next((d for d in differences if d.relation == "ingested_files"), None)
    assert registry is not None and not registry.only_b and len(registry.only_a) == 1, differences
    assert registry.only_a[0][0] == LOG
    counts = []
    for warehouse in (nightly, full):
        with duckdb.connect(str(warehouse / "claimback.duckdb"), read_only=True) as con:
            counts.append(dict(con.execute("SELECT row_counts FROM publish_info").fetchone()[0]))
    assert counts[0].pop("ingested_files") == counts[1].pop("ingested_files") + 1
    assert counts[0] == counts[1]
    return [d for d in differences if d.relation not in ("ingested_files", "publish_info")]
