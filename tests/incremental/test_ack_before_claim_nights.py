"""An acknowledgment that arrives the night before the 837 it answers: the night runs, and the
next night, with the 837 in, publishes what a from-scratch run publishes.

A 277CA or 999 rejecting a claim makes a front-door rejection whose work-queue row is routed
`corrected_claim` with the date of service as its window's anchor. A clearinghouse may deliver the
acknowledgments before (or without) the 837s they answer; the 999 names the claim only by its
patient control number (IK3 CTX CLM01), so with no 837 there is no date of service and no
deadline. The blocking check work_queue/routes_are_valid failed the whole night on it (found on a
synthetic inbox split at random, tests/incremental/test_random_nights.py); the row now waits for
its date of service (claimback.routing.unanswered.window_unknown).

    night 1  2026-11-10  frontdoor.999 and frontdoor.277 (FD1002 rejected for an invalid member
                         id, FD2001's transaction set rejected at CLM05-3), without frontdoor.837;
                         the August 837s and their remit
    night 2  2026-11-11  frontdoor.837
"""
from __future__ import annotations

from datetime import date

import pytest

from pipelines.cli import run_pipeline
from tests.compare_published import against_a_full_run, described
from tests.facts.helpers import X12

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_an_acknowledgment_before_its_837_does_not_fail_the_night(tmp_path):
    inbox, nightly = tmp_path / "inbox", tmp_path / "nightly"
    inbox.mkdir()
    for name in ("frontdoor.999", "frontdoor.277", "silent_claims_august.837", "silent_claims.835"):
        (inbox / name).write_bytes((X12 / name).read_bytes())
    result = run_pipeline(inbox, nightly, date(2026, 11, 10), batch_files=2)
    failed = [event.step_key for event in result.all_events if event.is_step_failure]
    assert result.success, f"night 1: failed steps {failed}"
    (inbox / "frontdoor.837").write_bytes((X12 / "frontdoor.837").read_bytes())
    assert run_pipeline(inbox, nightly, date(2026, 11, 11), batch_files=2).success, "night 2"
    differences, _ = against_a_full_run(inbox, nightly, tmp_path / "full", date(2026, 11, 11))
    assert not differences, described(differences)
