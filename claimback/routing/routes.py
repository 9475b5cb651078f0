"""Which route each denial takes, and why, as Polars expressions over one frame of denials.

Two steps, both column expressions so a million denials route in one pass:

1. `category_route` — what the denial itself calls for, from its root-cause category and codes
   (domain-brief §2 and §3.5): the provider's own data error → corrected claim (frequency 7 with
   the payer's claim number, or a NEW frequency-1 claim when the original was unprocessable);
   billed right but processed wrong → Level I reconsideration; clinical/authorization → clinical
   appeal; another payer responsible → rebill that payer.
2. `history_route` — what the claim's history overrides, in this explicit precedence:

       resolved  >  trend_report  >  Level II (after an unsatisfactory Level I)
                 >  Level I already filed (awaiting the payer)  >  category route

   `expired` is decided afterwards (see `queue`), once the chosen route's window is known:
   any route that still needs a filing becomes `expired` when its window has closed.

The frame these expect is made by `queue.prepare_denials` (the Level I/II state columns
`l1_*`/`l2_*`, `trend_cluster_id`, `is_resolved`, the payer rule's `denied_claim_resubmission`).
"""
from __future__ import annotations

import polars as pl

# The route whose filing window applies (trend reports ride on the Level I window: the trend form
# is a reconsideration of many claims at once).
RULE_LEVEL = {
    "trend_report": "level1",
    "corrected_claim": "corrected_claim",
    "level1_reconsideration": "level1",
    "level2_dispute": "level2",
    "clinical_appeal": "clinical_appeal",
    "rebill_other_payer": "rebill_other_payer",
}

# Categories whose fix is the provider's own claim data (domain-brief §2 "When to correct").
PROVIDER_DATA_CATEGORIES = (
    "eligibility_registration",
    "coding_bundling",
    "missing_information",
    "network_credentialing",
)

UNSATISFACTORY = ("upheld", "partial")

_CATEGORY_ROUTE = {
    "eligibility_registration": "corrected_claim",
    "coding_bundling": "corrected_claim",
    "missing_information": "corrected_claim",
    "network_credentialing": "corrected_claim",
    "payer_error": "level1_reconsideration",
    "contractual_underpayment": "level1_reconsideration",
    "timely_filing": "level1_reconsideration",
    "non_covered_benefit_limit": "level1_reconsideration",
    "medical_necessity": "clinical_appeal",
    "wrong_payer_cob": "rebill_other_payer",
}

_CATEGORY_WHAT = {
    "eligibility_registration": "Registration/eligibility denial",
    "coding_bundling": "Coding denial",
    "missing_information": "Missing or invalid claim information",
    "network_credentialing": "Provider enrollment/credentialing denial",
}

_CATEGORY_FIX = {
    "eligibility_registration": "correct the member's ID, demographics or coverage",
    "coding_bundling": "fix the procedure code, modifier, units or diagnosis",
    "missing_information": "add the missing data or records the payer asked for",
    "network_credentialing": "fix the provider's NPI/enrollment data",
}

_FILING_ROUTES = tuple(RULE_LEVEL)


def _codes(primary: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit(" ("), primary.fill_null("no code"), pl.lit(")"))


def new_claim_why() -> pl.Expr:
    """Why a corrected claim must be a NEW claim (frequency 1) rather than a replacement, or null.

    MA130 says "unprocessable ... submit a new claim"; CLP02=4 means the patient was not found;
    without a payer claim number a replacement cannot point at the original; and some payers
    reject a replacement of a fully denied claim (payer rule `denied_claim_resubmission`).
    """
    return (
        pl.when(pl.col("remark_codes").list.contains("MA130").fill_null(False))
        .then(pl.lit("the payer marked the original unprocessable (MA130), so there is nothing to replace"))
        .when((pl.col("claim_status_code") == "4").fill_null(False))
        .then(pl.lit("the payer did not find the patient (CLP02=4), so there is nothing to replace"))
        .when(pl.col("payer_claim_control_number").is_null())
        .then(pl.lit("there is no payer claim number for a replacement to point at"))
        .when(((pl.col("denied_claim_resubmission") == "new_claim") & (pl.col("denial_level") == "claim")).fill_null(False))
        .then(pl.lit("this payer takes a new claim, not a replacement, for a fully denied claim"))
    )


