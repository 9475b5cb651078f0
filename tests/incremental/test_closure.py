"""The touched keys' closure (claimback.touched.closure) reads only the rows holding the keys the
round before found, yet gives the keys and the rounds of reading every remit and 837 each round.

A chain that takes five rounds: remit A (account P1, claim number I1); an 837 of account P2 that
corrects I1 (REF*F8 I1); remit B of P2 under I2; remit C of P3 under I3 that corrects I2; and
remit D of P9 under I9 that nothing reaches. Blank keys ("" and spaces) are no key: the 837 and
remit E with blank numbers do not join D to the chain."""
from __future__ import annotations

import polars as pl

from claimback import touched
from claimback.lake import Lake

REMITS = [  # claim_key, patient control number, payer claim number (CLP07), REF*F8
    ("A", "P1", "I1", None),
    ("B", "P2", "I2", ""),
    ("C", " P3 ", "I3", "I2"),
    ("D", "P9", "I9", None),
    ("E", " ", "", "  "),
]
SUBMITTED = [("S1", "P2", "I1"), ("S2", "", None), ("S9", "P9", " ")]  # claim_key, account, REF*F8


def _lake(tmp_path) -> Lake:
    lake = Lake(tmp_path)
    remits = pl.DataFrame(REMITS, schema=["claim_key", *touched.REMIT_KEYS.values()], orient="row")
    submitted = pl.DataFrame(SUBMITTED, schema=["claim_key", *touched.SUBMITTED_KEYS.values()], orient="row")
    lake.write_current_part("remit_claims", "b1", remits.head(3))  # two batches: the scan reads both
    lake.write_current_part("remit_claims", "b2", remits.tail(2))
    lake.write_current_part("submitted_claims", "b1", submitted)
    return lake


def _every_row_each_round(lake: Lake, pcns: pl.Series, icns: pl.Series):
    """The closure as it was: every remit's and 837's keys held, filtered each round."""
    remits = touched._keys(lake.scan("remit_claims"), touched.REMIT_KEYS).collect()
    submitted = touched._keys(lake.scan("submitted_claims"), touched.SUBMITTED_KEYS).collect()
    rounds = 0
    while True:
        rounds += 1
        r = remits.filter(pl.col("pcn").is_in(pcns) | pl.col("icn").is_in(icns) | pl.col("f8").is_in(icns))
        s = submitted.filter(pl.col("pcn").is_in(pcns) | pl.col("f8").is_in(icns))
        more_pcns = pl.concat([pcns, r["pcn"], s["pcn"]]).drop_nulls().unique()
        more_icns = pl.concat([icns, r["icn"], r["f8"], s["f8"]]).drop_nulls().unique()
        if more_pcns.len() == pcns.len() and more_icns.len() == icns.len():
            return pcns, icns, rounds
        pcns, icns = more_pcns, more_icns


def _strings(*values) -> pl.Series:
    return pl.Series(values, dtype=pl.String)


def test_the_chain_closes_in_five_rounds_as_reading_every_row_does(tmp_path):
    lake = _lake(tmp_path)
    pcns, icns, rounds, remit_keys, submitted_keys = touched.closure(lake, _strings("P1"), _strings())
    assert (sorted(pcns), sorted(icns), rounds) == (["P1", "P2", "P3"], ["I1", "I2", "I3"], 5)
    old = _every_row_each_round(lake, _strings("P1"), _strings())
    assert (sorted(old[0]), sorted(old[1]), old[2]) == (sorted(pcns), sorted(icns), rounds)
    # the rows holding a key of the closure: what the night then reads by claim key
    assert (sorted(remit_keys), sorted(submitted_keys)) == (["A", "B", "C"], ["S1"])


def test_from_the_other_end_and_with_nothing_touched(tmp_path):
    lake = _lake(tmp_path)
    pcns, icns, rounds, remit_keys, submitted_keys = touched.closure(lake, _strings(None), _strings("I3", None))
    assert (sorted(remit_keys), sorted(submitted_keys)) == (["A", "B", "C"], ["S1"])
    # C gives P3 and I2, then B and A's 837 (I2, P2), then A (I1, P1): four rounds and a fifth that adds nothing
    assert (sorted(pcns), sorted(icns), rounds) == (["P1", "P2", "P3"], ["I1", "I2", "I3"], 5)
    reach = touched.closure(lake, _strings(), _strings())
    assert (reach.pcns.len(), reach.icns.len(), reach.rounds) == (0, 0, 1)  # a quiet night reads nothing
    assert (reach.remit_keys.len(), reach.submitted_keys.len()) == (0, 0)
    reach = touched.closure(lake, _strings("P9"), _strings())
    # D alone; S9's blank F8 joins nothing
    assert (sorted(reach.pcns), sorted(reach.icns), reach.rounds) == (["P9"], ["I9"], 2)
    assert (sorted(reach.remit_keys), sorted(reach.submitted_keys)) == (["D"], ["S9"])
