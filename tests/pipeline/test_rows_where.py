"""Lake.rows_where gives the same rows in the same order whether it reads by a predicate in the
scan (up to lake.FEW_KEYS keys) or by a semi join (more), from a table in parts and a one-file
table, with null and repeated keys, and no key at all."""
from __future__ import annotations

import polars as pl
import pytest

from claimback import lake as lake_module
from claimback.lake import Lake


def _lake(tmp_path) -> Lake:
    lake = Lake(tmp_path)
    rows = pl.DataFrame({
        "source_file": ["b.835", "a.835", "a.835", "c.835", "b.835", "a.835"],
        "transaction_ordinal": [1, 2, 1, 1, 1, 1],
        "claim_key": ["K3", "K2", "K1", None, "K4", "K1"],
        "line_number": [1, 1, 2, 1, 1, 1],
        "amount": [30, 20, 12, 0, 40, 11],
    })
    lake.write_current_part("remit_service_lines", "batch2", rows.head(3))  # parts whose files interleave
    lake.write_current_part("remit_service_lines", "batch1", rows.tail(3))
    lake.write_derived("adjudications", rows.select("claim_key", "amount"))  # one file, its own order
    return lake


@pytest.mark.parametrize("few", [0, 1_000])
def test_a_predicate_and_a_join_read_the_same_rows_in_the_same_order(tmp_path, monkeypatch, few):
    monkeypatch.setattr(lake_module, "FEW_KEYS", few)
    lake = _lake(tmp_path)
    keys = pl.Series(["K1", "K4", None, "K1", "K9"])
    lines = lake.rows_where("remit_service_lines", "claim_key", keys, ("claim_key", "line_number", "amount"))
    # the order `read` gives: source file, transaction, claim key, line
    assert lines.rows() == [("K1", 1, 11), ("K1", 2, 12), ("K4", 1, 40)]
    assert lines.equals(lake.read("remit_service_lines", ("claim_key", "line_number", "amount"))
                        .filter(pl.col("claim_key").is_in(["K1", "K4"])))
    assert lake.rows_where("adjudications", "claim_key", keys, ("amount",)).rows() == [(12,), (40,), (11,)]
    empty = lake.rows_where("adjudications", "claim_key", pl.Series([], dtype=pl.String), ("claim_key", "amount"))
    assert empty.height == 0 and empty.columns == ["claim_key", "amount"]
