"""Deadline arithmetic: anchor event + window days + mail days, and days left before it closes.

Pure calendar-day arithmetic on dates (no datetimes, no time zones), so month ends and leap
days come out right: 2028-01-30 + 30 days is 2028-02-29, and 2028-02-29 + 365 days is
2029-02-28. Every expression works on whole columns.
"""
from __future__ import annotations

import datetime as dt

import polars as pl

# When a window's anchor event is missing on a claim, the nearest later event we do know is used
# (documented per anchor) so the deadline errs late only by the gap between the two events.
ANCHOR_COLUMNS = {
    "original_remit": ("first_remit_date", "remit_date"),
    "latest_remit": ("remit_date",),
    # A Level I outcome inferred from a later 835 has no decision letter date: that 835 is the notice.
    "level1_decision": ("l1_decided_on", "remit_date"),
    "date_of_service": ("service_date", "first_remit_date", "remit_date"),
}

DEFAULT_DECISION_DAYS = 60  # WAC 284-170-440 / 42 CFR 422.590: 60 days to decide a payment dispute


def anchor_date(anchor: pl.Expr) -> pl.Expr:
    """The date the window counts from, chosen per row by the rule's anchor name."""
    expr = pl.lit(None, dtype=pl.Date)
    for name, columns in ANCHOR_COLUMNS.items():
        expr = pl.when(anchor == name).then(pl.coalesce([pl.col(c) for c in columns])).otherwise(expr)
    return expr


def add_days(date: pl.Expr, days: pl.Expr) -> pl.Expr:
    """date + days, calendar days (null when either is null)."""
    return date + pl.duration(days=days)


def days_between(later: pl.Expr, earlier: pl.Expr | dt.date) -> pl.Expr:
    """Whole calendar days from `earlier` to `later` (negative when `later` is before)."""
    earlier_expr = pl.lit(earlier, dtype=pl.Date) if isinstance(earlier, dt.date) else earlier
    return (later - earlier_expr).dt.total_days()


def filing_deadline(anchor: pl.Expr, days: pl.Expr, mail_days: pl.Expr) -> pl.Expr:
    """Last day to file: anchor date + window days + mail days."""
    return add_days(anchor_date(anchor), days + mail_days.fill_null(0))


def combined_deadline(first: pl.Expr, second: pl.Expr, combine: pl.Expr) -> pl.Expr:
    """A window written "the later of A or B" or "the earlier of A or B" (e.g. CareSource Ohio:
    12 months from service or 60 days from the payment/denial, whichever is later).

    Without a second window the first stands; when one side's anchor is unknown the other stands."""
    return (
        pl.when(combine == "later").then(pl.max_horizontal(first, second))
        .when(combine == "earlier").then(pl.min_horizontal(first, second))
        .otherwise(first)
    )
