"""The data-quality suites: NPI check digits, balancing, sentences analysts read."""
from __future__ import annotations

import polars as pl

from claimback import quality, schema


def test_npi_check_digit():
    npis = pl.DataFrame({"npi": ["1234567893", "1234567890", "123456789", None, "1932102084"]})
    valid = npis.select(quality.npi_is_valid(pl.col("npi")))["npi"].to_list()
    assert valid == [True, False, False, None, True]


def test_claim_balance_flags_the_unbalanced_claim():
    claims = schema.conform(pl.DataFrame({
        "claim_key": ["a", "b"], "charge_amount": [100.0, 100.0], "paid_amount": [80.0, 50.0]}), "remit_claims")
    adj = schema.conform(pl.DataFrame({
        "claim_key": ["a", "b"], "group_code": ["CO", "CO"], "reason_code": ["45", "45"], "amount": [20.0, 10.0]}),
        "remit_adjustments")
    assert quality.claim_balance(claims, adj)["imbalance"].to_list() == [0.0, 40.0]


def test_suite_reports_sentences_with_counts():
    claims = schema.conform(pl.DataFrame({
        "claim_key": ["a", "a", None], "patient_control_number": ["1", "2", "3"]}), "remit_claims")
    adj = schema.empty("remit_adjustments")
    suites = quality.remit_structure(claims, adj)
    claims_suite = suites[0]
    assert not claims_suite.success
    sentences = [o.sentence for o in claims_suite.outcomes]
    assert "claim_key is present on 2 of 3 remit claims" in sentences
    assert "claim_key is unique on 1 of 3 remit claims" in sentences  # both "a" rows are duplicates
    assert suites[1].success  # an empty table passes: nothing is wrong with it


def test_remit_dates_outside_the_plausible_range_are_counted():
    from datetime import date

    claims = schema.conform(pl.DataFrame({
        "claim_key": ["a", "b", "c", "d"], "remit_date": [date(2026, 10, 2), date(1999, 12, 31), None, date(2027, 1, 1)],
    }), "remit_claims")
    suites = quality.remit_data_quality(claims, *(schema.empty(t) for t in (
        "remit_adjustments", "remit_remarks", "remit_payments", "provider_adjustments")), as_of=date(2026, 11, 1))
    dates = next(s for s in suites if s.name == "remit_dates")
    assert not dates.success
    assert [o.sentence for o in dates.outcomes] == [
        "the remit date lies between 2000-01-01 and a month after the as-of date in 1 of 3 claims"]
    on_the_edges = claims.with_columns(remit_date=pl.Series([date(2000, 1, 1), date(2026, 12, 2), None, None]))
    suites = quality.remit_data_quality(on_the_edges, *(schema.empty(t) for t in (
        "remit_adjustments", "remit_remarks", "remit_payments", "provider_adjustments")), as_of=date(2026, 11, 1))
    assert next(s for s in suites if s.name == "remit_dates").success


def test_the_checks_library_is_loaded_beside_the_run(monkeypatch):
    """`claimback run` starts importing Great Expectations in a thread while the inbox is read: the
    thread ends with it loaded, and a library that fails to import fails later, where a suite
    imports it, not in the thread."""
    import sys

    thread = quality.imported_beside()
    thread.join(timeout=300)
    assert not thread.is_alive() and thread.daemon and "great_expectations" in sys.modules

    import threading

    raised = []
    monkeypatch.setattr(threading, "excepthook", raised.append)
    monkeypatch.setitem(sys.modules, "great_expectations", None)  # `import` of it now raises
    broken = quality.imported_beside()
    broken.join(timeout=60)
    assert not broken.is_alive() and raised == []
