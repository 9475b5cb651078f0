"""The synthetic inbox carries the evidence cases of issue 15, and the router decides them by name.

Each case was first written by hand in tests/routing/test_evidence_inboxes.py; here the generator
plants a few of each (claimback.synth.evidence), the truth names the route and rule expected, and
the real ingest, denials and routing stages must agree claim by claim.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import date

import polars as pl
import pytest

from claimback.synth import default_truth_dir, generate
from claimback.synth.evidence import EXPECTED, MIN_PER_CASE
from tests.routing.route_inbox import work_queue_of

AS_OF = date(2026, 11, 20)


@pytest.fixture(scope="module")
def routed(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth_evidence")
    inbox = root / "inbox"
    generate(inbox, 2_000, seed=5, as_of=AS_OF, claims_per_file=500, truth_dir=default_truth_dir(inbox))
    work_queue = work_queue_of(inbox, root / "warehouse", AS_OF)
    truth = pl.read_parquet(default_truth_dir(inbox) / "claims.parquet")
    return truth, work_queue


def test_every_case_is_planted(routed):
    truth, _ = routed
    planted = Counter(truth["evidence_case"].drop_nulls().to_list())
    assert {case: planted[case] for case in EXPECTED} == {case: MIN_PER_CASE for case in EXPECTED}


def test_the_router_decides_each_planted_case_by_its_rule(routed):
    truth, queue = routed
    cases = truth.filter(pl.col("expected_rule").is_not_null())
    # practices sharing a numbering prefix reuse claim numbers: the payer and code tell them apart
    keys = ["patient_control_number", "payer_id", "primary_reason"]
    rows = cases.select(*keys, "expected_route", "expected_rule").join(
        queue.select(*keys, "route", "expired_route", "evidence", "reason"), on=keys, how="left")
    assert rows.height == cases.height
    for row in rows.iter_rows(named=True):
        assert row["evidence"] is not None, row
        assert json.loads(row["evidence"])["rule"] == row["expected_rule"], row
        # a confirmed window that has passed expires the claim, keeping the route it would take
        route = row["expired_route"] if row["route"] == "expired" else row["route"]
        assert route == row["expected_route"], row
