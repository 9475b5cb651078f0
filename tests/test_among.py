"""claimback.among: rows whose key is among many values, by a join, exactly as `is_in` filters them.

The reads of the lake by long key lists (the night's touched claims, the routing reach) rely on
three things `is_in` gave: the rows' order is kept, a null key is never among the values (nor is a
null value), and a key is compared after its expression (a normalised claim number)."""
from __future__ import annotations

import polars as pl
import pytest

from claimback import among as among_module
from claimback import lifecycle
from claimback.among import among, among_any


@pytest.fixture(autouse=True, params=["joined", "filtered"])
def few_values(request, monkeypatch):
    """Every test both ways: the values joined (past FEW_VALUES) and tested by `is_in`."""
    monkeypatch.setattr(among_module, "FEW_VALUES", 0 if request.param == "joined" else 10_000)

CLAIMS = pl.DataFrame({
    "claim_key": ["k1", "k2", None, "k4", "k5", "k6"],
    "patient_control_number": [" PCN-1", "PCN-2", "PCN-3", "", None, "pcn-9"],
    "line": [1, 2, 3, 4, 5, 6],
}).lazy()
NORMALISED = pl.col("patient_control_number").str.strip_chars().replace("", None)


def test_among_keeps_the_rows_whose_key_is_listed_in_their_order():
    found = among(CLAIMS, "claim_key", pl.Series(["k5", "k1", "nope", None, "k5"])).collect()
    assert found["line"].to_list() == [1, 5]


def test_among_compares_the_keys_expression_and_never_matches_null():
    found = among(CLAIMS, NORMALISED, pl.Series(["PCN-1", "PCN-3", None])).collect()
    assert found["line"].to_list() == [1, 3]
    assert found["patient_control_number"].to_list() == [" PCN-1", "PCN-3"]  # rows as they are


def test_among_casts_the_values_to_the_keys_type():
    assert among(CLAIMS, "line", pl.Series([6, 2], dtype=pl.Int32)).collect()["line"].to_list() == [2, 6]


def test_among_no_values_is_no_rows_with_the_columns():
    found = among(CLAIMS, "claim_key", pl.Series([], dtype=pl.String)).collect()
    assert found.height == 0 and found.columns == ["claim_key", "patient_control_number", "line"]


def test_among_any_is_the_union_of_its_tests_once_each_in_order():
    found = among_any(CLAIMS, [(NORMALISED, pl.Series(["PCN-2", "pcn-9"])),
                               ("claim_key", pl.Series(["k6", "k4"])),
                               ("line", pl.Series([2]))]).collect()
    assert found["line"].to_list() == [2, 4, 6]
    assert found.columns == ["claim_key", "patient_control_number", "line"]


@pytest.mark.parametrize("values", [["k2", "k4"], ["PCN-3"], []])
def test_among_any_gives_what_is_in_gave(values):
    listed = pl.Series(values, dtype=pl.String)
    tests = [("claim_key", listed), (NORMALISED, listed)]
    expected = CLAIMS.filter(pl.any_horizontal(
        pl.col("claim_key").is_in(listed.implode()), NORMALISED.is_in(listed.implode())).fill_null(False))
    assert among_any(CLAIMS, tests).collect().equals(expected.collect())


# Member ids and claim numbers as real files write them: padded, lower case, dashed, spaced inside,
# not ASCII, blank, missing.
WRITTEN = ["W123456789", " W123456789", "w123456789", "W12-345 6789", "W12\t3456789", "W123456789 ",
           "", "   ", None, "\u00e9l\u00e8ve-1", "\u00c9L\u00c8VE1", "stra\u00dfe", "STRASSE", "A(1)\\x", "a(1)\\X",
           "12345", "1 2 3 4 5", "PCN 7\nB", "PCN 7\nb", "~"]


@pytest.mark.parametrize("normalised", [lifecycle.identifier_of])
def test_a_normalised_column_gives_the_rows_its_expression_gives_in_order(normalised):
    """`Normalised`: values compared as written where the normalising leaves them unchanged, the
    others normalised: the same rows in the same order as the expression over every row."""
    key = normalised("member_id")
    frame = pl.DataFrame({"member_id": WRITTEN * 3, "line": range(3 * len(WRITTEN))}).lazy()
    every = frame.select(key.expr()).collect().to_series().drop_nulls().unique()
    for values in (every, every.head(3), pl.Series(["W123456789", None, "STRASSE"]), pl.Series([], dtype=pl.String)):
        expected = frame.filter(key.expr().is_in(values.implode()).fill_null(False)).collect()
        assert among(frame, key, values).collect().equals(expected)
        assert among_any(frame, [(key, values), ("line", pl.Series([0]))]).collect()["line"].to_list() == sorted(
            {0, *expected["line"]})


def test_only_values_normalising_leaves_unchanged_are_compared_as_written():
    for normalised in (lifecycle.identifier_of,):
        key = normalised("v")
        frame = pl.DataFrame({"v": [w for w in WRITTEN if w is not None]})
        plain = frame.filter(pl.col("v").str.contains(key.plain))
        assert plain["v"].to_list() == plain.select(key.expr()).to_series().to_list()
        assert "W123456789" in plain["v"].to_list()
    dashed = pl.DataFrame({"v": ["W12-345 6789", "w123456789", " W1"]})
    assert dashed.filter(pl.col("v").str.contains(lifecycle.identifier_of("v").plain)).is_empty()
