"""Work-queue rows for recoupments: payments a payer took back (a bare reversal) and never paid again.

They are not denials (nothing on the remit denies), so the denial routes do not see them; an
analyst must still find out whether a replacement is due and, when the take-back is unjustified,
dispute it within the payer's Level I window, counted from the reversal's remit date. Priority
follows the queue's formula (value per analyst hour × urgency) with the `payer_error` overturn
prior: a take-back without a new adjudication is most often the payer's processing step left
half done.
"""
from __future__ import annotations

import datetime as dt

import polars as pl

from claimback.routing import deadlines
from claimback.routing.queue import route_hours, urgency_of
from claimback.routing.rules import PayerRules
from claimback.schema import conform

ROUTE = "recoupment"
_PRIOR_CATEGORY = "payer_error"


def recoupment_queue(recoupments: pl.DataFrame, rules: PayerRules, as_of: dt.date) -> pl.DataFrame:
    """One work_queue row per recoupment (claimback.denials.recoupments), route `recoupment`."""
    if recoupments.height == 0:
        return conform(pl.DataFrame(), "work_queue")
    payers = rules.payers_frame(recoupments.select("payer_id", "payer_name"))
    windows = rules.windows_frame().filter(pl.col("rule_level") == "level1")
    prior = rules.overturn_priors.for_category(_PRIOR_CATEGORY)
    frame = (
        recoupments.join(payers, on=["payer_id", "payer_name"], how="left", nulls_equal=True)
        .join(windows, on="payer_rule", how="left")
        .with_columns(
            deadline=deadlines.add_days(pl.col("reversed_on"), pl.col("window_days") + pl.col("mail_days").fill_null(0)),
        )
        .with_columns(days_left=deadlines.days_between(pl.col("deadline"), as_of))
    )
    expected = pl.col("recouped_amount").cast(pl.Float64) * prior
    hours = route_hours(pl.lit(ROUTE))
    open_window = (pl.col("days_left") >= 0).fill_null(False)
    frame = frame.with_columns(
        route=pl.lit(ROUTE),
        analyst_hours=hours,
        deadline_confirmed=pl.col("rule_confirmed").fill_null(False),
        evidence=pl.struct(rule=pl.lit(ROUTE), reversed_on=pl.col("reversed_on").cast(pl.String),
                           days_without_replacement=pl.col("days_without_replacement")).struct.json_encode(),
        denied_amount=pl.col("recouped_amount"),
        category=pl.lit("recoupment"),
        primary_reason=pl.lit("CLP02-22"),
        overturn_probability=pl.lit(prior),
        expected_recovery=expected.round(2).cast(pl.Decimal(12, 2)),
        priority=pl.when(open_window)
        .then((expected / pl.max_horizontal(hours, pl.lit(0.1)) * urgency_of(pl.col("days_left"))).round(4))
        .otherwise(pl.lit(0.0)),
        window_anchor=pl.lit("reversal_remit"),
        anchor_date=pl.col("reversed_on"),
        payer_rules_version=pl.lit(rules.version, dtype=pl.String),
        reason=pl.format(
            "Payment of {} taken back on {} (CLP02 22 reversal of payer claim {}) and no new adjudication "
            "in {} days: ask the payer whether a replacement is coming; if the take-back is not justified, "
            "file a Level I reconsideration by {}.",
            pl.col("recouped_amount"), pl.col("reversed_on"), pl.col("payer_claim_control_number").fill_null("-"),
            pl.col("days_without_replacement"), pl.col("deadline").cast(pl.String).fill_null("the payer's deadline"),
        ),
    )
    return conform(frame, "work_queue")
