"""Nights with no new data: the work queue still moves with the as-of date, and each night's equals a
from-scratch run's (stages.route_denials: routing's rows kept, deadlines, days left, expiry,
priorities, silent claims and follow-ups worked out again every night).

Hand-written X12 of tests/facts/x12/ (what each file shows is in its README), all sent on the first
night; the three nights after it add nothing.

    night 1  2027-01-14  River Family Practice's August 837s and ACME01's 835 (SIL1002 never answered:
                         silent; REC2002 denied CO-16), the log of its Level I request (filed
                         2026-11-01, ACME01's decision due 2026-12-31), and Sunshine Health's 835 of
                         2026-11-16 denying NCV3001-9 and LVL3101 CO-96 (Level I window 90 days from
                         the remit, confirmed: it closes 2027-02-14); 31 days left
    night 2  2027-01-15  nothing new: 30 days left (URGENCY_DAYS), the urgency goes from 1 + 30/31 to 2
    night 3  2027-02-14  nothing new: the last day of the window, 0 days left (counted as 1: urgency 31)
    night 4  2027-02-15  nothing new: the window closed under a confirmed rule: expired, priority 0

Priorities by hand: priority = denied × P(overturn) / analyst hours × (1 + 30 / max(days left, 1)).
NCV3001 and LVL3101: $100 × 0.3 (the non-covered prior: a history too small to fit a model) / 1 hour
(Level I) = 30 an hour. SIL1002 (a claim_status_inquiry: $320 billed × its route's prior 0.6 / 0.5
hours = 384 an hour) is due by ACME01's timely-filing limit, 2027-08-12 (365 days from its date of
service, unconfirmed), and its silence grows a day a night. REC2002's request is a follow-up whose days overdue
grow.
"""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from claimback.publish import DATABASE_NAME
from pipelines.cli import run_pipeline
from tests.compare_published import compare_published, described
from tests.facts.helpers import X12

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

FILES = {"2026-08/claims.837": "silent_claims_august.837", "2026-08/remit.835": "silent_claims.835",
         "follow_ups.reconsiderations.csv": "follow_ups.reconsiderations.csv",
         "sunshine/2026-11-16.835": "sunshine_noncovered.835"}
NIGHTS = [date(2027, 1, 14), date(2027, 1, 15), date(2027, 2, 14), date(2027, 2, 15)]
LEVEL1 = "level1_reconsideration"
# per night: patient control number -> (route, days left, priority), and two reasons' words
EXPECTED = {
    1: ({"NCV3001": (LEVEL1, 31, 59.0323), "LVL3101": (LEVEL1, 31, 59.0323),  # 30 × (1 + 30/31)
         "SIL1002": ("claim_status_inquiry", 210, 438.8571)},                  # 384 × (1 + 30/210)
        "no 835 after 149 days", "it was due 2026-12-31, 14 days ago"),
    2: ({"NCV3001": (LEVEL1, 30, 60.0), "LVL3101": (LEVEL1, 30, 60.0),        # 30 × 2
         "SIL1002": ("claim_status_inquiry", 209, 439.1196)},
        "no 835 after 150 days", "it was due 2026-12-31, 15 days ago"),
    3: ({"NCV3001": (LEVEL1, 0, 930.0), "LVL3101": (LEVEL1, 0, 930.0),        # 30 × 31
         "SIL1002": ("claim_status_inquiry", 179, 448.3575)},
        "no 835 after 180 days", "it was due 2026-12-31, 45 days ago"),
    4: ({"NCV3001": ("expired", -1, 0.0), "LVL3101": ("expired", -1, 0.0),
         "SIL1002": ("claim_status_inquiry", 178, 448.7191)},
        "no 835 after 181 days", "it was due 2026-12-31, 46 days ago"),
}


def _queue(warehouse: Path) -> pl.DataFrame:
    with duckdb.connect(str(warehouse / DATABASE_NAME), read_only=True) as con:
        return con.execute("SELECT patient_control_number, route, days_left, priority, reason, "
                           "expired_route FROM work_queue").pl()


def test_quiet_nights_move_the_queue_as_a_full_run_does(tmp_path):
    inbox, nightly = tmp_path / "inbox", tmp_path / "nightly"
    for name, source in FILES.items():
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(X12 / source, inbox / name)
    for night, as_of in enumerate(NIGHTS, start=1):
        assert run_pipeline(inbox, nightly, as_of, batch_files=2).success, f"night {night}"
        rows, silent_words, overdue_words = EXPECTED[night]
        queue = _queue(nightly)
        got = {pcn: (route, days, priority) for pcn, route, days, priority, _, _ in queue.iter_rows()
               if pcn in rows}
        assert got == rows, f"night {night} ({as_of})"
        reasons = dict(zip(queue["patient_control_number"], queue["reason"]))
        assert silent_words in reasons["SIL1002"], f"night {night}"
        assert reasons["REC2002"].startswith(f"Payer decision overdue: {overdue_words}"), f"night {night}"
        if night == 4:  # closed under the confirmed rule: the route it had, and why it closed
            expired = queue.filter(pl.col("patient_control_number") == "LVL3101").row(0, named=True)
            assert expired["expired_route"] == LEVEL1
            assert "closed on 2027-02-14" in expired["reason"]
        if night == 1:
            continue  # the first night is a run from scratch
        # a quiet night: the denials stage and routing kept what they had (nothing was recomputed whole)
        run = pl.read_parquet(nightly / "lake" / "state" / "changed_claims_run.parquet")
        assert run["whole"].to_list() == [False], f"night {night}: the denials stage's kept path did not run"
        full = tmp_path / f"full-{night}"
        assert run_pipeline(inbox, full, as_of, from_scratch=True).success, f"full run of night {night}"
        differences, counted = compare_published.compare(nightly, full)
        assert counted["work_queue"] > 0
        assert not differences, f"night {night} ({as_of}): {described(differences)}"
        shutil.rmtree(full)
