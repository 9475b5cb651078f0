"""Every claim routed again (a run from scratch, other payer rules, most claims' inputs changed) on a
long history is done in parts, each reading only its claims' evidence groups as a night does
(claimback.kept_routes._every_claim_routed): the work queue must be the one routing every claim at
once from the whole 837 and 835 tables gives. Here a part is one row of the hand-written inbox
of the nightly test (tests/facts/x12/: a denial's corrected remit, two practices sharing a patient
control number, a claim paid on a second remit)."""
from __future__ import annotations

import logging
import re
from datetime import date

import pytest

from claimback import kept_routes
from pipelines.cli import run_pipeline
from tests.compare_published import compare_published, described
from tests.incremental.test_history_in_steps import AS_OF, _inbox

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_every_claim_routed_in_parts_gives_the_queue_of_routing_them_at_once(tmp_path, monkeypatch, caplog):
    inbox = _inbox(tmp_path)
    at_once, in_parts = tmp_path / "at_once", tmp_path / "in_parts"
    with caplog.at_level(logging.INFO, logger="claimback"):
        assert run_pipeline(inbox, at_once, AS_OF, batch_files=2).success
    assert not [r for r in caplog.records if "routing: part" in r.getMessage()]

    monkeypatch.setattr(kept_routes, "PART_ROWS", 1)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="claimback"):
        assert run_pipeline(inbox, in_parts, AS_OF, batch_files=2).success
    parts = [re.match(r"routing: part (\d+) of (\d+)", r.getMessage()) for r in caplog.records]
    parts = [(int(m.group(1)), int(m.group(2))) for m in parts if m]
    assert len(parts) >= 5 and parts == [(n, len(parts)) for n in range(1, len(parts) + 1)]
    differences, _ = compare_published.compare(in_parts, at_once)
    assert not differences, described(differences)
