"""The underpayments' kept votes and unpriced lines in month parts (claimback.kept_votes): a night
reads the months a changed day and a priced line's window reach, and the edges of the window are
those of a from-scratch run. Hand-written 835s (005010X221A1), one payer, one practice, 97110-GP
billed $100 a unit with no fee schedule row: the payer's own modal amount prices it
(claimback.underpayments: the 180 days before the line's remit day, at least five lines, a clear mode).

Line X (account X1) is remitted 2026-11-09: its window is 2026-05-13 (first day) to 2026-11-08 (last
day). Line Y (Y1), remitted 2026-11-10, has the window 2026-05-14 to 2026-11-09.

- night 1: X and Y, two $45 lines on X's last day (LD1, LD2) and three $45 lines on 2026-05-12, a
  day before X's window (OUT1-3). X's window holds 2 lines, Y's 3 (LD1, LD2 and X's own $30): neither
  is judged. Counting 05-12 would give X five lines at $45.
- night 2: three $45 lines on X's first day, 2026-05-13 (FD1-3). Nothing touches X's claim, but the
  changed day is 180 days before it: X is priced again from five lines at $45 (expected $90, allowed
  $60: $30 short), and so are LD1 and LD2 (their window, 05-12 to 11-07, holds six lines at $45:
  their own amount). Y's window starts a day later: still three lines, not judged, not priced again.
- night 3: nothing new, a day later.
Every night's tables equal a from-scratch run's; the expected rows are written by hand.
"""
from __future__ import annotations

from datetime import date

import polars as pl

from claimback import kept_votes, stages
from tests.incremental.test_underpayment_nights import _same_tables, _whole
from tests.routing.route_inbox import denials_of
from tests.routing.x12_inbox import BILLING_NPI, BILLING_TIN, interchange, write

AS_OF = date(2026, 11, 20)


def _835(day: str, control: str, visits: list[tuple[str, int, int]], procedure: str = "97110") -> str:
    """An 835 paid on `day` (CCYYMMDD): one claim per visit (account, units, allowed per unit), each
    one `procedure`-GP line billed $100 a unit, the payer's contractual adjustment (CO-45) the rest."""
    paid = sum(units * allowed for _, units, allowed in visits)
    body = [
        f"BPR*I*{paid:.2f}*C*CHK************{day}",  # BPR16: the payment date, the remit day
        f"TRN*1*CHK-{control}*1{BILLING_TIN}",  # TRN02 check number
        f"DTM*405*{day}",  # production date
        "N1*PR*ACME HEALTH PLAN*XV*ACME01",  # 1000A payer
        f"N1*PE*RIVER CLINIC*XX*{BILLING_NPI}",  # 1000B payee: the practice
        f"REF*TJ*{BILLING_TIN}",
        "LX*1",
    ]
    for account, units, allowed in visits:
        charge, pays = 100 * units, units * allowed
        body += [
            f"CLP*{account}*1*{charge}*{pays}**12*ICN-{account}*11*1",  # CLP02 1: processed as primary
            f"NM1*QC*1*DOE*SAM****MI*M-{account}",
            f"SVC*HC:{procedure}:GP*{charge}*{pays}**{units}",  # SVC05 units
            f"DTM*472*{day[:6]}01",  # date of service: the first of the remit's month
            f"CAS*CO*45*{charge - pays}",  # contractual: the charge above the allowed amount
        ]
    return interchange("HP", "005010X221A1", "835", body, day, control)


NIGHTS = [
    (AS_OF, {"x.835": _835("20261109", "000000801", [("X1", 2, 30)]),
             "y.835": _835("20261110", "000000802", [("Y1", 1, 30)]),
             "last_day.835": _835("20261108", "000000803", [("LD1", 1, 45), ("LD2", 1, 45)]),
             "day_before.835": _835("20260512", "000000804", [(f"OUT{n}", 1, 45) for n in (1, 2, 3)])}),
    (AS_OF, {"first_day.835": _835("20260513", "000000805", [(f"FD{n}", 1, 45) for n in (1, 2, 3)])}),
    (date(2026, 11, 21), {}),
]


def underpayment_nights(tmp_path, caplog, nights: list[tuple[date, dict[str, str]]]):
    """Each night's files added to one inbox and the night run, then a from-scratch run of the same
    inbox compared with it (every table the denials stage writes, row for row); yields the night's
    number, its lake and what the denials stage logged."""
    inbox, nightly = tmp_path / "inbox", tmp_path / "nightly"
    for night, (as_of, files) in enumerate(nights, start=1):
        for name, text in files.items():
            write(inbox, name, text)
        caplog.clear()
        with caplog.at_level("INFO", logger="claimback.stages"):
            denials_of(inbox, nightly, as_of)
        said = [r.message for r in caplog.records]
        assert _whole(nightly) == (night == 1), f"night {night}"
        full = tmp_path / f"full-{night}"
        denials_of(inbox, full, as_of)
        _same_tables(nightly, full)
        yield night, stages.Settings(inbox=inbox, warehouse=nightly, as_of=as_of).lake, said


def test_a_window_moved_by_its_first_day_reads_its_months(tmp_path, caplog):
    underpaid = []
    for night, lake, said in underpayment_nights(tmp_path, caplog, NIGHTS):
        underpaid.append(lake.read("underpaid_lines").select(
            "patient_control_number", "expected_source", "expected_allowed", "allowed_amount", "shortfall",
            "expected_basis").rows())
        if night == 2:  # FD1-3 touched; X, LD1 and LD2 priced again by their windows, Y not
            assert any("6 claim(s) priced again (3 touched; 3 of 3 whose window moved), 1 month(s) of votes "
                       "changed" in message for message in said), said
    assert underpaid[0] == []
    x = ("X1", "payer_modal_180d", 90, 60, 30,
         "the payer's modal allowed amount $45.00 per unit, on 5 of 5 lines remitted 2026-05-13 to 2026-11-08")
    assert [(pcn, source, float(expected), float(allowed), float(short), basis)
            for pcn, source, expected, allowed, short, basis in underpaid[1]] == [x]
    assert underpaid[2] == underpaid[1]
    # the votes of May: three lines on 05-12 and three on 05-13, all at $45 a unit
    may = kept_votes.read(lake, kept_votes.VOTES, ["2026-05"])
    assert sorted(may.select("remit_date", "per_unit", "n").rows()) == [
        (date(2026, 5, 12), 45.0, 3), (date(2026, 5, 13), 45.0, 3)]
    parts = sorted(p.stem for p in kept_votes.folder(lake, kept_votes.UNPRICED).glob("*.parquet"))
    assert parts == ["2026-05", "2026-11", "none"]
    # X1, Y1, LD1 and LD2 in November's part; OUT1-3 and FD1-3 in May's
    assert [kept_votes.read(lake, kept_votes.UNPRICED, [m])["claim_key"].n_unique() for m in parts] == [6, 4, 0]


def test_the_months_of_a_window_and_of_the_lines_a_day_moves():
    days = pl.Series([date(2026, 11, 9)])
    assert kept_votes.window_months(days) == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10",
                                              "2026-11"]
    assert kept_votes.window_months(pl.Series([date(2026, 11, 1)])) == [
        "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]  # 05-05 .. 10-31
    assert kept_votes.moved_months(pl.Series([date(2026, 5, 13)])) == [
        "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]  # 05-14 .. 11-09
    assert kept_votes.moved_months(pl.Series([date(2026, 5, 31)])) == [
        "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]  # 06-01 .. 11-27
    assert kept_votes.window_months(pl.Series([], dtype=pl.Date)) == []
