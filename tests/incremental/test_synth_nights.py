"""Nights of a synthetic inbox publish what one from-scratch run publishes: the denials stage's
touched-claims recomputation (claimback.touched), the routing rows and the trend counts kept from
night to night (claimback.kept_routes, stages.payer_counts) on generated data, where a night's remits answer
837s and earlier remits of the nights before (second adjudications, reversals, corrected claims,
acknowledgments), at a size the hand-written nights cannot reach.

    night 1  2026-11-10  the files of a 2,000-claim synthetic inbox dated (in their names) up to July
    night 2  2026-11-11  the files dated August to November: remits for July's 837s and earlier
                         remits' claims; 999/277CA acknowledgments
    night 3  2026-12-10  nothing new: the as-of date moves a month (silent claims age)
"""
from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from claimback.synth import generate
from pipelines.cli import run_pipeline
from tests.compare_published import against_a_full_run, described

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

GENERATED_AS_OF = date(2026, 11, 10)
NIGHTS = [date(2026, 11, 10), date(2026, 11, 11), date(2026, 12, 10)]


def test_synthetic_nights_publish_what_a_full_run_publishes(tmp_path):
    source, inbox, nightly = tmp_path / "synth", tmp_path / "inbox", tmp_path / "nightly"
    generate(source, 2_000, seed=5, as_of=GENERATED_AS_OF, claims_per_file=100)
    files = sorted(p for p in source.rglob("*") if p.is_file())
    # By the date the file names carry: a corrected remit arrives with (after) the one it corrects,
    # as a clearinghouse delivers them, so the same delivery stands as in one run of the whole inbox.
    # (an undated file, the reconsideration log, comes the first night)
    dated = {p: (re.findall(r"_(\d{8})[_.]", p.name) or ["0"])[0] for p in files}
    halves = [[p for p in files if dated[p] <= "20260731"], [p for p in files if dated[p] > "20260731"], []]
    assert all(halves[:2])
    recomputed = []
    for night, (as_of, files_tonight) in enumerate(zip(NIGHTS, halves), start=1):
        for path in files_tonight:
            target = inbox / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        assert run_pipeline(inbox, nightly, as_of, batch_files=8).success, f"night {night}"
        state = nightly / "lake" / "state"
        assert pl.read_parquet(state / "changed_claims_run.parquet")["whole"].to_list() == [night == 1]
        assert (state / "routing_rows.parquet").exists() and (state / "trend_payer_counts.parquet").exists()
        recomputed.append(pl.read_parquet(state / "changed_claims.parquet").height)
        if night == 1:
            continue
        full = tmp_path / f"full-{night}"
        differences, counted = against_a_full_run(inbox, nightly, full, as_of)
        assert counted["denials"] > 0 and counted["adjudications"] > 0
        assert not differences, f"night {night} ({as_of}): " + described(differences)
        shutil.rmtree(full)
    # the second night touched old claims; the third only what the date moves (silent claims)
    assert recomputed[1] > 0
