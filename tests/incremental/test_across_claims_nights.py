"""The denials stage's tables that cross claims follow the night exactly: lonely payments, silent
claims and front-door rejections kept between nights publish what a from-scratch run publishes.

Each night adds hand-written X12 of tests/facts/x12/ (its README says what each file shows), or
nothing, and is compared with a fresh warehouse that reads the whole inbox at once with the same
as-of date; the rows each kept rule is about are written here by hand. Every claim is ACME01's, so
the shipped default window applies: an 837 unanswered more than 45 days after its GS04 date is
silent (payer_rules.yaml, `status_inquiry_after`).

    night 1  2026-11-10  the August and November 837s and August's remit; the lonely payments'
                         837s and remit; the front-door 837s (sent 2026-10-15) and their 999 and
                         277CA: SIL1002 is silent (84 days), SIL1003 is not (9), OTH9001 is a lonely
                         payment, FD1002 is rejected (invalid member id)
    night 2  2026-11-25  the remit of 2026-11-25 denies SIL1002: no longer silent (a kept silent
                         claim answered by a remit)
    night 3  2026-11-26  OTH9001's 837 arrives: no longer a lonely payment (its kept row goes when
                         a new 837 names its member)
    night 4  2026-11-27  FD1002 sent again (2026-10-19) and accepted: its rejection is cleared
    night 5  2026-12-16  nothing new: SIL1003 is 45 days unanswered, not yet silent; FD1001
                         (accepted 2026-10-17, never paid) is silent since 2026-11-30 (62 days)
    night 6  2026-12-17  nothing new: SIL1003 turns silent (46 days) by the as-of date alone, and
                         FD1001's kept row counts 63 days
"""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from tests.compare_published import against_a_full_run, described
from tests.incremental.nights import each_night

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

NIGHTS = [
    (date(2026, 11, 10), ["silent_claims_august.837", "silent_claims_november.837", "silent_claims.835",
                          "lonely_payments.837", "lonely_payments.835", "frontdoor.837", "frontdoor.999",
                          "frontdoor.277"]),
    (date(2026, 11, 25), ["nightly_second_remits.835"]),
    (date(2026, 11, 26), ["lonely_found.837"]),
    (date(2026, 11, 27), ["frontdoor_resent.837", "frontdoor_resent.277"]),
    (date(2026, 12, 16), []),
    (date(2026, 12, 17), []),
]
# By hand, per night: days silent of the claims watched (None: not silent), whether OTH9001 is a
# lonely payment, and whether FD1002's rejection of 2026-10-17 still stands.
SILENT = ("SIL1002", "SIL1003", "FD1001")  # their latest 837s: GS04 2026-08-18, 2026-11-01, 2026-10-15
EXPECTED = {
    1: ({"SIL1002": 84, "SIL1003": None, "FD1001": None}, True, True),
    2: ({"SIL1002": None, "SIL1003": None, "FD1001": None}, True, True),
    3: ({"SIL1002": None, "SIL1003": None, "FD1001": None}, False, True),
    4: ({"SIL1002": None, "SIL1003": None, "FD1001": None}, False, False),
    5: ({"SIL1002": None, "SIL1003": None, "FD1001": 62}, False, False),
    6: ({"SIL1002": None, "SIL1003": 46, "FD1001": 63}, False, False),
}


def _watched(lake: Path) -> tuple[dict, bool, bool]:
    silent = pl.read_parquet(lake / "derived" / "silent_claims.parquet")
    days = dict(zip(silent["patient_control_number"], silent["days_silent"]))
    lonely = pl.read_parquet(lake / "derived" / "lonely_payments.parquet")
    rejections = pl.read_parquet(lake / "derived" / "claim_rejections.parquet").filter(
        (pl.col("patient_control_number") == "FD1002") & (pl.col("rejected_on") == date(2026, 10, 17)))
    return ({pcn: days.get(pcn) for pcn in SILENT}, "OTH9001" in lonely["patient_control_number"].to_list(),
            rejections["still_rejected"].to_list() == [True])


def test_lonely_silent_and_rejected_claims_kept_between_nights_equal_a_full_run(tmp_path):
    for night, as_of, inbox, nightly in each_night(tmp_path, NIGHTS):
        assert _watched(nightly / "lake") == EXPECTED[night], f"night {night}"
        if night == 1:
            continue  # the first night is a run from scratch
        differences, _ = against_a_full_run(inbox, nightly, tmp_path / f"full-{night}", as_of)
        assert not differences, f"night {night} ({as_of}): " + described(differences)
        shutil.rmtree(tmp_path / f"full-{night}")
