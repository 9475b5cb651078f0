"""The published denials, their lines and the underpaid lines are kept in the month parts of their 835 claims
(touched.PUBLISHED_IN_PARTS): a night rewrites only the months whose rows changed, the other
months' files stay as they are, and publish replaces the changed months' rows in the file
("updated") instead of loading the tables whole. Every night's parts hold what a from-scratch run
writes there, row for row and in the same order.

The X12 is the hand-written files of tests/facts/x12/ (its README says what each shows):

    night 1  2026-11-10  test_month_parts' first night: REC2001 and REC2002 denied on August's
                         remit (BPR16 2026-08-25), LAK2001 and LON1001 on November's (2026-11-05)
    night 2  2026-11-12  the partial denials' remit (2026-11-09): PD301-PD304 denied in
                         November; August's parts are not written again
    night 3  2026-11-25  the remit of 2026-11-25 pays REC2001 (its August denial goes) and
                         denies SIL1002: both months change
"""
from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from claimback import touched
from claimback.lake import Lake
from tests.incremental.nights import each_night, parts_equal_a_full_run
from tests.incremental.test_month_parts import NIGHTS as MONTH_PART_NIGHTS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

NIGHTS = [
    MONTH_PART_NIGHTS[0],
    (date(2026, 11, 12), ["partial_denials.835"]),
    (date(2026, 11, 25), ["nightly_second_remits.835"]),
]
# By hand: the account numbers (CLP01) of each month's denials after each night; a claim's
# denial_lines rows are in its denial's month.
DENIED = {
    1: {"2026-08": ["REC2001", "REC2002"], "2026-11": ["LAK2001", "LON1001"]},
    2: {"2026-08": ["REC2001", "REC2002"], "2026-11": ["LAK2001", "LON1001", "PD301", "PD302", "PD303", "PD304"]},
    3: {"2026-08": ["REC2002"], "2026-11": ["LAK2001", "LON1001", "PD301", "PD302", "PD303", "PD304", "SIL1002"]},
}
# ... and of each month's underpaid lines (LAK2001's and LON1001's lines paid below the usual amount,
# PD304's 99213 allowed $50, below what the night's 99213 lines were allowed).
UNDERPAID = {1: {"2026-11": ["LAK2001", "LON1001"]}, 2: {"2026-11": ["LAK2001", "LON1001", "PD304"]}}
UNDERPAID[3] = UNDERPAID[2]
# The parts each night writes: night 3 changes no underpaid line.
REWRITTEN = {2: {(table, "2026-11") for table in touched.PUBLISHED_IN_PARTS},
             3: {(table, month) for table in ("denials", "denial_lines") for month in ("2026-08", "2026-11")}}


def _parts(lake: Lake) -> dict[tuple[str, str], Path]:
    return {(table, path.stem): path for table in touched.PUBLISHED_IN_PARTS
            for path in sorted(touched.part_folder(lake, table).glob("*.parquet"))}


def _accounts(lake: Lake, table: str) -> dict[str, list[str]]:
    return {part: sorted(set(pl.read_parquet(path)["patient_control_number"].to_list()))
            for (name, part), path in _parts(lake).items() if name == table}


def _published(caplog, kind: str) -> set[str]:
    """The tables the last publish logged as `kind` ("updated", "loaded")."""
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"publish: {kind} ")]
    return set(lines[-1].removeprefix(f"publish: {kind} ").split(", ")) if lines else set()


def test_a_night_rewrites_only_the_months_of_denials_whose_rows_changed(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="claimback")
    stamps: dict = {}
    for night, as_of, inbox, nightly in each_night(tmp_path, NIGHTS):
        lake = Lake(nightly)
        now = {part: path.stat().st_mtime_ns for part, path in _parts(lake).items()}
        assert _accounts(lake, "denials") == DENIED[night], f"night {night}"
        assert _accounts(lake, "denial_lines") == DENIED[night], f"night {night}"
        assert _accounts(lake, "underpaid_lines") == UNDERPAID[night], f"night {night}"
        assert not any(lake.derived_path(table).exists() for table in touched.PUBLISHED_IN_PARTS)
        if night > 1:
            written = {part for part, stamp in now.items() if stamps.get(part) != stamp}
            assert written == REWRITTEN[night], f"night {night}"
        if night == 2:  # publish replaced November's rows and kept August's: neither table loaded whole
            assert {"denials", "denial_lines"} <= _published(caplog, "updated")
            assert not {"denials", "denial_lines"} & _published(caplog, "loaded")
        stamps = now
        caplog.clear()
        if night == 1:
            continue  # the first night is a run from scratch
        parts_equal_a_full_run(tmp_path, night, as_of, inbox, nightly, _parts)
