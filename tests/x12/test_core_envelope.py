"""The envelope checks (structure.envelope_findings) read only the interchanges they can find
something in when the compiled core reads: an interchange whose GE01 counts its group's sets,
whose GE02 repeats GS06, whose IEA01 counts its groups and whose IEA02 repeats ISA13 (X12.5
envelope rules), with no segment outside a set, has no such finding and is not handed to Polars.
The findings must be those of the reference path, whichever interchange breaks which rule, in
one file or a batch."""
from __future__ import annotations

import polars as pl
import pytest

from claimback.x12 import read_x12, read_x12_many
from tests.x12.synthetic import REMIT_1, REMIT_2, interchange, render
from tests.x12.test_core import assert_same, assert_same_many, both, core_reads, needs_core  # noqa: F401


def _with(segments: list[str], tag: str, element: int, value: str) -> list[str]:
    """The segments with element `element` of the (first) `tag` segment replaced by `value`."""
    out = list(segments)
    i = next(k for k, seg in enumerate(out) if seg.split("*")[0] == tag)
    fields = out[i].split("*")
    fields[element] = value
    out[i] = "*".join(fields)
    return out


def _plain(control: str) -> list[str]:
    return interchange([("835", REMIT_1), ("835", REMIT_2)], control=control)


INTERCHANGES = {
    "plain": _plain("000000201"),
    "ge01": _with(_plain("000000202"), "GE", 1, "3"),            # two sets, GE01 says three
    "ge02": _with(_plain("000000203"), "GE", 2, "8"),            # GS06 is 7
    "iea01": _with(_plain("000000204"), "IEA", 1, "2"),          # one group, IEA01 says two
    "iea02": _with(_plain("000000205"), "IEA", 2, "000000999"),  # ISA13 is 000000205
    "zeros": _with(_with(_plain("000000206"), "GE", 2, "0007"), "GE", 1, "02"),  # leading zeros: agree
    "stray": _plain("000000207")[:2] + ["REF*ZZ*OUTSIDE"] + _plain("000000207")[2:],  # before the first ST
    "no-iea": _plain("000000208")[:-1],
    "spaces": _with(_plain("000000209"), "GE", 1, " 2 "),        # read as 2 once stripped: agrees
}


@needs_core
@pytest.mark.parametrize("name", list(INTERCHANGES))
def test_each_envelope_rule_alone_and_beside_plain_interchanges(monkeypatch, name, core_reads):
    segments = INTERCHANGES["plain"] + INTERCHANGES[name] + _plain("000000210")
    expected, got = both(monkeypatch, read_x12, render(segments), f"{name}.edi")
    assert_same(expected, got)
    assert core_reads.read and not core_reads.declined
    rules = sorted(got.tables["validation_findings"].filter(pl.col("transaction_ordinal").is_null())["rule"])
    assert rules == {
        "plain": [], "zeros": [], "spaces": [],
        "ge01": ["ge_count"], "ge02": ["control_number"], "iea01": ["iea_count"], "iea02": ["control_number"],
        "stray": ["segment_outside_transaction"], "no-iea": [],
    }[name]


@needs_core
def test_every_rule_in_one_file_and_in_a_batch(monkeypatch, core_reads):
    whole = render([seg for segments in INTERCHANGES.values() for seg in segments])
    expected, got = both(monkeypatch, read_x12, whole, "all.edi")
    assert_same(expected, got)
    messages = got.tables["validation_findings"].filter(pl.col("transaction_ordinal").is_null())["message"].to_list()
    assert "GE01 says 3 transaction sets but the group has 2" in messages
    assert "IEA01 says 2 functional groups but the interchange has 1" in messages
    assert "IEA02 000000999 does not match ISA13 000000205" in messages
    sources = [render(segments) for segments in INTERCHANGES.values()]
    assert_same_many(monkeypatch, sources, list(INTERCHANGES))
