"""Which route each denial takes, and why, as Polars expressions over one frame of denials.

Two steps, both column expressions so a million denials route in one pass:

1. `category_route` — what the denial itself calls for: first the evidence rules
   (`evidence.RULES`: paid twin, authorization or referral on the 837, COB loops, 837 date vs
   filing limit, forwarded claims), then the code registry (`claimback.codes.registry`): a remark
   code that refines the decision, the group code (PR: bill the patient), the CARC's own route,
   else the category's default route.
2. `history_route` — what the claim's history overrides, in this explicit precedence:

       resolved  >  trend_report  >  Level II (after an unsatisfactory Level I)
                 >  Level I already filed (awaiting the payer)  >  category route

   `expired` is decided afterwards (see `queue`), once the chosen route's window is known:
   a route that still needs a filing becomes `expired` only when a CONFIRMED window has closed.

The frame these expect is made by `queue.prepare_denials` (the Level I/II state columns
`l1_*`/`l2_*`, `trend_cluster_id`, `is_resolved`, the payer rule's `denied_claim_resubmission`).
"""
from __future__ import annotations

import re

import polars as pl

from claimback.codes import registry as R
from claimback.routing import evidence

# The payer-rule level whose filing window applies to each route that files something (trend
# reports ride on the Level I window: the trend form is a reconsideration of many claims at once).
RULE_LEVEL = R.filing_routes()

UNSATISFACTORY = ("upheld", "partial")

_FILING_ROUTES = tuple(RULE_LEVEL)


def _template(text: str, remark: str | None = None) -> pl.Expr:
    """A registry reason with `{code}` (the denial's group-CARC) and `{remark}` filled in."""
    parts: list[pl.Expr] = []
    for piece in re.split(r"(\{code\}|\{remark\})", text):
        if piece == "{code}":
            parts.append(pl.col("primary_reason").fill_null("no code"))
        elif piece == "{remark}":
            parts.append(pl.lit(remark or ""))
        elif piece:
            parts.append(pl.lit(piece))
    return pl.concat_str(parts)


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


def _corrected_tail() -> pl.Expr:
    """How a corrected claim is sent: a replacement pointing at the payer's claim, or a new claim."""
    replacement = pl.concat_str(
        pl.lit(" and send a corrected claim (frequency 7) with payer claim number "),
        pl.col("payer_claim_control_number"), pl.lit(" in REF*F8."),
    )
    new_claim = pl.concat_str(pl.lit(" and send a NEW claim (frequency 1): "), new_claim_why(), pl.lit("."))
    return pl.when(new_claim_why().is_not_null()).then(new_claim).otherwise(replacement)


def code_route(frame: pl.DataFrame) -> pl.DataFrame:
    """Add `code_route`, `code_reason`, `code_evidence`: the registry's road for the denial's codes.

    Remark codes that refine the decision win (MA04: a corrected claim to this payer with the
    primary's adjudication), then the group code (PR: the patient owes it), then the CARC's own
    route (CO-26 coverage dates: rebill), else the category's default route.
    """
    reg = R.registry()
    group = pl.col("primary_reason").str.split("-").list.first()
    carc = pl.col("primary_reason").str.split("-").list.last()
    category = pl.col("category").fill_null("unknown")
    route = category.replace_strict({c: v.route for c, v in reg.categories.items()}, default=R.LEVEL1)
    reason = _template(reg.categories["unknown"].reason)
    for name, entry in reg.categories.items():
        reason = pl.when(category == name).then(_template(entry.reason)).otherwise(reason)
    source = pl.concat_str(pl.lit("category "), category)
    layers = [(carc == code, entry, pl.lit(f"carc {code}"), None) for code, entry in reg.codes.items()]
    layers += [(group == code, entry, pl.lit(f"group {code}"), None) for code, entry in reg.groups.items()]
    # Remarks last so they are applied outermost: registry order decides between two remarks.
    has = {code: pl.col("remark_codes").list.contains(code).fill_null(False) for code in reg.remarks}
    layers += [(has[code], entry, pl.lit(f"remark {code}"), code) for code, entry in reversed(reg.remarks.items())]
    for applies, entry, name, remark in layers:
        route = pl.when(applies).then(pl.lit(entry.route)).otherwise(route)
        reason = pl.when(applies).then(_template(entry.reason, remark)).otherwise(reason)
        source = pl.when(applies).then(name).otherwise(source)
    return frame.with_columns(
        code_route=route, code_reason=reason,
        code_evidence=pl.struct(rule=pl.lit("registry"), codes=source).struct.json_encode(),
        by_remark=pl.any_horizontal(list(has.values())) if has else pl.lit(False),
    )


