"""The denials stage's per-claim tables are kept in parts by the month of each row's 835 (its
remit claim's BPR16 date): a night rewrites only the parts holding a claim it recomputed, and every
part holds what a from-scratch run writes there, row for row and in the same order.

The X12 is the hand-written files of tests/facts/x12/ (its README says what each shows):

    night 1  2026-11-10  the August and November 837s, August's remit (SIL1001, REC2001 denied,
                         REC2002, SIL1O05: BPR16 2026-08-25), the bare reversals (RV401-RV403
                         paid 2026-09-01, RV401 and RV403 reversed and RV403 paid again
                         2026-10-01, RV402 reversed 2026-11-10) and the lonely payments' 837s and
                         remit (2026-11-05): four months
    night 2  2026-11-11  nothing new: no part is written again
    night 3  2026-11-25  the remit of 2026-11-25 pays REC2001 and denies SIL1002: REC2001's
                         August adjudication is no longer its latest, so August's parts and
                         November's change; September's and October's are left as they are
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from claimback import touched
from claimback.lake import Lake
from tests.incremental.nights import each_night, parts_equal_a_full_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

NIGHTS = [
    (date(2026, 11, 10), ["silent_claims_august.837", "silent_claims_november.837", "silent_claims.835",
                          "bare_reversals.835", "lonely_payments.837", "lonely_payments.835"]),
    (date(2026, 11, 11), []),
    (date(2026, 11, 25), ["nightly_second_remits.835"]),
]
# By hand: the account numbers (CLP01) of each month's adjudications after night 1, then night 3.
ADJUDICATIONS = {
    1: {"2026-08": ["REC2001", "REC2002", "SIL1001", "SIL1O05"],
        "2026-09": ["RV401", "RV402", "RV403"],
        "2026-10": ["RV401", "RV403", "RV403"],
        "2026-11": ["LAK2001", "LON1001", "LON1O02", "OTH9001", "RV402"]},
}
ADJUDICATIONS[3] = {**ADJUDICATIONS[1],
                    "2026-11": ["LAK2001", "LON1001", "LON1O02", "OTH9001", "REC2001", "RV402", "SIL1002"]}
# The months whose parts night 3 may write (its remits' claims and REC2001's August remit).
REWRITTEN = {"2026-08", "2026-11"}


def _parts(lake: Lake) -> dict[tuple[str, str], Path]:
    return {(table, path.stem): path for table in touched.PER_CLAIM
            for path in sorted(touched.part_folder(lake, table).glob("*.parquet"))}


def _stamps(lake: Lake) -> dict[tuple[str, str], int]:
    return {part: path.stat().st_mtime_ns for part, path in _parts(lake).items()}


def _accounts(lake: Lake) -> dict[str, list[str]]:
    return {part: sorted(pl.read_parquet(path)["patient_control_number"].to_list())
            for (table, part), path in _parts(lake).items() if table == "adjudications"}


def test_a_night_rewrites_only_the_month_parts_it_touches_and_they_equal_a_full_run(tmp_path):
    stamps: dict = {}
    for night, as_of, inbox, nightly in each_night(tmp_path, NIGHTS):
        lake = Lake(nightly)
        now = _stamps(lake)
        recovered = [part for table, part in now if table == "recovered_claims"]
        if night == 1:
            assert _accounts(lake) == ADJUDICATIONS[1]
            assert recovered == [touched.NO_DATE]  # nothing recovered yet: one empty part
        elif night == 2:
            assert now == stamps, "a quiet night wrote a part again"
        else:
            assert _accounts(lake) == ADJUDICATIONS[3]
            assert recovered == ["2026-11"]  # REC2001, by its paying remit of 2026-11-25
            written = {part for part, stamp in now.items() if stamps.get(part) != stamp}
            assert {month for _, month in written} <= REWRITTEN, written
            assert ("adjudications", "2026-08") in written and ("adjudications", "2026-11") in written
            # September's and October's parts stay; recovered_claims' empty part went with its first row
            left = {part for part in stamps if part[1] not in REWRITTEN}
            assert left - {part for part in now if part[1] not in REWRITTEN} == {("recovered_claims", touched.NO_DATE)}
            assert all(now[part] == stamps[part] for part in left if part in now)
        stamps = now
        if night == 1:
            continue  # the first night is a run from scratch
        parts_equal_a_full_run(tmp_path, night, as_of, inbox, nightly, _parts)


def _part(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"remit_date": pl.Date, "claim_key": pl.String, "amount": pl.Int64},
                        orient="row")


# By hand: a denials month part (order: remit date, then claim; no date last), the claims a night
# recomputed (c3's row goes, c2 moves to 2 Oct, c9 is new with no date, c5 is new on 1 Oct), and the
# part as a whole sort of the rows left and the recomputed ones gives it.
KEPT = _part([(date(2026, 10, 1), "c1", 10), (date(2026, 10, 1), "c3", 30), (date(2026, 10, 1), "c4", 40),
              (date(2026, 10, 3), "c2", 20), (date(2026, 10, 3), "c6", 60), (None, "c7", 70)])
MINE = _part([(date(2026, 10, 2), "c2", 21), (None, "c9", 90), (date(2026, 10, 1), "c5", 50)])
MERGED = _part([(date(2026, 10, 1), "c1", 10), (date(2026, 10, 1), "c4", 40), (date(2026, 10, 1), "c5", 50),
                (date(2026, 10, 2), "c2", 21), (date(2026, 10, 3), "c6", 60), (None, "c7", 70),
                (None, "c9", 90)])


@pytest.mark.parametrize("spliced_runs", [touched.SPLICED_RUNS, 0])  # spliced from slices, or gathered
def test_a_merged_part_is_the_kept_rows_left_and_the_recomputed_ones_in_the_parts_order(monkeypatch, spliced_runs):
    monkeypatch.setattr(touched, "SPLICED_RUNS", spliced_runs)
    gone = KEPT["claim_key"].is_in(["c2", "c3", "c5", "c9"])
    mine = touched._in_order(MINE, "denials")
    assert touched._merged(KEPT, gone, mine, "denials").equals(MERGED)
    assert touched._merged(KEPT, gone, mine.head(0), "denials").equals(KEPT.filter(~gone))
    assert touched._merged(KEPT.head(0), pl.Series([], dtype=pl.Boolean), mine, "denials").equals(mine)
    assert touched._merged(KEPT.head(0), pl.Series([], dtype=pl.Boolean), mine.head(0), "denials").equals(KEPT.head(0))


@pytest.mark.parametrize("spliced_runs", [touched.SPLICED_RUNS, 0])
def test_a_merged_part_equals_the_sort_it_replaces_on_many_rows(monkeypatch, spliced_runs):
    """Random parts of the default order (the key, then every column that sorts), with nulls and
    ties, a few claims recomputed and most of them: the same rows as the whole stable sort."""
    import random
    monkeypatch.setattr(touched, "SPLICED_RUNS", spliced_runs)
    rnd = random.Random(7)
    for recomputed_share in (0.01, 0.9):
        rows = [(f"k{rnd.randrange(400):03d}", rnd.choice([None, "A", "B"]), rnd.choice([None, 1, 2]))
                for _ in range(3000)]
        kept = touched._in_order(pl.DataFrame(rows, schema={"claim_key": pl.String, "code": pl.String,
                                                            "n": pl.Int64}, orient="row"), "denial_lines")
        keys = sorted({k for k, _, _ in rows})
        again = [k for k in keys if rnd.random() < recomputed_share] + ["k999"]
        mine = kept.filter(pl.col("claim_key").is_in(again)).with_columns(n=pl.col("n") + 1).sample(
            fraction=1.0, shuffle=True, seed=3)
        mine = pl.concat([mine, pl.DataFrame({"claim_key": ["k999"], "code": [None], "n": [5]})])
        gone = kept["claim_key"].is_in(again)
        whole = touched._in_order(pl.concat([kept.filter(~gone), mine]), "denial_lines")
        assert touched._merged(kept, gone, touched._in_order(mine, "denial_lines"), "denial_lines").equals(whole)
