"""The code stamp on the denials' kept rows: any change to code a stage runs makes the next night
recompute everything; a change to the synthetic-inbox generator does not (at 10 M claims held a
whole recompute does not fit the machine)."""
from __future__ import annotations

import shutil
from pathlib import Path

from claimback import touched
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
