"""Learning from the adjudications: Level I wins that were paid are still in the training history."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from claimback.routing import fit_overturn_model, load_rules
from claimback.routing.history import carc_category, denial_history

from .test_overturn import CATEGORY_EFFECT, PAYER_EFFECT, history

CARC_OF = {"payer_error": "CO-133", "contractual_underpayment": "CO-45", "authorization": "CO-197",
           "medical_necessity": "CO-50", "timely_filing": "CO-29", "coding_bundling": "CO-4"}


def adjudications(n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each claim: a first denial, then a later adjudication that pays (Level I won) or denies again."""
    past, outcomes = history(n, signal=True, seed=seed)
    won = outcomes["outcome"] == "overturned"
    first = past.select(
        "patient_control_number", "payer_id", "payer_name", "remit_date", "denied_amount",
        claim_id=pl.col("patient_control_number"), adjudication_seq=pl.lit(1), is_denied=pl.lit(True),
        primary_reason=pl.col("category").replace_strict(CARC_OF),
    )
    later = first.with_columns(
        adjudication_seq=pl.lit(2),
        remit_date=outcomes["submitted_on"] + pl.duration(days=30),
        is_denied=~won,
        denied_amount=pl.when(won).then(0.0).otherwise(pl.col("denied_amount")),
        primary_reason=pl.when(won).then(None).otherwise(pl.col("primary_reason")),
    )
    return pl.concat([later, first]), outcomes


def test_carc_category_splits_group_and_code():
    got = carc_category(pl.Series(["CO-197", "PR-96", "OA-18", None, "XX"])).to_list()
    assert got == ["authorization", "non_covered_benefit_limit", "duplicate", "unknown", "unknown"]


def test_denial_history_takes_each_claims_first_denial():
    adj, _ = adjudications(50, seed=4)
    hist = denial_history(adj)
    assert hist.height == 50 and hist["patient_control_number"].n_unique() == 50
    first = adj.filter(pl.col("adjudication_seq") == 1).sort("patient_control_number")
    hist = hist.sort("patient_control_number")
    assert hist["first_remit_date"].to_list() == first["remit_date"].to_list()
    assert set(hist["category"]) <= set(CATEGORY_EFFECT)


@pytest.fixture(scope="module")
def learned():
    adj, outcomes = adjudications(1000, seed=11)
    return adj, outcomes, fit_overturn_model(adj, outcomes, load_rules().overturn_priors)


def test_learning_from_adjudications_keeps_the_wins(learned):
    priors = load_rules().overturn_priors
    adj, outcomes, model = learned
    assert model.report.history_source == "adjudications"
    assert model.report.n_decided == 1000
    assert model.report.used == "model", model.report.reason
    # The claims still denied today are the Level I losers only: nothing to learn from them.
    still_denied = denial_history(adj.filter(pl.col("adjudication_seq") == 2))
    losers_only = fit_overturn_model(still_denied.with_columns(remark_codes=pl.lit(None, dtype=pl.List(pl.String))),
                                     outcomes, priors)
    assert losers_only.report.used == "priors" and losers_only.report.n_decided < 1000


def test_features_missing_from_history_cannot_move_the_score(learned):
    model = learned[2]
    assert model.pinned.get("has_remarks") == 0.0 and model.pinned.get("denial_level") == "unknown"
    row = {"category": "medical_necessity", "primary_carc": "CO-133", "payer": "UHCCP", "denial_level": "claim",
           "log_denied_amount": 5.0, "days_to_file": 20.0, "has_remarks": 1.0, "reason_code_count": 3.0}
    scored = model.predict(pl.DataFrame([row, {**row, "has_remarks": 0.0, "denial_level": "line"}]))
    assert scored[0] == pytest.approx(scored[1])
    # The category is re-derived from the CARC the way the history was: CO-133 is a payer error.
    as_payer_error = model.predict(pl.DataFrame([{**row, "category": "payer_error"}]))
    assert scored[0] == pytest.approx(as_payer_error[0])
    assert np.all((scored > 0) & (scored < 1))
