"""A whole recompute of a long history (a first run over a backlog, the night after an upgrade, a
run from scratch), or a night of more new claims than a step, is done in steps, as nights that
loaded it a step at a time would have done it (claimback.stages._in_steps): it must publish what
one whole recompute publishes and leave kept rows the next night follows; a run stopped between
two steps has kept the steps it finished, and the next run goes on from them.

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

from claimback import stages, touched
from claimback.lake import Lake
from pipelines.cli import run_pipeline
from tests.compare_published import compare_published, described
from tests.facts.helpers import X12
from tests.incremental.test_nightly_equals_full import LOG, NIGHTS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

AS_OF = date(2026, 11, 25)
A_FEW_CLAIMS = 4


def _inbox(tmp_path: Path, nights=NIGHTS) -> Path:
    inbox = tmp_path / "inbox"
    for _, files in nights:
        for name, source in files.items():
            (inbox / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(X12 / source, inbox / name)
    return inbox


def _steps_said(caplog, what: str = "the history recomputed") -> list[int]:
    return [int(m.group(1)) for r in caplog.records
            if (m := re.match(rf"denials: {what} in (\d+) steps", r.getMessage()))]


def _same_as_a_full_run(inbox: Path, stepped: Path, full: Path, as_of: date) -> None:
    assert run_pipeline(inbox, full, as_of, batch_files=2, from_scratch=True).success
    differences, _ = compare_published.compare(stepped, full)
    assert not differences, described(differences)


def _whole(run: Path) -> bool:
    return pl.read_parquet(Lake(run).state_path(touched.CHANGED_RUN))["whole"].item()


def test_a_history_recomputed_in_steps_publishes_what_one_whole_recompute_does(tmp_path, monkeypatch, caplog):
    inbox = _inbox(tmp_path)
    whole, stepped = tmp_path / "whole", tmp_path / "stepped"
    with caplog.at_level(logging.INFO, logger="claimback"):
        assert run_pipeline(inbox, whole, AS_OF, batch_files=2).success
    assert _steps_said(caplog) == [], "a history shorter than a step is worked out whole"

    monkeypatch.setattr(touched, "STEP_CLAIMS", A_FEW_CLAIMS)
    steps = touched.in_steps(Lake(whole))
    assert (inbox / LOG).exists()
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


def test_a_night_of_more_claims_than_a_step_is_worked_out_in_steps_and_goes_on_after_a_stop(
        tmp_path, monkeypatch, caplog):
    first, rest = NIGHTS[:1], NIGHTS[1:]
    inbox, nightly, full = _inbox(tmp_path, first), tmp_path / "nightly", tmp_path / "full"
    assert run_pipeline(inbox, nightly, date(2026, 11, 20), batch_files=2).success
    _inbox(tmp_path, rest)

    monkeypatch.setattr(touched, "STEP_CLAIMS", A_FEW_CLAIMS)
    with caplog.at_level(logging.INFO, logger="claimback"):
        assert run_pipeline(inbox, nightly, AS_OF, batch_files=2).success
    said = _steps_said(caplog, "the night's new batches worked out")
    assert len(said) == 1 and said[0] > 1
    assert not _whole(nightly), "the stages after are told the claims that changed, not everything"
    _same_as_a_full_run(inbox, nightly, full, AS_OF)

    # A run that stops between steps (the night after an upgrade, before its third step) ...
    stamp = Lake(nightly).state_path(touched.STAMP)
    pl.read_parquet(stamp).with_columns(code_version=pl.lit("other code")).write_parquet(stamp)
    build_denials, calls = stages.build_denials, []

    def stopped_at_the_third_step(settings):  # each step's call (the asset's holds the function itself)
        calls.append(settings.lake.batches)
        if len(calls) == 3:
            raise RuntimeError("the machine went down")
        return build_denials(settings)

    monkeypatch.setattr(stages, "build_denials", stopped_at_the_third_step)
    later = date(2026, 11, 26)
    assert not run_pipeline(inbox, nightly, later, batch_files=2).success
    assert all(calls) and len(calls[0]) < len(calls[1]) < len(calls[2])
    assert set(pl.read_parquet(Lake(nightly).state_path(touched.BATCHES))["batch"]) == set(calls[1])
    assert pl.read_parquet(stamp)["code_version"].item() == touched.code_version()

    # ... has kept the two steps it finished, and the next run goes on from them
    monkeypatch.setattr(stages, "build_denials", build_denials)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="claimback"):
        assert run_pipeline(inbox, nightly, later, batch_files=2).success
    assert _steps_said(caplog) == [] and len(_steps_said(caplog, "the night's new batches worked out")) == 1
    monkeypatch.undo()
    shutil.rmtree(full)
    _same_as_a_full_run(inbox, nightly, full, later)
