"""Silent claims: 837 claims the payer never answered, past the time its answer was due.

A claim that never comes back is never worked: no 835 denies it, so no denial rule sees it, and
once the payer's timely-filing limit has passed it cannot even be sent again. Da Vinci's Postable
Remittance guide calls these "silent claims". A claim (claimback.lifecycle's identity: payer ×
practice × patient control number × member × date of service) is silent when

  * no adjudication (835) of the run answers any of its submissions (`lifecycle.match_claims`),
  * no front-door rejection (999 / 277CA, table claim_rejections) of it is still standing: that
    claim is a corrected-claim work item instead,
  * no lonely payment (claimback.lonely) has it as its closest candidate by the same member, payer
    and date of service: the payer most likely paid it under a mistyped claim number, and the
    analyst posts that payment instead of asking for the claim, and
  * its latest submission (a void, frequency 8, ends the claim) was created (GS04, `submitted_on`)
    more than the payer's `status_inquiry_after` days before the as-of date (payer_rules.yaml).

Each is worked on route `claim_status_inquiry` (claimback.routing.unanswered) by the payer's
timely-filing limit counted from the date of service. The member id only keeps two patients'
claims apart here; it is never written out.
"""
from __future__ import annotations

import datetime as dt

import polars as pl

from claimback import lifecycle, schema
from claimback.lonely import REASONS
from claimback.routing.rules import PayerRules
from claimback.routing.unanswered import standing_rejections

# The 837 columns a silent claim is made of (the member id only to keep identities apart).
SUBMITTED_INPUTS = (
    "claim_key", "source_file", "claim_ordinal", "patient_control_number", "payer_name", "payer_id",
    "billing_npi", "billing_tax_id", "subscriber_member_id", "statement_from", "total_charge",
    "frequency_code", "claim_filing_indicator", "submitted_on",
)
_VOID = "8"
IDENTITY = ("_payer", "practice_key", "_pcn", "_member", "service_date")


def with_identity(submitted_claims: pl.DataFrame) -> pl.DataFrame:
    """The 837 claims with their claim identity's columns (`IDENTITY`; underscored ones are internal)."""
    column = lifecycle.column_or_null
    return submitted_claims.with_columns(
        _payer=lifecycle.payer_key(),
        practice_key=lifecycle.provider_key_of(submitted_claims, "billing_npi", "billing_tax_id"),
        _pcn=lifecycle.blank_to_null(pl.col("patient_control_number")),
        _member=lifecycle.identifier(column(submitted_claims, "subscriber_member_id")),
        service_date=pl.col("statement_from"),
    )


def rejected_claims(rejections: pl.DataFrame, submitted: pl.DataFrame) -> pl.DataFrame:
    """The identities (`IDENTITY`) with a front-door rejection still standing.

    By the rejected 837's key when the acknowledgment names one; otherwise (the 837 is not in the
    inbox, or only a 277CA's claim numbers are known) by practice, payer, patient control number
    and date of service: an acknowledgment carries no member id.
    """
    rejections = standing_rejections(rejections)
    by_key = submitted.join(rejections.select(claim_key="submitted_claim_key").drop_nulls(), on="claim_key",
                            how="semi")
    unkeyed = rejections.filter(pl.col("submitted_claim_key").is_null()).select(
        "practice_key", "service_date", _payer=lifecycle.payer_key(),
        _pcn=lifecycle.blank_to_null(pl.col("patient_control_number")),
    )
    by_fields = submitted.join(unkeyed, on=["practice_key", "_payer", "_pcn", "service_date"], how="semi")
    return pl.concat([by_key, by_fields]).select(IDENTITY).unique()


# The lonely-payment candidate rule that makes an 837 answered after all (claimback.lonely).
PAID_UNDER_ANOTHER_NUMBER = REASONS[1]


