"""A whole recompute of a long history (a first run over a backlog, the night after an upgrade, a
run from scratch) is done in steps, as the nights that loaded it would have done it
(claimback.stages._in_steps): it must publish what one whole recompute publishes, and leave kept
rows the next night follows.

The inbox is every hand-written X12 file of the nightly test (tests/facts/x12/, what each shows is
in its README), two files per parse batch; a step here is four claims, so the history is worked out
in many steps, each new step's claims touching the rows the steps before kept (a corrected remit
voiding an earlier one, two practices sharing a patient control number, a lonely payment found by a
later 837, front-door rejections answered later)."""
from __future__ import annotations

import logging
import re
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from claimback import touched
from claimback.lake import Lake
from pipelines.cli import run_pipeline
from tests.compare_published import compare_published, described
from tests.facts.helpers import X12
from tests.incremental.test_nightly_equals_full import LOG, NIGHTS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

AS_OF = date(2026, 11, 25)
A_FEW_CLAIMS = 4


def _inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    for _, files in NIGHTS:
        for name, source in files.items():
            (inbox / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(X12 / source, inbox / name)
    assert (inbox / LOG).exists()
    return inbox


def _steps_said(caplog) -> list[int]:
    return [int(m.group(1)) for r in caplog.records
            if (m := re.match(r"denials: the history recomputed in (\d+) steps", r.getMessage()))]


def _whole(run: Path) -> bool:
    return pl.read_parquet(Lake(run).state_path(touched.CHANGED_RUN))["whole"].item()


def test_a_history_recomputed_in_steps_publishes_what_one_whole_recompute_does(tmp_path, monkeypatch, caplog):
    inbox = _inbox(tmp_path)
    whole, stepped = tmp_path / "whole", tmp_path / "stepped"
    with caplog.at_level(logging.INFO, logger="claimback"):
        assert run_pipeline(inbox, whole, AS_OF, batch_files=2).success
    assert _steps_said(caplog) == [], "a history shorter than a step is worked out whole"

    monkeypatch.setattr(touched, "STEP_CLAIMS", A_FEW_CLAIMS)
    steps = touched.history_in_steps(Lake(whole))
    assert len(steps) >= 4
    assert all(set(a) < set(b) for a, b in zip(steps, steps[1:])), "each step adds batches to the one before"
    assert set(steps[-1]) == set(Lake(whole).read_state(touched.ingest.CONSOLIDATED)["batch"])

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="claimback"):
        assert run_pipeline(inbox, stepped, AS_OF, batch_files=2).success
    assert _steps_said(caplog) == [len(steps)]
    assert _whole(stepped), "the stages after are told everything changed"
    differences, _ = compare_published.compare(stepped, whole)
    assert not differences, described(differences)

    # The night after an upgrade: the kept rows of other code are worked out again in steps.
    stamp = Lake(stepped).state_path(touched.STAMP)
    pl.read_parquet(stamp).with_columns(code_version=pl.lit("other code")).write_parquet(stamp)
    later = date(2026, 11, 26)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="claimback"):
        assert run_pipeline(inbox, stepped, later, batch_files=2).success
    assert _steps_said(caplog) == [len(steps)]
    monkeypatch.undo()
    assert run_pipeline(inbox, whole, later, batch_files=2, from_scratch=True).success
    differences, _ = compare_published.compare(stepped, whole)
    assert not differences, described(differences)

    # and the night after the steps follows the kept rows, as any night does
    assert run_pipeline(inbox, stepped, date(2026, 11, 27), batch_files=2).success
    assert not _whole(stepped), "the kept path did not run after the steps"
    assert run_pipeline(inbox, whole, date(2026, 11, 27), batch_files=2, from_scratch=True).success
    differences, _ = compare_published.compare(stepped, whole)
    assert not differences, described(differences)
