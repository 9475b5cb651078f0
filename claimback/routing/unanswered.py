"""Work-queue rows for claims the payer has not answered: silent claims, claims rejected at the
front door, and requests whose decision is overdue.

None of them is a denial, so the denial routes never see them, yet each loses money if nobody acts:

* a silent claim (claimback.silent: an 837 with no 835 past the payer's processing window) is a
  `claim_status_inquiry`: ask the payer whether it has the claim, and resend it if not;
* a claim rejected by a 999 or 277CA and not sent again successfully is a `corrected_claim`: the
  payer never accepted it, so it is fixed and sent as a new claim (frequency 1, nothing to replace);
* a Level I / Level II request the payer has not decided by its `decision_days` is already an
  `awaiting_payer` row past its due date: it gets the payer's channel to chase it
  (`follow_up_channel`) and a reason that says so (`follow_ups`).

The first two are due by the payer's timely-filing limit counted from the date of service (after
it a lost or rejected claim cannot be sent again). Their priority is the queue's formula (value per
analyst hour × urgency), with the route's prior (code registry) as the share recovered.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from claimback.codes import registry as R
from claimback.routing import deadlines
from claimback.routing.queue import route_hours, urgency_of
from claimback.routing.rules import PayerRules
from claimback.schema import conform, empty

SILENT_CATEGORY = "silent_claim"
REJECTED_CATEGORY = "front_door_rejection"
_FOLLOWED_UP = (R.LEVEL1, R.LEVEL2)  # requests we filed; a crossover's remit is another payer's


# How to ask the payer of a payer rule about a claim (claimback.forms.channels' `status` channel:
# forms reads routing, so the caller hands it in).
StatusChannel = Callable[[str | None], str]


def status_channel_of(payer_rules: pl.Series, status_channel: StatusChannel) -> pl.Expr:
    """How to ask the payer of each row's `payer_rule` about a claim (null without one), for rows
    whose payer rule is one of `payer_rules`: a lookup of the few rules, not a join, which would
    copy every column of the rows."""
    rules = payer_rules.drop_nulls().unique().to_list()
    return pl.col("payer_rule").replace_strict({rule: status_channel(rule) for rule in rules}, default=None,
                                               return_dtype=pl.String)


def _worked(frame: pl.DataFrame, route: str, amount: str, as_of: dt.date) -> pl.DataFrame:
    """Deadline columns, expected recovery and priority of rows due by the filing limit."""
    prior = R.registry().routes[route].prior or 0.0
    expected = pl.col(amount).cast(pl.Float64).fill_null(0) * prior
    hours = route_hours(pl.lit(route))
    frame = frame.with_columns(
        deadline=deadlines.add_days(pl.col("service_date"), pl.col("filing_limit_days")),
    ).with_columns(days_left=deadlines.days_between(pl.col("deadline"), as_of))
    return frame.with_columns(
        route=pl.lit(route),
        denied_amount=pl.col(amount),
        analyst_hours=hours,
        overturn_probability=pl.lit(prior),
        expected_recovery=expected.round(2).cast(pl.Decimal(12, 2)),
        # a passed limit still counts as URGENCY_DAYS away: our 837 went out in time, and the
        # acceptance report is the proof of timely filing most payers take
        priority=(expected / pl.max_horizontal(hours, pl.lit(0.1)) * urgency_of(pl.col("days_left"))).round(4),
        window_anchor=pl.lit("date_of_service"),
        anchor_date=pl.col("service_date"),
        rule_source=pl.col("filing_limit_source"),
        deadline_confirmed=pl.col("filing_limit_confirmed"),
        rule_confirmed=pl.col("filing_limit_confirmed"),
        awaiting_payer=pl.lit(False),
        appeals_exhausted=pl.lit(False),
    )


def _limit_words() -> pl.Expr:
    """", the payer's timely-filing limit (365 days from the date of service[, a default: verify it])"."""
    return pl.concat_str(
        pl.lit(", the payer's timely-filing limit ("), pl.col("filing_limit_days").cast(pl.String),
        pl.lit(" days from the date of service "), pl.col("service_date").cast(pl.String),
        pl.when(pl.col("filing_limit_confirmed")).then(pl.lit(")"))
        .otherwise(pl.lit("; a default or unconfirmed limit: verify it with the payer)")),
    )


# The columns of table silent_claims a queue row is made of; the rest (the payer window's source
# text, the 837's file: 0.6 GB of 1.5 M silent claims) is not read for the queue.
SILENT_INPUTS = ("submitted_claim_key", "payer_name", "payer_id", "patient_control_number", "payer_rule",
                 "service_date", "billed_amount", "submission_count", "submitted_on", "days_silent", "window_days",
                 "filing_limit_days", "filing_limit_source", "deadline_confirmed")


# What a silent claim's reason and evidence print.
_TEXT_INPUTS = ("submitted_on", "days_silent", "window_days", "submission_count", "deadline", "days_left",
                "filing_limit_days", "service_date", "filing_limit_confirmed")


def silent_claim_queue(silent: pl.DataFrame, rules: PayerRules, as_of: dt.date,
                       status_channel: StatusChannel) -> pl.DataFrame:
    """One work_queue row per silent claim (table silent_claims, its SILENT_INPUTS), route
    `claim_status_inquiry`."""
    if silent.height == 0:
        return empty("work_queue")
    frame = _worked(silent.select(SILENT_INPUTS).rename({"deadline_confirmed": "filing_limit_confirmed"}),
                    R.CLAIM_STATUS_INQUIRY, "billed_amount", as_of)
    frame = frame.with_columns(follow_up_channel=status_channel_of(frame["payer_rule"], status_channel))
    past = (pl.col("days_left") < 0).fill_null(False)
    # The texts are worked out once per distinct set of the values they print (2.5 M silent claims
    # of a 10 M-claim history: 12 k reasons), then joined: 0.75 s instead of 1.6.
    texts = frame.select(_TEXT_INPUTS).unique().with_columns(
        evidence=pl.struct(
            rule=pl.lit("silent_claim"), submitted_on=pl.col("submitted_on").cast(pl.String),
            days_silent=pl.col("days_silent"), window_days=pl.col("window_days"),
            submissions=pl.col("submission_count"),
        ).struct.json_encode(),
        reason=pl.concat_str(
            pl.lit("837 sent "), pl.col("submitted_on").cast(pl.String), pl.lit(", no 835 after "),
            pl.col("days_silent").cast(pl.String), pl.lit(" days; the payer's window is "),
            pl.col("window_days").cast(pl.String), pl.lit(" days. "),
            pl.when(past).then(pl.concat_str(
                pl.lit("The limit to send it again closed on "), pl.col("deadline").cast(pl.String), _limit_words(),
                pl.lit(": ask the payer for its status, and if it never arrived, resend it with the clearinghouse "
                       "acceptance report as proof of timely filing.")))
            .otherwise(pl.concat_str(
                pl.lit("Ask the payer for the claim's status; if it never arrived, send it again by "),
                pl.col("deadline").cast(pl.String), _limit_words(), pl.lit("."))),
        ),
    )
    frame = frame.join(texts, on=_TEXT_INPUTS, how="left", nulls_equal=True, maintain_order="left").with_columns(
        claim_key=pl.col("submitted_claim_key"),
        category=pl.lit(SILENT_CATEGORY),
        payer_rules_version=pl.lit(rules.version, dtype=pl.String),
    )
    return conform(frame, "work_queue")


def standing_rejections(rejections: pl.DataFrame) -> pl.DataFrame:
    """The rows of table claim_rejections (claimback.rejections) still standing: no later accepted 837
    or 835; unknown counts as standing, since a rejection nobody works loses the claim."""
    if rejections.height == 0:  # literals on a frame without columns would make one row of nulls
        return empty("claim_rejections")
    return conform(rejections, "claim_rejections").filter(pl.col("still_rejected").fill_null(True))


def rejection_queue(rejections: pl.DataFrame, rules: PayerRules, as_of: dt.date) -> pl.DataFrame:
    """One `corrected_claim` work_queue row per claim still rejected at the front door (999 / 277CA)."""
    # A claim rejected again after a resend is one work item: its latest rejection.
    claim = ["practice_key", "payer_id", "payer_name", "patient_control_number", "service_date"]
    rejected = (
        standing_rejections(rejections)
        .sort("rejected_on", "source_file", nulls_last=False)
        .unique(claim, keep="last", maintain_order=True)
    )
    if rejected.height == 0:
        return empty("work_queue")
    payers = rules.payers_frame(rejected.select("payer_id", "payer_name"))
    frame = _worked(rejected.join(payers, on=["payer_id", "payer_name"], how="left", nulls_equal=True),
                    R.CORRECTED_CLAIM, "billed_amount", as_of)
    codes = pl.col("status_codes").list.join(", ")
    where = pl.concat_str(pl.lit(" at "), pl.col("error_location")).fill_null("")
    frame = frame.with_columns(
        # the 837's key when the inbox has it; else the acknowledgment's row that rejected it
        claim_key=pl.coalesce("submitted_claim_key", "acknowledgment_key"),
        category=pl.lit(REJECTED_CATEGORY),
        # the most specific code: a 999 names the set, then the segment, then the element (IK403)
        primary_reason=pl.col("status_codes").list.last(),
        claim_frequency_to_send=pl.lit("1"),
        payer_rules_version=pl.lit(rules.version, dtype=pl.String),
        evidence=pl.struct(
            rule=pl.lit("front_door_rejection"), acknowledgment=pl.col("acknowledgment"),
            rejected_on=pl.col("rejected_on").cast(pl.String), status_codes=pl.col("status_codes"),
            error_location=pl.col("error_location"), source_file=pl.col("source_file"),
        ).struct.json_encode(),
        reason=pl.concat_str(
            pl.lit("Rejected at the payer's front door: the "), pl.col("acknowledgment").fill_null("acknowledgment"),
            pl.lit(" of "), pl.col("rejected_on").cast(pl.String).fill_null("an unknown date"), pl.lit(" says "),
            codes.fill_null("no status code"), where, pl.lit(" ("), pl.col("reason").fill_null("no reason given"),
            pl.lit("). The payer never accepted the claim: fix it and send it as a new claim (frequency 1) "),
            pl.when(pl.col("anchor_date").is_null()).then(pl.concat_str(
                pl.lit("now. Its 837 is not in the inbox, so its date of service, and with it the payer's "
                       "timely-filing deadline, is unknown: find claim "),
                pl.col("patient_control_number").fill_null("(no patient control number)"),
                pl.lit(" in the billing system; the row gets its deadline when the 837 reaches the inbox."),
            )).otherwise(pl.concat_str(
                pl.lit("by "), pl.col("deadline").cast(pl.String).fill_null("the payer's deadline"),
                _limit_words(), pl.lit("."))),
        ),
    )
    return conform(frame, "work_queue")


def window_unknown() -> pl.Expr:
    """Front-door rejections with no date of service: an acknowledgment (a 999 naming the claim in
    its CTX, a 277CA without DTP*472) whose 837 is not in the inbox. Their filing window cannot be
    counted, so they are the one kind of row still to file that has no deadline."""
    return (pl.col("category") == REJECTED_CATEGORY) & pl.col("anchor_date").is_null()


def follow_ups(queue: pl.DataFrame, status_channel: StatusChannel) -> pl.DataFrame:
    """The queue with each overdue request (filed, no decision by the payer's `decision_days`) made a
    follow-up: how to chase the payer in `follow_up_channel`, and a reason that starts with it."""
    overdue = (pl.col("awaiting_payer").fill_null(False) & (pl.col("days_left") < 0).fill_null(False)
               & pl.col("route").is_in(list(_FOLLOWED_UP)))
    rules = queue.filter(overdue)["payer_rule"]
    if rules.len() == 0:
        return queue
    chase = status_channel_of(rules, status_channel)
    return queue.with_columns(
        follow_up_channel=pl.when(overdue).then(chase).otherwise(pl.col("follow_up_channel")),
        reason=pl.when(overdue).then(pl.concat_str(
            pl.lit("Payer decision overdue: it was due "), pl.col("deadline").cast(pl.String), pl.lit(", "),
            (-pl.col("days_left")).cast(pl.String), pl.lit(" days ago. Chase it: "), chase,
            pl.lit(" "), pl.col("reason"),
        )).otherwise(pl.col("reason")),
    )
