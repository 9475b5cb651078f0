"""Nights of the hand-written X12 of tests/facts/x12/, run one after another into one warehouse."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.cli import run_pipeline
from tests.facts.helpers import X12


def each_night(tmp_path: Path, nights: list[tuple[date, list[str]]]) -> Iterator[tuple[int, date, Path, Path]]:
    """(night, as_of, inbox, warehouse) after each night's run: its files added to the inbox, the
    pipeline run (two files per parse batch: several batches a night), and from the second night
    on the denials stage's kept path checked to have run (the first night is a run from scratch)."""
    inbox, nightly = tmp_path / "inbox", tmp_path / "nightly"
    inbox.mkdir()
    for night, (as_of, files) in enumerate(nights, start=1):
        for name in files:
            shutil.copyfile(X12 / name, inbox / name)
        assert run_pipeline(inbox, nightly, as_of, batch_files=2).success, f"night {night}"
        run = pl.read_parquet(nightly / "lake" / "state" / "changed_claims_run.parquet")
        assert run["whole"].to_list() == [night == 1], f"night {night}: the kept path did not run"
        yield night, as_of, inbox, nightly
