"""Routing and trends kept from night to night (claimback.kept_routes, stages.payer_counts)
publish exactly what one from-scratch run of the same inbox publishes, on the nights that move a
claim's route without touching its denial: a Level I answered in the log, a payer x practice
crossing the trend threshold, a filing window closing, old denials leaving the trend window.

Hand-written X12 of tests/facts/x12/ (what each file shows is in its README); after every night a
fresh warehouse reads the whole inbox at once with the same as-of date and
bench/compare_published.py compares every table and view. The routes each night must give are
written here by hand too.

    night 1  2026-11-20  August's 837s and ACME01's 835 (REC2001, REC2002 denied CO-16) and the log
                         of their Level I requests
    night 2  2026-11-21  a second log answers REC2001's Level I (upheld 2026-11-19: a Level II
                         becomes possible); Sunshine Health denies nine River Family Practice claims
                         CO-96 (NCV3001-9) and one Lakeside Pediatrics claim (LVL3101), remitted
                         2026-11-16: nine is one short of the payer x practice trend threshold (10)
    night 3  2026-11-24  NCV3010, the tenth CO-96 denial (remitted 2026-11-23): the cluster is
                         flagged and its ten claims route to the trend report
    night 4  2027-02-18  nothing new: Sunshine's Level I window (90 days from the original remit,
                         confirmed) closed on 2027-02-14 for the claims of 2026-11-16, LVL3101 and
                         the nine expire; NCV3010's (2027-02-21) is still open
    night 5  2027-05-20  nothing new: NCV3001-9 leave the 180-day trend window (it starts
                         2026-11-22), the cluster drops below the threshold and its claims route alone
"""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from claimback.publish import DATABASE_NAME
from pipelines.cli import run_pipeline
from tests.compare_published import compare_published
from tests.facts.helpers import X12

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

NIGHTS = [
    (date(2026, 11, 20), {"2026-08/claims.837": "silent_claims_august.837", "2026-08/remit.835": "silent_claims.835",
                          "follow_ups.reconsiderations.csv": "follow_ups.reconsiderations.csv"}),
    (date(2026, 11, 21), {"answers.reconsiderations.csv": "follow_ups_answer.reconsiderations.csv",
                          "sunshine/2026-11-16.835": "sunshine_noncovered.835"}),
    (date(2026, 11, 24), {"sunshine/2026-11-23.835": "sunshine_noncovered_tenth.835"}),
    (date(2027, 2, 18), {}),
    (date(2027, 5, 20), {}),
]
NCV = [f"NCV300{i}" for i in range(1, 10)]  # the nine CO-96 denials remitted 2026-11-16
# (route, in a flagged trend cluster) per patient control number, and Sunshine's clusters (status,
# claims), by hand: Sunshine's Level I window is 90 days from the original remit (payer_rules.yaml,
# from its billing manual), so 2027-02-14 for the claims of 2026-11-16 and 2027-02-21 for NCV3010;
# a trend counts the denials remitted in the 180 days up to the as-of date, 10 of them flag it.
EXPECTED = {
    1: ({"REC2001": ("level1_reconsideration", False)}, []),
    2: ({**dict.fromkeys(NCV, ("level1_reconsideration", False)), "LVL3101": ("level1_reconsideration", False),
         "REC2001": ("level2_dispute", False)}, [("emerging", 9)]),
    3: ({**dict.fromkeys([*NCV, "NCV3010"], ("trend_report", True)), "LVL3101": ("level1_reconsideration", False)},
        [("flagged", 10)]),
    4: ({**dict.fromkeys(NCV, ("expired", True)), "NCV3010": ("trend_report", True), "LVL3101": ("expired", False)},
        [("flagged", 10)]),
    5: ({**dict.fromkeys([*NCV, "NCV3010", "LVL3101"], ("expired", False))}, []),
}


def _routes(warehouse: Path) -> tuple[dict, list]:
    with duckdb.connect(str(warehouse / DATABASE_NAME), read_only=True) as con:
        routes = {pcn: (route, member) for pcn, route, member in con.execute(
            "SELECT patient_control_number, route, trend_cluster_id IS NOT NULL FROM work_queue").fetchall()}
        clusters = con.execute("SELECT status, claim_count FROM trend_clusters WHERE payer_id = 'SUNSH'").fetchall()
    return routes, clusters


def test_routes_and_trends_kept_between_nights_equal_a_full_run(tmp_path):
    inbox, nightly = tmp_path / "inbox", tmp_path / "nightly"
    for night, (as_of, files) in enumerate(NIGHTS, start=1):
        for name, source in files.items():
            (inbox / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(X12 / source, inbox / name)
        assert run_pipeline(inbox, nightly, as_of, batch_files=2).success, f"night {night}"
        routes, clusters = _routes(nightly)
        expected_routes, expected_clusters = EXPECTED[night]
        assert {pcn: routes.get(pcn) for pcn in expected_routes} == expected_routes, f"night {night}"
        assert clusters == expected_clusters, f"night {night}"
        if night == 1:
            continue  # the first night is a run from scratch
        full = tmp_path / f"full-{night}"
        assert run_pipeline(inbox, full, as_of, from_scratch=True).success, f"full run of night {night}"
        differences, counted = compare_published.compare(nightly, full)
        assert counted["work_queue"] > 0
        assert not differences, f"night {night} ({as_of}): " + "; ".join(
            f"{d.relation}: {d.problem} {d.only_a[:1]} {d.only_b[:1]}" for d in differences)
        shutil.rmtree(full)
