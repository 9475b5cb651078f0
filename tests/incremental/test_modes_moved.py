"""A night prices again only the kept lines whose expected amount (or the counts their row shows)
the night's votes changed (claimback.underpayments.results_moved), not every line whose 180-day
window holds a changed day. Hand-written 835s (005010X221A1, tests/incremental/test_vote_months.py's:
one payer, one practice, lines billed $100 a unit, no fee schedule: the payer's own modal amount
prices them; at least five lines in the window, the mode on half and more than any other amount).

Night 1: 97110-GP allowed $45 on five lines of 2026-10-01 (V1-5); A1 allowed $45 and B1 $30 on
2026-11-09 (window 2026-05-13 to 11-08): both expected $45 from 5 of 5 lines, B1 $15 short (a row),
A1 not. 97140-GP allowed $40 on four lines of 2026-09-01 (P1-4) and C1 $25 on 11-09: four lines,
no mode, no row.
- night 2, a vote that keeps the mode: N1 $45 on 10-02, in A1's and B1's windows. The mode stays
  $45: A1 (no row) is not priced again; B1's row now counts 6 of 6 lines, so B1 is.
- night 3, votes that flip it: F1-7 $55 on 10-03. A1's and B1's mode is $55 on 7 of 13 lines: A1
  is $10 short (a row now), B1 $25; both priced again.
- night 4, a fifth observation: P5 $40 (97140) on 09-02. C1 has a mode, $40 on 5 of 5: $15 short.
Each night's tables equal a from-scratch run's; the rows are written by hand.
"""
from __future__ import annotations

from datetime import date, timedelta

from tests.incremental.test_vote_months import _835, underpayment_nights

AS_OF = date(2026, 11, 20)
WINDOW = "lines remitted 2026-05-13 to 2026-11-08"

NIGHTS = [
    ({"votes.835": _835("20261001", "000000901", [(f"V{n}", 1, 45) for n in range(1, 6)]),
      "lines.835": _835("20261109", "000000902", [("A1", 1, 45), ("B1", 1, 30)]),
      "other_votes.835": _835("20260901", "000000903", [(f"P{n}", 1, 40) for n in range(1, 5)], "97140"),
      "other_line.835": _835("20261109", "000000904", [("C1", 1, 25)], "97140")},
     None),
    ({"same_mode.835": _835("20261002", "000000905", [("N1", 1, 45)])},
     "2 claim(s) priced again (1 touched; 1 of 2 whose window moved)"),
    ({"new_mode.835": _835("20261003", "000000906", [(f"F{n}", 1, 55) for n in range(1, 8)])},
     "9 claim(s) priced again (7 touched; 2 of 2 whose window moved)"),
    ({"fifth.835": _835("20260902", "000000907", [("P5", 1, 40)], "97140")},
     "2 claim(s) priced again (1 touched; 1 of 1 whose window moved)"),
]


def _row(account: str, expected: int, allowed: int, mode: int, count: int, lines: int):
    return (account, "payer_modal_180d", float(expected), float(allowed), float(expected - allowed),
            f"the payer's modal allowed amount ${mode}.00 per unit, on {count} of {lines} {WINDOW}", lines)


def test_a_night_prices_again_only_the_lines_whose_result_moved(tmp_path, caplog):
    underpaid = []
    nights = [(AS_OF + timedelta(days=night), files) for night, (files, _) in enumerate(NIGHTS)]
    for night, lake, said in underpayment_nights(tmp_path, caplog, nights):
        priced = NIGHTS[night - 1][1]  # what the log says of the claims priced again
        assert priced is None or any(priced in message for message in said), said
        underpaid.append(sorted(
            (pcn, source, float(expected), float(allowed), float(short), basis, n)
            for pcn, source, expected, allowed, short, basis, n in lake.read("underpaid_lines").select(
                "patient_control_number", "expected_source", "expected_allowed", "allowed_amount", "shortfall",
                "expected_basis", "modal_observations").rows()))
    assert underpaid == [
        [_row("B1", 45, 30, 45, 5, 5)],
        [_row("B1", 45, 30, 45, 6, 6)],  # A1 still at its mode: no row, not priced again
        [_row("A1", 55, 45, 55, 7, 13), _row("B1", 55, 30, 55, 7, 13)],
        [_row("A1", 55, 45, 55, 7, 13), _row("B1", 55, 30, 55, 7, 13), _row("C1", 40, 25, 40, 5, 5)],
    ]
