"""Publish replaces just the claims the denials stage says it changed (lake.CHANGED_FILES), and only
when what the stage says leads from the files the published table was loaded from: a night after a
run whose publish failed brings the table up to date by its files instead, and both publish what a
run from scratch publishes.

The nights are test_nightly_equals_full's first three (hand-written X12 of tests/facts/x12/):
night 3's corrected remit of payment EFT-0001105 changes the claims of night 1's remit, in their
month's parts of adjudications, denials and denial_lines."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from claimback import publish as publishing
from pipelines.cli import run_pipeline
from tests.compare_published import against_a_full_run, described
from tests.incremental.test_nightly_equals_full import NIGHTS, _add, _published

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _night(inbox: Path, warehouse: Path, night: int, caplog) -> bool:
    as_of, files = NIGHTS[night - 1]
    _add(inbox, files, night)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="claimback.publish"):
        return run_pipeline(inbox, warehouse, as_of, batch_files=2).success


def test_a_night_replaces_the_claims_it_changed(tmp_path, caplog):
    inbox, nightly = tmp_path / "inbox", tmp_path / "nightly"
    inbox.mkdir()
    for night in (1, 2, 3):
        assert _night(inbox, nightly, night, caplog), f"night {night}"
    assert {"adjudications", "denials", "denial_lines"} <= set(_published(caplog, "updated by claim"))
    differences, counted = against_a_full_run(inbox, nightly, tmp_path / "full", NIGHTS[2][0])
    assert counted["adjudications"] > 0 and counted["denials"] > 0
    assert not differences, described(differences)


def test_after_a_failed_publish_the_tables_follow_their_files(tmp_path, caplog, monkeypatch):
    inbox, nightly = tmp_path / "inbox", tmp_path / "nightly"
    inbox.mkdir()
    for night in (1, 2):
        assert _night(inbox, nightly, night, caplog), f"night {night}"
    # night 3's stages run and its publish fails: the file stays night 2's, the denials stage's
    # changes lead from night 2's files to night 3's
    with monkeypatch.context() as patched:
        patched.setattr(publishing, "_create_views", lambda *_: (_ for _ in ()).throw(publishing.PublishError("down")))
        assert not _night(inbox, nightly, 3, caplog)
    # the same night run again: the denials stage changes nothing more, so what it says no longer
    # leads from the files the published tables hold
    as_of, _ = NIGHTS[2]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="claimback.publish"):
        assert run_pipeline(inbox, nightly, as_of, batch_files=2).success
    assert not _published(caplog, "updated by claim")
    assert "adjudications" in _published(caplog, "updated")
    differences, _ = against_a_full_run(inbox, nightly, tmp_path / "full", as_of)
    assert not differences, described(differences)