def silent_claims(
    submitted_claims: pl.DataFrame,
    matches: pl.DataFrame,
    rejections: pl.DataFrame,
    rules: PayerRules,
    as_of: dt.date,
    lonely_candidates: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Table `silent_claims`: one row per silent claim (see the module docstring), its latest submission.

    `submitted_claims` has at least `SUBMITTED_INPUTS`; `matches` is `lifecycle.match_claims` of the
    run's adjudications; `rejections` is table claim_rejections (may be empty or absent columns);
    `lonely_candidates` table lonely_payment_candidates.
    """
    if submitted_claims.height == 0:
        return schema.empty("silent_claims")
    # An 837 created after the as-of date is not yet sent as far as this run knows.
    submitted = with_identity(submitted_claims.filter(pl.col("submitted_on") <= as_of))
    answered_keys = [matches.select(claim_key="submitted_claim_key")]
    if lonely_candidates is not None:
        answered_keys.append(lonely_candidates.filter(
            (pl.col("candidate_rank") == 1) & (pl.col("candidate_reason") == PAID_UNDER_ANOTHER_NUMBER)
        ).select(claim_key="submitted_claim_key"))
    answered = submitted.join(pl.concat(answered_keys), on="claim_key", how="semi")
    unanswered = (
        submitted.join(answered.select(IDENTITY).unique(), on=list(IDENTITY), how="anti", nulls_equal=True)
        .join(rejected_claims(rejections, submitted), on=list(IDENTITY), how="anti", nulls_equal=True)
    )
    latest = (
        unanswered.sort(["submitted_on", "source_file", "claim_ordinal"], nulls_last=False)
        .group_by(IDENTITY, maintain_order=True)
        .agg(pl.all().last(), submission_count=pl.len(), first_submitted_on=pl.col("submitted_on").min())
        .filter(pl.col("frequency_code").fill_null("") != _VOID)
    )
    silent = (
        rules.with_payer_rules(latest)
        .with_columns(
            days_silent=(pl.lit(as_of) - pl.col("submitted_on")).dt.total_days(),
            window_days=pl.col("status_inquiry_after_days"),
            deadline=pl.col("service_date") + pl.duration(days=pl.col("filing_limit_days")),
        )
        .filter(pl.col("days_silent") > pl.col("window_days"))
        .with_columns(
            days_left=(pl.col("deadline") - pl.lit(as_of)).dt.total_days(),
            deadline_confirmed=pl.col("filing_limit_confirmed"),
        )
    )
    return schema.conform(silent.rename({"claim_key": "submitted_claim_key", "total_charge": "billed_amount",
                                         "status_inquiry_source": "window_source"}), "silent_claims").sort(
        "deadline", "submitted_claim_key", nulls_last=True)


# --- a night after a kept run: which claims' silence can change, and the kept rows' dates --------
def turning(rules: PayerRules, since: dt.date, as_of: dt.date) -> pl.Expr:
    """The 837s (by GS04, `submitted_on`) whose silence the as-of date alone can change between
    `since` (the last run's) and `as_of`, with no new file: those sent since (now known as sent),
    and those whose payer's `status_inquiry_after` window ends in between: a claim sent on day s
    is silent once as_of - s > window, so it turns silent tonight when
    since - window <= s <= as_of - window - 1."""
    windows = [rule.status_inquiry_after.days for rule in rules.all_rules() if rule.status_inquiry_after]
    sent = pl.col("submitted_on")
    tonight = (sent > since) & (sent <= as_of)
    if not windows:
        return tonight
    day = dt.timedelta
    return tonight | sent.is_between(since - day(days=max(windows)), as_of - day(days=min(windows) + 1))


def on_as_of(kept: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Kept silent claims on a later as-of date: what they are does not move with the date, their
    days silent and days left do."""
    return schema.conform(kept.with_columns(
        days_silent=(pl.lit(as_of) - pl.col("submitted_on")).dt.total_days(),
        days_left=(pl.col("deadline") - pl.lit(as_of)).dt.total_days(),
    ), "silent_claims")


def of_claims(pcns: pl.Series) -> pl.Expr:
    """The rows (837s or silent claims) of the claim identities with these patient control numbers,
    and of those with none (few; worked out every night rather than followed)."""
    pcn = lifecycle.blank_to_null(pl.col("patient_control_number"))
    return pcn.is_null() | pcn.is_in(pcns.drop_nulls().unique().implode())


def merged(kept: pl.DataFrame, recomputed: pl.DataFrame, pcns: pl.Series, as_of: dt.date) -> pl.DataFrame:
    """Table silent_claims: the kept rows of every claim identity not worked out again (`pcns`),
    on the new as-of date, and the recomputed rows (`silent_claims` of those identities' 837s)."""
    return pl.concat([on_as_of(kept.filter(~of_claims(pcns)), as_of), schema.conform(recomputed, "silent_claims")]
                     ).sort("deadline", "submitted_claim_key", nulls_last=True)
