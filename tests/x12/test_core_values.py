"""The values the compiled core converts itself — money, CCYYMMDD dates, procedure parts and
modifiers, claim keys — read exactly as the Polars expressions read them (fields.money, date8,
part, modifiers, claim_key), on a hand-written 835 whose values sit on every edge, and string by
string against the expressions.

Money is data element 782 as the 005010 guides restrict it (fields.AMOUNT_PATTERN): an optional
minus, digits, at most one point and two decimals, ten digits in all. Dates are D8 (CCYYMMDD) or
the first date of an RD8 range. The core leaves to the expressions any row holding an amount that
is not an X12 amount or a date that is not eight digits (remit._values); the rows here exercise
both halves in one transaction set and across sets.
"""
from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from claimback.x12 import core, read_x12
from claimback.x12.fields import date8, money
from tests.x12.synthetic import Layout, interchange, render
from tests.x12.test_core import assert_same, both, core_reads, needs_core  # noqa: F401 - fixture

# Two checks, written from the 835 TR3's CLP/SVC/CAS/DTM/AMT definitions; values on the edges.
EDGES = [
    "BPR*I*0.5*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20240115",
    "TRN*1*CHK0101*1512345678",
    "N1*PR*EDGE PLAN*XV*EDGE1",
    "N1*PE*GOOD CLINIC*XX*1234567893",
    "LX*1",
    # negative charge and a point with nothing after it; a payment with nothing before the point
    "CLP*PCN101*1*-25.5*.5*5.*12*PAYER101*11*1",
    "DTM*232*20240229",   # a leap day: a date
    "DTM*233*240301",     # six digits (D6 is not a D8): no date
    "DTM*050*20230229",   # no such day: no date
    "AMT*AU*000000012.30",  # leading zeros, which payers send
    "SVC*HC:99213::25::*-25.5*.5**2*HC:99212",  # empty components dropped from the modifiers
    "DTM*472*20240101-20240105",  # an RD8 range: its first date
    "CAS*CO*45*-.5*1*2*-25.5",  # two triplets: -.5 (quantity 1), then -25.5
    "AMT*B6*0",
    "CLP*PCN102*4*99999999.99*0*0*12*PAYER102*11*1",  # the largest X12 amount
    "SVC*HC*99999999.99*0",  # a composite of one component: no code, no modifiers
    "DTM*150*2024010",    # seven digits: no date
    "DTM*151*20241301",   # month 13: no date
    "CAS*CO*197*99999999.99",
    "CLP*PCN103*1*100*100**12*PAYER103*11*1",  # CLP05 empty: null, no finding
    "SVC*AD:D0120*100*100",
    "DTM*472*2024 101",   # a blank inside: left to the expression, which reads it as 2024-10-01
    "CAS*PR*1*0",
]
FLAGGED = [  # one check whose values are left empty and reported, not rejected
    "BPR*I*10*C*CHK************20240116",
    "TRN*1*CHK0102*1512345678",
    "N1*PR*EDGE PLAN",
    "LX*1",
    "CLP*PCN104*1*10*10*1.005*12*PAYER104*11*1",  # CLP05 with three decimals: flagged
    "AMT*AU*1,250.00",                            # a triad separator: flagged
    "SVC*HC:99213*10*10",
    "AMT*B6*+10",                                 # a plus sign: not an amount, left empty
]
REJECTED = [  # one check not loaded: CLP03 is not an amount
    "BPR*I*10*C*CHK************20240116",
    "TRN*1*CHK0103*1512345678",
    "LX*1",
    "CLP*PCN105*1*12.345*10*0*12*PAYER105*11*1",
    "SVC*HC:99213*10*10",
]


def _edges(layout: Layout = Layout()) -> bytes:
    return render(interchange([("835", EDGES), ("835", FLAGGED), ("835", REJECTED)], layout=layout), layout)


@needs_core
@pytest.mark.parametrize("layout", [Layout(), Layout(element="|", component=">", repetition="}", after="\r\n")],
                         ids=["plain", "other-separators"])
