"""The underpayments of a night (claimback.stages._underpayments_of_night: the kept modal votes,
the touched claims' votes taken back and added again, the claims whose line's modal result a
changed day in its 180-day window moved priced again) equal a from-scratch computation, on the hand-written remits of
tests/underpayments/remits.py (what each shows is in tests/underpayments/test_underpaid_lines.py).

In order: the payer's history (97110-GP allowed $45 a unit on five lines from 2026-10-01) one
night, the underpaid remits of 2026-11-09 the next. Out of order: the underpaid remits first
(UP3 has no clear mode yet: not underpaid), the history a night later, which puts five votes
into UP3's window: UP3 must be priced again though nothing touched its claim. Then a month with
nothing new, and a night whose fee schedule changed (every claim priced again).
"""
from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from claimback import stages
from tests.routing.route_inbox import denials_of
from tests.routing.x12_inbox import write
from tests.underpayments.remits import FEE_SCHEDULE, history_835, underpaid_835

AS_OF = date(2026, 11, 20)
FILES = {"history.835": history_835, "era.835": underpaid_835}


def _same_tables(nightly: Path, full: Path) -> None:
    """Every table the denials stage writes, row for row (in any order)."""
    a, b = (stages.Settings(inbox=Path("."), warehouse=w, as_of=AS_OF).lake for w in (nightly, full))
    for table in stages.WRITES["denials"]:
        rows = [lake.read(table) for lake in (a, b)]
        assert rows[0].columns == rows[1].columns, table
        hashes = [frame.hash_rows(seed=0).sort().to_list() for frame in rows]
        assert hashes[0] == hashes[1], f"{table}: {rows[0]} != {rows[1]}"


def _whole(warehouse: Path) -> bool:
    return pl.read_parquet(warehouse / "lake" / "state" / "changed_claims_run.parquet")["whole"].item()


@pytest.mark.parametrize("order", [("history.835", "era.835"), ("era.835", "history.835")])
def test_underpayment_nights_equal_a_full_run(tmp_path, order, monkeypatch, caplog):
    # the night of the new fee schedule prices every claim a month part at a time, as at 10 M claims
    monkeypatch.setattr(stages, "PRICE_PART_ROWS", 1)
    inbox, nightly = tmp_path / "inbox", tmp_path / "nightly"
    write(inbox / "contracts", "acme_fee_schedule.csv", FEE_SCHEDULE)
    nights = [(AS_OF, order[0]), (AS_OF, order[1]), (AS_OF + timedelta(days=30), None), (AS_OF + timedelta(days=31), "fee")]
    for night, (as_of, added) in enumerate(nights, start=1):
        if added == "fee":  # the contract's 99214 row raised: every claim is priced again
            write(inbox / "contracts", "acme_fee_schedule.csv", FEE_SCHEDULE.replace("120", "125"))
        elif added:
            write(inbox, added, FILES[added]())
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="claimback"):
            denials_of(inbox, nightly, as_of)
        # a new fee schedule prices every claim again, but the other tables still follow the night
        assert _whole(nightly) == (night == 1), f"night {night}"
        if added == "fee":  # the remits of October and November: two parts
            assert "underpayments: every claim priced again in 2 part(s) of the adjudications" in caplog.messages
        full = tmp_path / f"full-{night}"
        denials_of(inbox, full, as_of)
        _same_tables(nightly, full)
    underpaid = stages.Settings(inbox=inbox, warehouse=nightly, as_of=AS_OF).lake.read("underpaid_lines")
    # UP3 is priced by the payer's own mode whichever file came first
    assert "payer_modal_180d" in underpaid.filter(pl.col("patient_control_number") == "UP3")["expected_source"]