def _corrected(what: pl.Expr, fix: pl.Expr) -> pl.Expr:
    start = pl.concat_str(what, _codes(pl.col("primary_reason")), pl.lit(": "), fix)
    replacement = pl.concat_str(
        start,
        pl.lit(" and send a corrected claim (frequency 7) with payer claim number "),
        pl.col("payer_claim_control_number"),
        pl.lit(" in REF*F8."),
    )
    new_claim = pl.concat_str(start, pl.lit(" and send a NEW claim (frequency 1): "), new_claim_why(), pl.lit("."))
    return pl.when(new_claim_why().is_not_null()).then(new_claim).otherwise(replacement)


def category_route(frame: pl.DataFrame) -> pl.DataFrame:
    """Add `category_route`, `category_reason` and `claim_frequency_to_send` from each denial's codes."""
    category = pl.col("category").fill_null("unknown")
    primary = pl.col("primary_reason")
    has_auth = pl.col("prior_authorization").is_not_null() & (pl.col("prior_authorization").str.strip_chars() != "")
    resent_as_replacement = pl.col("frequency_code").is_in(["7", "8"]).fill_null(False)
    has_837 = pl.col("submitted_claim_key").is_not_null()

    suggested = pl.col("suggested_route")
    fallback_route = (
        pl.when(suggested.is_in(list(_CATEGORY_ROUTE.values()))).then(suggested).otherwise(pl.lit("level1_reconsideration"))
    )

    route = (
        pl.when(category == "duplicate")
        .then(pl.when(resent_as_replacement).then(pl.lit("level1_reconsideration")).otherwise(pl.lit("corrected_claim")))
        .when(category == "authorization")
        .then(pl.when(has_auth).then(pl.lit("level1_reconsideration")).otherwise(pl.lit("clinical_appeal")))
        .when(category.is_in(list(_CATEGORY_ROUTE)))
        .then(category.replace_strict(_CATEGORY_ROUTE, default=None))
        .otherwise(fallback_route)
    )

    what = category.replace_strict(_CATEGORY_WHAT, default="Denial")
    fix = category.replace_strict(_CATEGORY_FIX, default="fix the claim")
    timely_with_proof = pl.concat_str(
        pl.lit("Timely-filing denial"), _codes(primary),
        pl.lit(" but our 837 is on file: file a Level I reconsideration with the clearinghouse "
               "acceptance report as proof of timely submission."),
    )
    timely_without_proof = pl.concat_str(
        pl.lit("Timely-filing denial"), _codes(primary),
        pl.lit(" and no 837 on file to prove timely submission: find the clearinghouse acceptance "
               "report and file a Level I reconsideration, otherwise write it off."),
    )
    reason = (
        pl.when(category == "duplicate")
        .then(
            pl.when(resent_as_replacement)
            .then(pl.concat_str(pl.lit("Denied as a duplicate"), _codes(primary),
                                pl.lit(" although it was sent as a replacement (frequency 7/8): the payer "
                                       "processed it wrong; file a Level I reconsideration.")))
            .otherwise(_corrected(pl.lit("Denied as a duplicate"),
                                  pl.lit("if this was a resubmission it should have been a replacement;")))
        )
        .when(category == "authorization")
        .then(
            pl.when(has_auth)
            .then(pl.concat_str(pl.lit("Authorization denial"), _codes(primary),
                                pl.lit(" although authorization "), pl.col("prior_authorization"),
                                pl.lit(" was on the claim: file a Level I reconsideration with the authorization.")))
            .otherwise(pl.concat_str(pl.lit("Authorization absent or denied"), _codes(primary),
                                     pl.lit(": request retro-authorization or file a clinical/authorization "
                                            "appeal with the medical records.")))
        )
        .when(category.is_in(list(PROVIDER_DATA_CATEGORIES)))
        .then(_corrected(what, fix))
        .when(category == "payer_error")
        .then(pl.concat_str(pl.lit("Payer processing error"), _codes(primary),
                            pl.lit(": the claim was billed correctly; file a Level I reconsideration.")))
        .when(category == "contractual_underpayment")
        .then(pl.concat_str(pl.lit("Paid below the contracted rate"), _codes(primary),
                            pl.lit(": file a Level I reconsideration citing the contract rate.")))
        .when(category == "timely_filing")
        .then(pl.when(has_837).then(timely_with_proof).otherwise(timely_without_proof))
        .when(category == "non_covered_benefit_limit")
        .then(pl.concat_str(pl.lit("Denied as not covered"), _codes(primary),
                            pl.lit(": if the member's plan covers the service, file a Level I reconsideration "
                                   "with the benefit evidence; otherwise bill the patient only with a signed waiver.")))
        .when(category == "medical_necessity")
        .then(pl.concat_str(pl.lit("Medical necessity denial"), _codes(primary),
                            pl.lit(": clinical appeal with the medical records (peer-to-peer first when offered).")))
        .when(category == "wrong_payer_cob")
        .then(pl.concat_str(pl.lit("Another payer is primary or responsible"), _codes(primary),
                            pl.lit(": bill the correct payer (with this EOB when billing as secondary).")))
        .otherwise(pl.concat_str(pl.lit("Denial"), _codes(primary), pl.lit(" in category '"), category,
                                 pl.lit("' has no routing rule: review the remit; routed to "), route,
                                 pl.lit(".")))
    )
    frequency = (
        pl.when(route == "corrected_claim")
        .then(pl.when(new_claim_why().is_not_null()).then(pl.lit("1")).otherwise(pl.lit("7")))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    return frame.with_columns(
        category_route=route, category_reason=reason, claim_frequency_to_send=frequency
    )


def history_route(frame: pl.DataFrame) -> pl.DataFrame:
    """Add `route`, `reason`, `rule_level`, `awaiting_payer`, `appeals_exhausted` from claim history.

    Level II is only ever chosen after a Level I that came back upheld or partial (or an
    "overturned" Level I the payer then re-denied on a later 835); a Level II row in the log
    without a Level I is ignored for routing and flagged in the reason.
    """
    l1 = pl.col("l1_outcome")
    l2 = pl.col("l2_outcome")
    has_l1 = pl.col("l1_submitted_on").is_not_null() | l1.is_not_null()
    has_l2 = has_l1 & (pl.col("l2_submitted_on").is_not_null() | l2.is_not_null())
    redenied_after_l1 = (
        (l1 == "overturned") & pl.col("l1_decided_on").is_not_null() & (pl.col("remit_date") > pl.col("l1_decided_on"))
    ).fill_null(False)
    l1_overturned_unpaid = ((l1 == "overturned") & ~redenied_after_l1).fill_null(False)
    l1_unsatisfactory = (l1.is_in(UNSATISFACTORY).fill_null(False) | redenied_after_l1)
    in_trend = pl.col("trend_cluster_id").is_not_null()
    decided_on = pl.col("l1_decided_on").cast(pl.String).fill_null("an unknown date")
    l1_how = pl.concat_str(pl.lit(" ("), pl.col("l1_outcome_source").fill_null("logged"), pl.lit(")"))
    ref = pl.concat_str(pl.lit(", ref "), pl.col("l1_reference")).fill_null("")
    ref2 = pl.concat_str(pl.lit(", ref "), pl.col("l2_reference")).fill_null("")
    orphan_l2 = (~has_l1 & (pl.col("l2_submitted_on").is_not_null() | l2.is_not_null())).fill_null(False)

    route = (
        pl.when(pl.col("is_resolved")).then(pl.lit("resolved"))
        .when(has_l2 & (l2 == "overturned")).then(pl.lit("resolved"))
        .when(l1_overturned_unpaid & ~has_l2).then(pl.lit("resolved"))
        .when(in_trend).then(pl.lit("trend_report"))
        .when(has_l2).then(pl.lit("level2_dispute"))
        .when(l1_unsatisfactory).then(pl.lit("level2_dispute"))
        .when(has_l1 & ((l1 == "pending") | l1.is_null())).then(pl.lit("level1_reconsideration"))
        .otherwise(pl.col("category_route"))
    )
    awaiting = (
        pl.when(pl.col("is_resolved") | in_trend).then(False)
        .when(has_l2).then((l2 == "pending") | l2.is_null())
        .when(l1_unsatisfactory | l1_overturned_unpaid).then(False)
        .otherwise(has_l1 & ((l1 == "pending") | l1.is_null()))
    ).fill_null(False)
    exhausted = (~pl.col("is_resolved") & ~in_trend & has_l2 & l2.is_in(UNSATISFACTORY)).fill_null(False)

    reason = (
        pl.when(pl.col("is_resolved"))
        .then(pl.concat_str(pl.lit("Denied earlier and now paid: recovered "),
                            pl.col("recovered_amount").cast(pl.String).fill_null("an unknown amount"),
                            pl.lit(".")))
        .when(has_l2 & (l2 == "overturned"))
        .then(pl.concat_str(pl.lit("Level II dispute overturned"), ref2, pl.lit("; watch for the payment on an 835.")))
        .when(l1_overturned_unpaid & ~has_l2)
        .then(pl.concat_str(pl.lit("Level I overturned on "), decided_on, l1_how, ref,
                            pl.lit("; payment not yet seen on an 835: watch for it.")))
        .when(in_trend)
        .then(pl.concat_str(pl.lit("Member of flagged trend "), pl.col("trend_cluster_id"),
                            pl.lit(" at this payer: report the whole cluster on one Claim Trend Identification "
                                   "form (one example claim + description) instead of one appeal per claim. "
                                   "Underlying denial: "), pl.col("category_reason")))
        .when(has_l2 & l2.is_in(UNSATISFACTORY))
        .then(pl.concat_str(pl.lit("Level II dispute came back "), l2, ref2,
                            pl.lit(": the payer's dispute process is exhausted; escalate through the contract, "
                                   "the state regulator or a fair hearing if the amount warrants it.")))
        .when(has_l2)
        .then(pl.concat_str(pl.lit("Level II dispute filed on "), pl.col("l2_submitted_on").cast(pl.String).fill_null("?"),
                            ref2, pl.lit(": awaiting the payer's decision; chase it if overdue.")))
        .when(redenied_after_l1)
        .then(pl.concat_str(pl.lit("Level I was overturned on "), decided_on, ref,
                            pl.lit(" but a later 835 still denies the claim: file a Level II claim dispute.")))
        .when(l1_unsatisfactory)
        .then(pl.concat_str(pl.lit("Level I came back "), l1, l1_how, pl.lit(" on "), decided_on, ref,
                            pl.lit(": file a Level II claim dispute with the Level I decision letter.")))
        .when(has_l1)
        .then(pl.concat_str(pl.lit("Level I reconsideration filed on "),
                            pl.col("l1_submitted_on").cast(pl.String).fill_null("?"), ref,
                            pl.lit(": awaiting the payer's decision; chase it if overdue.")))
        .otherwise(pl.col("category_reason"))
    )
    reason = pl.when(orphan_l2).then(
        pl.concat_str(reason, pl.lit(" (The log has a Level II for this claim but no Level I: check the log.)"))
    ).otherwise(reason)
    return frame.with_columns(
        route=route,
        reason=reason,
        awaiting_payer=awaiting,
        appeals_exhausted=exhausted,
        claim_frequency_to_send=pl.when(route == "corrected_claim").then(pl.col("claim_frequency_to_send")),
    ).with_columns(rule_level=pl.col("route").replace_strict(RULE_LEVEL, default=None))


def needs_filing() -> pl.Expr:
    """Rows whose route still needs something filed before a window closes (these can expire)."""
    return pl.col("route").is_in(list(_FILING_ROUTES)) & ~pl.col("awaiting_payer") & ~pl.col("appeals_exhausted")