def test_edge_values_read_as_the_expressions_read_them(monkeypatch, layout, core_reads):
    expected, got = both(monkeypatch, read_x12, _edges(layout), "edges.edi")
    assert_same(expected, got)
    assert core_reads.read and not core_reads.declined
    claims = got.tables["remit_claims"].sort("patient_control_number")
    cents = lambda s: Decimal(s)  # noqa: E731
    assert claims.select("patient_control_number", "charge_amount", "paid_amount",
                         "patient_responsibility_amount", "allowed_amount").rows() == [
        ("PCN101", cents("-25.50"), cents("0.50"), cents("5.00"), cents("12.30")),
        ("PCN102", cents("99999999.99"), cents("0.00"), cents("0.00"), None),
        ("PCN103", cents("100.00"), cents("100.00"), None, None),
        ("PCN104", cents("10.00"), cents("10.00"), None, None),
    ]
    assert claims.row(0, named=True)["statement_from"] == date(2024, 2, 29)
    assert claims.row(0, named=True)["statement_to"] is None
    assert claims.row(0, named=True)["received_date"] is None
    assert claims["claim_key"].to_list() == [f"{got.file_sha256[:16]}-{n:07d}" for n in (1, 2, 3, 4)]
    lines = got.tables["remit_service_lines"]  # in file order
    assert lines.select("procedure_qualifier", "procedure_code", "modifiers", "original_procedure_code",
                        "charge_amount", "paid_amount", "allowed_amount", "service_date", "service_date_to").rows() == [
        ("HC", "99213", ["25"], "99212", cents("-25.50"), cents("0.50"), cents("0.00"), date(2024, 1, 1), None),
        ("HC", None, [], None, cents("99999999.99"), cents("0.00"), None, None, None),
        ("AD", "D0120", [], None, cents("100.00"), cents("100.00"), None, date(2024, 10, 1), None),
        ("HC", "99213", [], None, cents("10.00"), cents("10.00"), None, None, None),
    ]
    adjustments = got.tables["remit_adjustments"]
    assert adjustments["amount"].to_list() == [cents("-0.50"), cents("-25.50"), cents("99999999.99"), cents("0.00")]
    findings = got.tables["validation_findings"].filter(pl.col("rule") == "invalid_value")["message"].to_list()
    assert any("CLP05 '1.005' is not an X12 amount" in m for m in findings)
    assert any("AMT02 (AMT*AU) '1,250.00' is not an X12 amount" in m for m in findings)
    quarantine = got.tables["quarantine"]["error"].to_list()
    assert quarantine == ["transaction set not loaded: CLP03 '12.345' is not an X12 amount "
                          "(an optional minus sign, digits and one decimal point, at most 99999999.99)"]


AMOUNTS = ["0", "-0", "5", "5.", ".5", "-.5", "-5.", "00", "000000000", "0.1", "-000.01", "000000000123.45",
           "12345678.9", "12345678.99", "99999999.99", "0000000000000000000001.00", "123456789", "100000000",
           "1.005", "1,000", "+5", " 5", "5 ", "", "-", ".", "-.", "--5", "5-", "1e5", "5.0.0", "0x10",
           "12.", "-12345678", "-123456789.1"]
DATES = ["20240101", "20000229", "19000229", "20240229", "20230229", "20241301", "20240100", "20240132", "00000000",
         "00010101", "99991231", "19700101", "19691231", "20240101-20240131", "202401011", "20240101x", "2024010",
         "240101", "2024-01-01", "2024 101", "20240A01", " 20240101", "", "2024011 ", "12345678"]


def _random_strings(alphabet: str, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(n)]


@needs_core
def test_money_as_the_amount_expression_reads_it():
    values = AMOUNTS + _random_strings("0123456789.-", 3000, seed=5)
    expected = pl.DataFrame({"v": values}).select(money(pl.col("v")))["v"].to_list()
    got = [None if cents is None else Decimal(cents).scaleb(-2) for cents, _ in core._core.amounts(values)]
    assert got == expected
    assert [ok for _, ok in core._core.amounts(values)] == [e is not None for e in expected]