def category_route(frame: pl.DataFrame) -> pl.DataFrame:
    """Add `category_route`, `category_reason`, `evidence` and `claim_frequency_to_send`.

    A remark code the registry knows (N522 crossover, MA04 primary's EOB) is the payer's own word
    on the claim and decides first; then the first evidence rule that applies; else the registry.
    """
    frame = code_route(evidence.decide(frame))
    remark = pl.col("by_remark")
    route = pl.when(remark).then(pl.col("code_route")).otherwise(pl.coalesce("evidence_route", "code_route"))
    reason = pl.when(remark).then(pl.col("code_reason")).otherwise(pl.coalesce("evidence_reason", "code_reason"))
    frame = frame.with_columns(evidence=pl.when(remark).then(None).otherwise(pl.col("evidence")))
    reason = pl.when(route == R.CORRECTED_CLAIM).then(pl.concat_str(reason, _corrected_tail())).otherwise(reason)
    frequency = (
        pl.when(route == R.CORRECTED_CLAIM)
        .then(pl.when(new_claim_why().is_not_null()).then(pl.lit("1")).otherwise(pl.lit("7")))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    return frame.with_columns(
        category_route=route, category_reason=reason, claim_frequency_to_send=frequency,
        evidence=pl.coalesce("evidence", "code_evidence"),
    ).drop("evidence_route", "evidence_reason", "code_route", "code_reason", "code_evidence", "by_remark")


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
        pl.when(pl.col("is_resolved")).then(pl.lit(R.RESOLVED))
        .when(has_l2 & (l2 == "overturned")).then(pl.lit(R.RESOLVED))
        .when(l1_overturned_unpaid & ~has_l2).then(pl.lit(R.RESOLVED))
        .when(in_trend).then(pl.lit(R.TREND_REPORT))
        .when(has_l2).then(pl.lit(R.LEVEL2))
        .when(l1_unsatisfactory).then(pl.lit(R.LEVEL2))
        .when(has_l1 & ((l1 == "pending") | l1.is_null())).then(pl.lit(R.LEVEL1))
        .otherwise(pl.col("category_route"))
    )
    def said(rule: str, **fields: pl.Expr) -> pl.Expr:
        return pl.struct(rule=pl.lit(rule), **fields).struct.json_encode()

    # The claim's history decided: say which part of it (the codes' evidence stays in the reason).
    evidence = (
        pl.when(pl.col("is_resolved")).then(said("recovered", recovered_amount=pl.col("recovered_amount").cast(pl.String)))
        .when(has_l2 & (l2 == "overturned")).then(said("level2_overturned", reference=pl.col("l2_reference")))
        .when(l1_overturned_unpaid & ~has_l2).then(said("level1_overturned", reference=pl.col("l1_reference")))
        .when(in_trend).then(said("trend_cluster", trend_cluster_id=pl.col("trend_cluster_id")))
        .when(has_l2).then(said("level2_filed", outcome=l2, reference=pl.col("l2_reference")))
        .when(l1_unsatisfactory).then(said("level1_unsatisfactory", outcome=l1, source=pl.col("l1_outcome_source"),
                                           decided_on=pl.col("l1_decided_on").cast(pl.String)))
        .when(has_l1 & ((l1 == "pending") | l1.is_null())).then(
            said("level1_filed", submitted_on=pl.col("l1_submitted_on").cast(pl.String),
                 reference=pl.col("l1_reference")))
        .otherwise(pl.col("evidence"))
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
        evidence=evidence,
        # A forwarded claim waits for the other payer's remit like a filing waits for a decision.
        awaiting_payer=awaiting | (route == R.AWAIT_CROSSOVER),
        appeals_exhausted=exhausted,
        claim_frequency_to_send=pl.when(route == R.CORRECTED_CLAIM).then(pl.col("claim_frequency_to_send")),
    ).with_columns(rule_level=pl.col("route").replace_strict(RULE_LEVEL, default=None))


def has_filing_window() -> pl.Expr:
    """Rows whose route files with the payer under a window, so they carry a deadline: filed and
    awaited ones too; not a dispute process already exhausted (it has no window left)."""
    return pl.col("route").is_in(list(_FILING_ROUTES)) & ~pl.col("appeals_exhausted").fill_null(False)


def needs_filing() -> pl.Expr:
    """Rows whose route still needs something filed before a window closes (these can expire)."""
    return has_filing_window() & ~pl.col("awaiting_payer")
