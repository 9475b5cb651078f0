"""P(overturn): the model earns its place on newer data when history has signal, and not on noise."""
from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from claimback.routing import build_work_queue, fit_overturn_model, load_rules

from .helpers import PAYERS, denial, denials

CATEGORIES = ("payer_error", "contractual_underpayment", "authorization", "medical_necessity", "timely_filing",
              "coding_bundling")
CATEGORY_EFFECT = {"payer_error": 1.5, "contractual_underpayment": 0.8, "authorization": -0.2,
                   "medical_necessity": -1.0, "timely_filing": -2.0, "coding_bundling": 0.0}
PAYER_EFFECT = {"CCWA1": 0.8, "SUNSH": -0.8, "CSOH1": 0.3, "LHCC1": -0.3, "UHCCP": 1.0, "ACME1": -1.2}


def history(n: int, signal: bool, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Past denials and their Level I outcomes; with signal, outcome depends on category and payer."""
    rng = np.random.default_rng(seed)
    category = rng.choice(CATEGORIES, n)
    payer = rng.choice(list(PAYERS), n)
    first_remit = np.datetime64("2024-01-01") + rng.integers(0, 700, n).astype("timedelta64[D]")
    filed = first_remit + rng.integers(5, 80, n).astype("timedelta64[D]")
    if signal:
        # Payers differ by denial type too: the authorization effect flips sign per payer.
        flip = np.where(category == "authorization", -1.5, 1.0)
        logit = np.array([CATEGORY_EFFECT[c] for c in category]) + np.array([PAYER_EFFECT[p] for p in payer]) * flip
        p_win = 1 / (1 + np.exp(-logit))
    else:
        p_win = np.full(n, 0.5)
    won = rng.random(n) < p_win
    pcn = [f"H{i:05d}" for i in range(n)]
    past = pl.DataFrame(
        {
            "patient_control_number": pcn,
            "payer_id": payer,
            "payer_name": [PAYERS[p] for p in payer],
            "category": category,
            "primary_reason": [f"CO-{CATEGORIES.index(c) + 100}" for c in category],
            "denied_amount": np.round(rng.lognormal(5, 1, n), 2),
            "first_remit_date": first_remit,
            "remit_date": first_remit,
            "remark_codes": [["N54"] if c == "authorization" else [] for c in category],
            "reason_codes": [["CO-1"]] * n,
            "denial_level": ["claim"] * n,
        }
    ).with_columns(pl.col("first_remit_date", "remit_date").cast(pl.Date))
    outcomes = pl.DataFrame(
        {"patient_control_number": pcn, "level": [1] * n, "submitted_on": filed,
         "outcome": np.where(won, "overturned", "upheld")}
    ).with_columns(pl.col("submitted_on").cast(pl.Date))
    return past, outcomes


@pytest.fixture(scope="module")
def priors():
    return load_rules().overturn_priors


@pytest.fixture(scope="module")
def signal_model(priors):
    past, outcomes = history(1000, signal=True, seed=11)
    return fit_overturn_model(past, outcomes, priors)


def test_model_beats_the_category_baseline_when_history_has_signal(signal_model):
    report = signal_model.report
    assert report.used == "model", report.reason
    assert report.auc_model > report.auc_baseline
    assert report.brier_model < report.brier_baseline
    assert report.auc_lift_ci_low > 0
    assert (report.n_train, report.n_test) == (750, 250)


def test_split_is_by_time_newest_quarter_held_out(priors):
    past, outcomes = history(400, signal=True, seed=3)
    report = fit_overturn_model(past, outcomes, priors).report
    cutoff = outcomes["submitted_on"].sort()[300]
    assert report.test_from == cutoff


def test_model_probabilities_follow_the_planted_signal(signal_model):
    # Same denial at two payers with opposite planted effects: the model must rank them apart.
    features = pl.DataFrame(
        {
            "category": ["payer_error", "payer_error", "timely_filing"],
            "primary_carc": ["CO-100", "CO-100", "CO-104"],
            "payer": ["UHCCP", "ACME1", "ACME1"],
            "denial_level": ["claim"] * 3,
            "log_denied_amount": [5.0] * 3,
            "days_to_file": [30.0] * 3,
            "has_remarks": [0.0] * 3,
            "reason_code_count": [1.0] * 3,
        }
    )
    uhc, acme, timely = signal_model.predict(features)
    assert 0 < timely < acme < uhc < 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_on_pure_noise_the_model_does_not_pretend(priors, seed):
    past, outcomes = history(800, signal=False, seed=seed)
    model = fit_overturn_model(past, outcomes, priors)
    assert model.report.used == "priors"
    assert "no reliable lift" in model.report.reason
    assert model.report.auc_model is not None and model.report.brier_baseline is not None


def test_thin_history_falls_back_to_priors_and_says_so(priors):
    past, outcomes = history(150, signal=True, seed=5)
    model = fit_overturn_model(past, outcomes, priors)
    assert model.report.used == "priors"
    assert "150 decided" in model.report.reason and model.report.auc_model is None


def test_single_outcome_history_falls_back_to_priors(priors):
    past, outcomes = history(300, signal=False, seed=5)
    model = fit_overturn_model(past, outcomes.with_columns(outcome=pl.lit("upheld")), priors)
    assert model.report.used == "priors" and "same outcome" in model.report.reason


def test_priors_are_smoothed_toward_industry_figures(priors):
    past, outcomes = history(60, signal=False, seed=9)
    only_payer_error = past.with_columns(category=pl.lit("payer_error"))
    won = outcomes.with_columns(outcome=pl.lit("overturned"))
    model = fit_overturn_model(only_payer_error, won, priors)
    rate = model.priors.rate("payer_error")
    m, prior = priors.pseudo_count, priors.for_category("payer_error")
    assert rate == pytest.approx((60 + m * prior) / (60 + m))
    assert model.priors.rate("medical_necessity") == priors.for_category("medical_necessity")


def test_fit_is_deterministic(priors):
    past, outcomes = history(400, signal=True, seed=21)
    first = fit_overturn_model(past, outcomes, priors).report
    second = fit_overturn_model(past, outcomes, priors).report
    assert first.as_dict() == second.as_dict()


def test_work_queue_uses_a_given_model_and_reports_it(signal_model):
    rules = load_rules()
    queue, report = build_work_queue(
        denials(denial("A", "payer_error", "CO-100", payer_id="UHCCP"),
                denial("B", "payer_error", "CO-100", payer_id="ACME1")),
        None, None, rules, dt.date(2026, 3, 1), history_model=signal_model,
    )
    assert report is signal_model.report
    p = dict(zip(queue["patient_control_number"], queue["overturn_probability"]))
    assert p["A"] > p["B"]


def test_work_queue_learns_from_history_when_given(priors):
    past, outcomes = history(1000, signal=True, seed=11)
    rules = load_rules()
    _, report = build_work_queue(
        denials(denial("A", "payer_error", "CO-100")), outcomes, None, rules, dt.date(2026, 3, 1), history=past,
    )
    assert report.used == "model" and report.n_decided == 1000


class _Kept:
    """Models kept between runs, in memory (the pipeline keeps them in lake/state)."""

    def __init__(self):
        self.models, self.saved = {}, 0

    def load(self, fingerprint):
        return self.models.get(fingerprint)

    def save(self, fingerprint, model):
        self.models[fingerprint] = model
        self.saved += 1


def test_a_kept_model_is_reused_only_while_its_training_rows_are_unchanged(priors, monkeypatch):
    past, outcomes = history(400, signal=True, seed=5)
    kept = _Kept()
    first = fit_overturn_model(past, outcomes, priors, kept)
    assert kept.saved == 1
    # the same training rows: the kept model, not a second fit (the fit would raise)
    import claimback.routing.overturn as overturn

    def no_fit(*_):
        raise AssertionError("fitted again from unchanged training rows")

    with monkeypatch.context() as patched:
        patched.setattr(overturn, "_fit", no_fit)
        assert fit_overturn_model(past, outcomes, priors, kept) is first
    # one Level I outcome turned: another fingerprint, fitted again, and what a fit from nothing gives
    turned = outcomes.with_columns(outcome=pl.when(pl.int_range(pl.len()) == 0).then(
        pl.when(pl.col("outcome") == "upheld").then(pl.lit("overturned")).otherwise(pl.lit("upheld")))
        .otherwise(pl.col("outcome")))
    refitted = fit_overturn_model(past, turned, priors, kept)
    assert kept.saved == 2 and refitted is not first
    features = overturn.feature_frame(past.head(50), pl.col("first_remit_date") + pl.duration(days=10))
    assert np.array_equal(refitted.predict(features), fit_overturn_model(past, turned, priors).predict(features))
    # a denial the outcomes dispute changes (its amount): fitted again too
    changed = past.with_columns(denied_amount=pl.when(pl.int_range(pl.len()) == 0).then(pl.col("denied_amount") + 1)
                                .otherwise(pl.col("denied_amount")))
    fit_overturn_model(changed, turned, priors, kept)
    assert kept.saved == 3