@needs_core
def test_dates_as_the_date_expression_reads_them():
    values = DATES + _random_strings("0123456789", 3000, seed=6) + [f"{y:04d}{m:02d}{d:02d}" for y in
                                                                   (1600, 1900, 2000, 2023, 2024, 2100)
                                                                   for m in range(0, 14) for d in (0, 1, 28, 29, 30, 31, 32)]
    expected = pl.DataFrame({"v": values}).select(date8(pl.col("v")))["v"].to_list()
    got = core._core.dates(values)
    decided = [(g, e, v) for g, e, v in zip(got, expected, values) if g != "polars"]
    assert [None if g is None else date.fromordinal(date(1970, 1, 1).toordinal() + g) for g, _, _ in decided] == \
        [e for _, e, _ in decided]
    # only what is not eight digits is left to the expression
    assert {v for g, v in zip(got, values) if g == "polars"} == {v for v in values if not (len(v) >= 8 and v[:8].isdigit())}


# Balance (835 TR3 1.10.2.1): a claim's charge minus payment equals its CAS amounts, claim and line
# level; a line's the same with its own CAS. The core counts what does not balance, so the checks
# run only then; a set the reader will not load does not count.
BALANCED = [
    "BPR*I*80*C*CHK************20240116",
    "TRN*1*CHK0201*1512345678",
    "N1*PR*EDGE PLAN",
    "LX*1",
    "CLP*PCN201*1*100*80*0*12*PAYER201*11*1",
    "SVC*HC:99213*100*80",
    "CAS*CO*45*20",
]
UNBALANCED = [
    "BPR*I*80*C*CHK************20240116",
    "TRN*1*CHK0202*1512345678",
    "N1*PR*EDGE PLAN",
    "LX*1",
    "CLP*PCN202*1*100*80*0*12*PAYER202*11*1",
    "CAS*CO*45*5",           # claim level: 5, and 10 on the line, against 20
    "SVC*HC:99213*100*80",
    "CAS*CO*45*10",          # the line: 10 against 20
]
REJECTED_UNBALANCED = [  # not loaded (CLP04 is not an amount): its imbalance is never reported
    "BPR*I*80*C*CHK************20240116",
    "TRN*1*CHK0203*1512345678",
    "LX*1",
    "CLP*PCN203*1*100*8O*0*12*PAYER203*11*1",
    "CAS*CO*45*1",
]


@needs_core
@pytest.mark.parametrize("sets, runs, messages", [
    ([BALANCED, REJECTED_UNBALANCED], [], []),
    ([BALANCED, UNBALANCED], ["claim", "line"], [
        "claim PCN202: charge minus payment (CLP03 - CLP04) is 20.00 but its CAS adjustments total 15.00",
        "service line 1 (99213): charge minus payment (SVC02 - SVC03) is 20.00 but its CAS adjustments total 10.00",
    ]),
], ids=["nothing-to-report", "unbalanced"])
def test_balance_checks_run_where_something_does_not_balance(monkeypatch, sets, runs, messages, core_reads):
    from claimback.x12 import findings

    source = render(interchange([("835", body) for body in sets]))
    expected, got = both(monkeypatch, read_x12, source, "balance.edi")
    assert_same(expected, got)
    ran = []
    for name, label in (("claim_balance", "claim"), ("line_balance", "line")):
        check = getattr(findings, name)
        monkeypatch.setattr(findings, name, lambda *a, check=check, label=label: ran.append(label) or check(*a))
    monkeypatch.setenv("CLAIMBACK_READER", "core")
    again = read_x12(source, "balance.edi")
    assert ran == runs
    found = again.tables["validation_findings"].filter(pl.col("rule").is_in(["claim_balance", "line_balance"]))
    assert found["message"].to_list() == messages
