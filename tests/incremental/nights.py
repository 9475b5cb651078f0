"""Nights of the hand-written X12 of tests/facts/x12/, run one after another into one warehouse."""
from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import polars as pl

from claimback.lake import Lake
from pipelines.cli import run_pipeline
from tests.compare_published import against_a_full_run, described
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


def parts_equal_a_full_run(tmp_path: Path, night: int, as_of: date, inbox: Path, nightly: Path,
                           parts: Callable[[Lake], dict[tuple[str, str], Path]]) -> None:
    """A from-scratch run of the night's inbox publishes what the night did, and writes the same
    parts (`parts`: (table, part) -> file of a warehouse's lake) with the same rows in the same order."""
    full = tmp_path / f"full-{night}"
    differences, _ = against_a_full_run(inbox, nightly, full, as_of)
    assert not differences, f"night {night} ({as_of}): " + described(differences)
    kept, whole = parts(Lake(nightly)), parts(Lake(full))
    assert kept.keys() == whole.keys(), f"night {night}: other parts than a full run's"
    for part, path in kept.items():  # the same rows in the same order, part by part
        assert pl.read_parquet(path).equals(pl.read_parquet(whole[part])), f"night {night}: {part}"
    shutil.rmtree(full)
