"""Unit checks of the generator's building blocks: money text, NPIs, trend timing, the log."""
from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import polars as pl
import pytest

from claimback.synth.book import rising_weekly_offsets, snap_back, snap_forward, weekday
from claimback.synth.denials import DENIAL_KINDS, PLANTED_TRENDS
from claimback.synth.pools import PAYERS, PROCEDURES, PROVIDERS, make_npi, npi_is_valid
from claimback.synth.render import money, money_expr
from claimback.synth.truth import BAD_DATES, write_log


def test_money_text_and_its_vectorised_twin_agree():
    cents = [0, 1, 5, 10, 99, 100, 101, 1050, 12345, -1, -99, -100, -12345, 10_000_000]
    expected = ["0", "0.01", "0.05", "0.10", "0.99", "1", "1.01", "10.50", "123.45", "-0.01",
                "-0.99", "-1", "-123.45", "100000"]
    assert [money(c) for c in cents] == expected
    frame = pl.DataFrame({"c": cents}).select(money_expr(pl.col("c")))
    assert frame.to_series().to_list() == expected


def test_npi_check_digit_is_luhn_with_the_80840_prefix():
    assert make_npi("123456789") == "1234567893"  # CMS's published example
    assert npi_is_valid("1234567893") and not npi_is_valid("1234567890")
    for prov in PROVIDERS:
        assert npi_is_valid(prov.npi)
        assert all(npi_is_valid(npi) for _, _, npi in prov.renderers)
    all_npis = [p.npi for p in PROVIDERS] + [r[2] for p in PROVIDERS for r in p.renderers]
    assert len(set(all_npis)) == len(all_npis)


def test_the_six_routing_payers_exactly():
    assert [(p.name, p.payer_id) for p in PAYERS] == [
        ("COORDINATED CARE OF WASHINGTON", "CCWA1"), ("SUNSHINE HEALTH", "SUNSH"),
        ("CARESOURCE OHIO", "CSOH1"), ("LOUISIANA HEALTHCARE CONNECTIONS", "LHCC1"),
        ("UNITEDHEALTHCARE COMMUNITY PLAN", "UHCCP"), ("ACME COMMERCIAL HEALTH", "ACME1")]


def test_planted_trends_fit_their_providers_and_payers():
    for t in PLANTED_TRENDS:
        prov = PROVIDERS[t.provider]
        assert t.procedure in {p.code for p in prov.procedures}
        assert t.payer_id in {payer for payer, _ in prov.payer_mix}
        assert t.kind in {k.key for k in DENIAL_KINDS}
    flagged = [t for t in PLANTED_TRENDS if t.expected == "flagged"]
    assert 2 <= len({t.payer_id for t in flagged}) <= 3
    assert all(10 <= t.claims <= 40 for t in flagged)


def test_procedure_table_lines_up_with_the_providers():
    for pi, prov in enumerate(PROVIDERS):
        rows = PROCEDURES.rows(np.full(len(prov.procedures), pi), np.arange(len(prov.procedures)))
        assert PROCEDURES.code[rows].tolist() == [p.code for p in prov.procedures]


@pytest.mark.parametrize("claims", [1, 5, 9, 12, 30])
def test_emerging_signature_rises_week_by_week(claims):
    offsets = rising_weekly_offsets(claims, 28, 0)
    assert len(offsets) == claims
    per_week = Counter(offsets.tolist())
    counts = [per_week.get(d, 0) for d in (21, 14, 7, 0)]  # oldest week first
    assert counts == sorted(counts) and counts[-1] > 0


def test_check_weekday_snapping():
    days = np.arange(20_000, 20_014)
    for target in range(7):
        forward, back = snap_forward(days, target), snap_back(days, target)
        assert (weekday(forward) == target).all() and (weekday(back) == target).all()
        assert ((forward - days >= 0) & (forward - days < 7)).all()
        assert ((days - back >= 0) & (days - back < 7)).all()
    assert weekday(np.array([0]))[0] == 3  # 1970-01-01 was a Thursday


def _row(day: int) -> tuple:
    return (day, "PCN1", "ICN1", "1", f"2026-01-{day:02d}", "REF", "", "")


def test_log_gets_its_two_bad_dates_only_when_long_enough(tmp_path):
    path = tmp_path / "reconsiderations.csv"
    write_log(path, [_row(d) for d in range(1, 6)])
    assert not set(BAD_DATES) & {r["submitted_on"] for r in csv.DictReader(path.open())}
    write_log(path, [_row(d) for d in range(1, 29)])
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 28
    assert sorted(r["submitted_on"] for r in rows if r["submitted_on"] in BAD_DATES) == sorted(BAD_DATES)


def test_truth_categories_agree_with_the_code_taxonomy():
    codes = pytest.importorskip("claimback.codes")
    frame = pl.DataFrame({"group_code": [k.group for k in DENIAL_KINDS],
                          "reason_code": [k.carc for k in DENIAL_KINDS],
                          "remark_codes": [list(k.rarcs) for k in DENIAL_KINDS]},
                         schema_overrides={"remark_codes": pl.List(pl.String)})
    classified = codes.classify(frame)
    assert classified["code_known"].all()
    assert classified["category"].to_list() == [k.category for k in DENIAL_KINDS]
    remarks = pl.DataFrame({"remark_code": sorted({r for k in DENIAL_KINDS for r in k.rarcs})})
    assert codes.unknown_codes(frame, remarks).height == 0
