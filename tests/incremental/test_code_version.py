"""The code stamp on the denials' kept rows: any change to code a stage runs makes the next night
recompute everything; a change to the synthetic-inbox generator does not (at 10 M claims held a
whole recompute does not fit the machine)."""
from __future__ import annotations

import shutil
from pathlib import Path

import logging
from datetime import date

import polars as pl

from claimback import touched
from claimback.lake import Lake
from pipelines.cli import run_pipeline
from tests.facts.helpers import X12
from tests.test_architecture import ALLOWED

PACKAGE = Path(touched.__file__).resolve().parent


def _version_of(copy: Path, monkeypatch) -> str:
    monkeypatch.setattr(touched, "__file__", str(copy / "touched.py"))
    return touched.code_version()


def test_a_change_to_the_generator_keeps_the_stamp_and_a_change_to_a_rule_does_not(tmp_path, monkeypatch):
    copy = tmp_path / "claimback"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc"))
    before = _version_of(copy, monkeypatch)
    (copy / "synth" / "story.py").write_text((copy / "synth" / "story.py").read_text() + "\n# a new story\n")
    assert _version_of(copy, monkeypatch) == before
    (copy / "denials.py").write_text((copy / "denials.py").read_text() + "\n# a changed rule\n")
    assert _version_of(copy, monkeypatch) != before


def test_no_part_a_stage_runs_may_import_what_the_stamp_leaves_out():
    for part, may_use in ALLOWED.items():
        assert not may_use & set(touched.NOT_RUN_BY_STAGES), f"{part} may import {may_use & set(touched.NOT_RUN_BY_STAGES)}"


def test_a_night_after_other_code_says_it_recomputes_the_whole_history(tmp_path, caplog):
    """The first night after an upgrade costs the history held, not the night: the run says so, with
    the claims it recomputes, before it starts (a history too large for the machine otherwise ends
    with the process killed and nothing said). A first run says it at info level only."""
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse"
    inbox.mkdir()
    for name in ("lonely_payments.837", "lonely_payments.835"):
        shutil.copyfile(X12 / name, inbox / name)
    with caplog.at_level(logging.INFO, logger="claimback"):
        assert run_pipeline(inbox, warehouse, date(2026, 11, 12)).success
    first = [r for r in caplog.records if "every claim recomputed" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in first] == [(logging.INFO, "denials: every claim recomputed (nothing kept)")]

    stamp = Lake(warehouse).state_path(touched.STAMP)  # the kept rows made by another version
    pl.read_parquet(stamp).with_columns(code_version=pl.lit("other code")).write_parquet(stamp)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="claimback"):
        assert run_pipeline(inbox, warehouse, date(2026, 11, 13)).success
    said = [r for r in caplog.records if "every claim recomputed" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING
    remits, sent = Lake(warehouse).rows("remit_claims"), Lake(warehouse).rows("submitted_claims")
    assert remits > 0 and sent > 0
    assert said[0].getMessage().startswith(
        f"denials: every claim recomputed (kept by other code): {remits} 835 and {sent} 837 claims")
