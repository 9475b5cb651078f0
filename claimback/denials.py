"""Which claims are denied now, why, and for how much: the `denials` table and its line detail.

A denial is found from the adjustments, not from CLP02 (5010 allows CLP02=4 only for an unknown
patient; a processed claim paid $0 is still 1/2/3). Every denying adjustment (`codes.classify`
kind `denial`) counts, at claim or line level, whatever the claim or line was paid: a line paid
$550 with CO-210 $50 (authorization late) is $50 denied, as are units cut and one line bundled
into another. $0 paid because the allowed amount went to deductible/coinsurance/copay (PR-1/2/3)
is not a denial, nor is contractual pricing (CO-45 and the like). `denial_level` is `claim` when
the denials outweigh what the claim (or every line) was paid, else `line` (a partial denial).
Reversals (CLP02=22) and predetermination pricing (CLP02=25) are never denials; the latest
adjudication of a claim (see `claimback.lifecycle`) decides whether it is denied now. A reversal
that stays the latest — money taken back and nothing paid again — is a recoupment
(`recoupments`), which the work queue shows on its own route.

Everything is Polars joins and group-bys over whole tables: a million claims take seconds.
"""
from __future__ import annotations

import datetime as dt

import polars as pl

from claimback import codes, lifecycle
from claimback.schema import ADJUDICATIONS, MONEY, RECOUPMENTS, RECOVERED_CLAIMS, conform

DENIAL_KIND = "denial"

# How long a reversal may stand alone before the money it took back is a loss to work: payers
# send the replacement adjudication with the reversal or within a cycle or two.
RECOUPMENT_WAIT_DAYS = 30

_ZERO = pl.lit(0, dtype=MONEY)


def known_on(remit_claims: pl.DataFrame, as_of: dt.date | None) -> pl.DataFrame:
    """Remits known on `as_of` (undated remits are kept: they are in the data, just undated)."""
    if as_of is None:
        return remit_claims
    return remit_claims.filter(pl.col("remit_date").is_null() | (pl.col("remit_date") <= as_of))


def _reason(group: str = "group_code", reason: str = "reason_code") -> pl.Expr:
    """'CO-197': group and CARC as analysts write them ('045' and '45' are the same code)."""
    return pl.concat_str(
        pl.col(group).str.strip_chars().str.to_uppercase(),
        pl.lit("-"),
        codes.normalize_code(pl.col(reason)),
    )


def _pays_or_denies() -> pl.Expr:
    """Adjudications that can deny: not reversals, not predetermination pricing (CLP02=25)."""
    statuses = codes.claim_status_codes()
    not_payment = statuses.filter(pl.col("is_reversal") | pl.col("is_predetermination"))["code"]
    return ~(
        pl.col("is_reversal").fill_null(False)
        | pl.col("claim_status_code").is_in(not_payment.implode()).fill_null(False)
    )


def denying_adjustments(remit_claims: pl.DataFrame, remit_adjustments: pl.DataFrame) -> pl.DataFrame:
    """The classified adjustments of kind `denial` on non-reversal adjudications.

    Keeps claim_key, line_number, group_code, reason_code, amount, `reason` ("CO-197") and the
    code knowledge (category, fixable_by, suggested_route, carc_label).
    """
    adjudications = remit_claims.filter(_pays_or_denies()).select("claim_key")
    adjustments = remit_adjustments.join(adjudications, on="claim_key", how="semi").select(
        "claim_key", "line_number", "group_code", "reason_code", "amount"
    )
    return (
        codes.classify(adjustments)
        .filter(pl.col("adjustment_kind") == DENIAL_KIND)
        .with_columns(reason=_reason(), amount=pl.col("amount").cast(MONEY))
    )


def _outweighs(denied: pl.Expr, paid: pl.Expr) -> pl.Expr:
    """Denials of at least what was paid: the claim or line as a whole is refused."""
    return (denied > 0) & (denied >= paid.fill_null(0))


def _denied_lines(denying: pl.DataFrame, remit_service_lines: pl.DataFrame) -> pl.DataFrame:
    """Service lines with denied dollars, whatever they were paid: claim_key, line_number, line
    amounts and `fully_denied` (the denials outweigh the line's payment)."""
    by_line = (
        denying.filter(pl.col("line_number").is_not_null())
        .group_by("claim_key", "line_number")
        .agg(line_denied=pl.col("amount").sum())
    )
    lines = remit_service_lines.select(
        "claim_key", "line_number", "procedure_code", "paid_amount", "service_date"
    )
    return (
        by_line.join(lines, on=["claim_key", "line_number"], how="left")
        .filter(pl.col("line_denied") > 0)
        .with_columns(fully_denied=_outweighs(pl.col("line_denied"), pl.col("paid_amount")))
    )


def _counted_denials(
    denying: pl.DataFrame, remit_service_lines: pl.DataFrame, claims: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The denying adjustments that make a denial, with the denied lines and denied claims.

    These count toward a denial's amount, reasons and line detail: the claim-level ones when
    they add up to denied dollars, and those of lines with denied dollars (partial or whole).
    A claim or line whose denying adjustments net to nothing (a denial and its correction on one
    remit) is not denied. `claims` is claim_key + paid_amount of the adjudications that can deny.
    `claim_level` has `fully_denied`: the claim-level denials outweigh what the claim was paid.
    """
    denied_lines = _denied_lines(denying, remit_service_lines)
    claim_level = (
        denying.filter(pl.col("line_number").is_null())
        .group_by("claim_key")
        .agg(claim_denied=pl.col("amount").sum())
        .join(claims, on="claim_key")
        .filter(pl.col("claim_denied") > 0)
        .select("claim_key", "claim_denied",
                fully_denied=_outweighs(pl.col("claim_denied"), pl.col("paid_amount")))
    )
    counted = pl.concat([
        denying.join(claim_level, on="claim_key", how="semi").filter(pl.col("line_number").is_null()),
        denying.join(denied_lines, on=["claim_key", "line_number"], how="semi"),
    ])
    return counted, denied_lines, claim_level


def adjudication_denials(
    remit_claims: pl.DataFrame,
    remit_service_lines: pl.DataFrame,
    remit_adjustments: pl.DataFrame,
    denying: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per adjudication (CLP that is not a reversal or a predetermination): denied? how much, why.

    Columns: claim_key, is_denied, denied_amount, denial_level (claim|line), denied_lines,
    line_count, reason_codes (largest first), primary_reason (with primary_group_code and
    primary_reason_code), procedure_codes (of the denied lines), first_line_date. Adjudications with no
    denial have is_denied false and zero denied_amount. Reversals and predeterminations are absent.
    """
    denying = denying_adjustments(remit_claims, remit_adjustments) if denying is None else denying
    claims = remit_claims.filter(_pays_or_denies()).select("claim_key", "paid_amount")
    counted, denied_lines, claim_level = _counted_denials(denying, remit_service_lines, claims)
    reasons = (
        counted.group_by("claim_key", "reason")
        .agg(
            reason_amount=pl.col("amount").sum(),
            group_code=pl.col("group_code").first(),
            reason_code=pl.col("reason_code").first(),
        )
        .sort(["claim_key", "reason_amount", "reason"], descending=[False, True, False])
        .group_by("claim_key", maintain_order=True)
        .agg(
            reason_codes=pl.col("reason"),
            denied_amount=pl.col("reason_amount").sum(),
            primary_reason=pl.col("reason").first(),
            primary_group_code=pl.col("group_code").first(),
            primary_reason_code=pl.col("reason_code").first(),
        )
    )
    line_summary = (
        denied_lines.sort("claim_key", "line_number")
        .group_by("claim_key", maintain_order=True)
        .agg(
            denied_lines=pl.len().cast(pl.Int64),
            fully_denied_lines=pl.col("fully_denied").sum().cast(pl.Int64),
            procedure_codes=pl.col("procedure_code").drop_nulls().unique(maintain_order=True),
        )
    )
    line_counts = remit_service_lines.group_by("claim_key").agg(
        line_count=pl.len().cast(pl.Int64), first_line_date=pl.col("service_date").min()
    )
    claim_refused = claim_level.filter("fully_denied")["claim_key"].implode()
    whole_claim = pl.col("claim_key").is_in(claim_refused) | (
        (pl.col("line_count") > 0) & (pl.col("fully_denied_lines") == pl.col("line_count"))
    )
    return (
        claims.select("claim_key")
        .join(reasons, on="claim_key", how="left")
        .join(line_summary, on="claim_key", how="left")
        .join(line_counts, on="claim_key", how="left")
        .with_columns(
            is_denied=pl.col("denied_amount").is_not_null(),
            denied_amount=pl.col("denied_amount").fill_null(_ZERO),
            denied_lines=pl.col("denied_lines").fill_null(0),
            fully_denied_lines=pl.col("fully_denied_lines").fill_null(0),
            line_count=pl.col("line_count").fill_null(0),
            procedure_codes=pl.col("procedure_codes").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
        .with_columns(
            denial_level=pl.when(~pl.col("is_denied"))
            .then(None)
            .when(whole_claim)
            .then(pl.lit("claim"))
            .otherwise(pl.lit("line"))
        )
    )


def build_adjudications(
    remit_claims: pl.DataFrame,
    remit_service_lines: pl.DataFrame,
    remit_adjustments: pl.DataFrame,
    submitted_claims: pl.DataFrame | None = None,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Every adjudication in claim order with its denial status (schema ADJUDICATIONS).

    This is `lifecycle.adjudication_history` plus `is_denied`, `denied_amount` and
    `primary_reason`; it is the `history` that `lifecycle.infer_level1_outcomes` needs.
    """
    return adjudications_and_status(
        remit_claims, remit_service_lines, remit_adjustments, submitted_claims, as_of
    )[0]


def adjudications_and_status(
    remit_claims: pl.DataFrame,
    remit_service_lines: pl.DataFrame,
    remit_adjustments: pl.DataFrame,
    submitted_claims: pl.DataFrame | None = None,
    as_of: dt.date | None = None,
    void: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`build_adjudications` and the `adjudication_denials` it was made from.

    A pipeline building both the adjudications and the denials passes the second to
    `build_denials(status=...)`: the denial of each adjudication is then worked out once.
    `void`: the replaced remits, when worked out over every remit (`lifecycle.void_remits`).
    """
    remit_claims = known_on(remit_claims, as_of)
    history = lifecycle.adjudication_history(remit_claims, submitted_claims, remit_service_lines, void=void)
    status = adjudication_denials(remit_claims, remit_service_lines, remit_adjustments)
    return _with_status(history, status), status


def _with_status(history: pl.DataFrame, status: pl.DataFrame) -> pl.DataFrame:
    joined = history.join(
        status.select("claim_key", "is_denied", "denied_amount", "primary_reason"),
        on="claim_key",
        how="left",
    ).with_columns(
        is_denied=pl.col("is_denied").fill_null(False),
        denied_amount=pl.col("denied_amount").fill_null(_ZERO),
    )
    return joined.select(
        [pl.col(name).cast(dtype) for name, dtype in ADJUDICATIONS.items()]
    )


def remark_lists(remit_remarks: pl.DataFrame, claim_keys: pl.DataFrame) -> pl.DataFrame:
    """All RARCs of each claim (claim and line level), each once, sorted."""
    return (
        remit_remarks.join(claim_keys, on="claim_key", how="semi")
        .drop_nulls("remark_code")
        .group_by("claim_key")
        .agg(remark_codes=pl.col("remark_code").unique().sort())
    )


def submitted_fields(
    remit_claims: pl.DataFrame,
    submitted_claims: pl.DataFrame | None,
    history: pl.DataFrame,
    denied: pl.DataFrame,
) -> pl.DataFrame:
    """The matched 837's keys and provider fields for the `denied` claim keys.

    Only the denied claims' adjudications are matched (the chain fallback needs a claim's other
    adjudications, not other claims), which keeps the 837 join small on a large history.
    """
    schema = {
        "claim_key": pl.String, "submitted_claim_key": pl.String, "billing_npi": pl.String,
        "submitted_rendering_npi": pl.String, "place_of_service": pl.String,
        "frequency_code": pl.String,
    }
    if submitted_claims is None or submitted_claims.height == 0:
        return pl.DataFrame(schema=schema)
    claim_ids = history.join(denied.select("claim_key"), on="claim_key", how="semi").select("claim_id")
    related = history.join(claim_ids, on="claim_id", how="semi")
    matches = lifecycle.match_claims(
        remit_claims.join(related.select("claim_key"), on="claim_key", how="semi"),
        submitted_claims,
        history=related,
    )
    return matches.join(
        submitted_claims.select(
            submitted_claim_key="claim_key", billing_npi="billing_npi",
            submitted_rendering_npi="rendering_npi", place_of_service="place_of_service",
            frequency_code="frequency_code",
        ),
        on="submitted_claim_key",
    ).select(pl.col("remit_claim_key").alias("claim_key"), *list(schema)[1:])


def build_denials(
    remit_claims: pl.DataFrame,
    remit_service_lines: pl.DataFrame,
    remit_adjustments: pl.DataFrame,
    remit_remarks: pl.DataFrame,
    submitted_claims: pl.DataFrame | None = None,
    submitted_service_lines: pl.DataFrame | None = None,
    as_of: dt.date | None = None,
    history: pl.DataFrame | None = None,
    status: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per claim whose latest adjudication (as of `as_of`) denies all or part of the charge.

    Schema DENIALS. `claim_key` is the latest adjudication's; `first_remit_date` is the claim's
    first adjudication; `category` comes from the primary CARC refined by the claim's RARCs.
    `submitted_service_lines` is accepted for symmetry with the pipeline's inputs; the service
    date comes from the remit's own lines (what the payer adjudicated), else the statement date.
    `history` may pass an already computed `build_adjudications` (or `adjudication_history`)
    frame for the same remits, 837s and `as_of`, so a pipeline building both pays for it once;
    `status` likewise the `adjudication_denials` of those remits (see `adjudications_and_status`).
    Each adjudication's denial depends on its own adjustments and lines only, so the rows of the
    latest adjudications are the same whether worked out for them alone or for every adjudication.
    """
    del submitted_service_lines  # the remit lines carry what the payer adjudicated
    remit_claims = known_on(remit_claims, as_of)
    if history is None:
        history = lifecycle.adjudication_history(remit_claims, submitted_claims, remit_service_lines)
    latest = history.filter(pl.col("is_latest") & ~pl.col("is_reversal"))
    latest_keys = latest.select("claim_key")
    latest_claims = remit_claims.join(latest_keys, on="claim_key", how="semi")
    if status is None:
        status = adjudication_denials(
            latest_claims,
            remit_service_lines.join(latest_keys, on="claim_key", how="semi"),
            remit_adjustments.join(latest_keys, on="claim_key", how="semi"),
        )
    else:
        status = status.join(latest_keys, on="claim_key", how="semi")
    status = status.filter("is_denied")
    claim_timeline = history.group_by("claim_id").agg(first_remit_date=pl.col("remit_date").min())
    denied = (
        status.join(latest.select("claim_key", "claim_id", "practice_key", "adjudication_count"),
                    on="claim_key")
        .join(claim_timeline, on="claim_id")
        .join(
            remit_claims.select(
                "claim_key", "patient_control_number", "payer_claim_control_number",
                "payer_name", "payer_id", "remit_date", "charge_amount", "paid_amount",
                "statement_from", "rendering_npi",
            ),
            on="claim_key",
        )
        .join(remark_lists(remit_remarks, status.select("claim_key")), on="claim_key", how="left")
        .join(submitted_fields(remit_claims, submitted_claims, history, status), on="claim_key",
              how="left")
        .with_columns(
            remark_codes=pl.col("remark_codes").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            service_date=pl.coalesce("first_line_date", "statement_from"),
            rendering_npi=pl.coalesce("rendering_npi", "submitted_rendering_npi"),
        )
    )
    denied = denied.join(_primary_code_knowledge(denied), on="claim_key", how="left")
    return conform(denied.sort("remit_date", "claim_key", nulls_last=True), "denials")


def _primary_code_knowledge(denied: pl.DataFrame) -> pl.DataFrame:
    """Category, who fixes it and the suggested route, from the primary group-CARC and the RARCs.

    `codes.classify` refines a vague category by the claim's remark codes (the same rule as
    `codes.refine_category`) and then takes fixable_by and route from the refined category, so
    the three always agree. The remit date lets it judge codes deactivated at the time.
    """
    primary = denied.select(
        "claim_key", "remit_date", "remark_codes",
        group_code="primary_group_code", reason_code="primary_reason_code",
    )
    return codes.classify(primary).select("claim_key", "category", "fixable_by", "suggested_route")


def denial_lines(
    denials: pl.DataFrame,
    remit_service_lines: pl.DataFrame,
    remit_adjustments: pl.DataFrame,
    remit_remarks: pl.DataFrame,
    remit_claims: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The line detail an analyst works from, for the claims in `denials`.

    One row per denying adjustment that makes each claim's denial (so the amounts add up to the
    claim's `denied_amount`): claim_key, patient_control_number,
    line_number (null for claim-level), procedure_code, modifiers, service_date, line charge and
    paid, reason ("CO-197"), group_code, reason_code, carc_label, category, amount, and the line's
    remark_codes (claim-level rows carry the claim-level remarks).
    """
    keys = denials.select("claim_key", "patient_control_number")
    adjustments = remit_adjustments.join(keys, on="claim_key", how="semi")
    claims = (
        remit_claims.join(keys, on="claim_key", how="semi")
        if remit_claims is not None
        else denials.select("claim_key", "paid_amount", is_reversal=pl.lit(False),
                            claim_status_code=pl.lit(None, dtype=pl.String))
    )
    denying, _, _ = _counted_denials(
        denying_adjustments(claims, adjustments),
        remit_service_lines.join(keys, on="claim_key", how="semi"),
        claims.select("claim_key", "paid_amount"),
    )
    remarks = (
        remit_remarks.join(keys, on="claim_key", how="semi")
        .drop_nulls("remark_code")
        .group_by("claim_key", "line_number")
        .agg(remark_codes=pl.col("remark_code").unique().sort())
    )
    lines = remit_service_lines.select(
        "claim_key", "line_number", "procedure_code", "modifiers", "service_date",
        line_charge_amount="charge_amount", line_paid_amount="paid_amount",
    )
    return (
        denying.join(keys, on="claim_key")
        .join(lines, on=["claim_key", "line_number"], how="left")
        .join(remarks, on=["claim_key", "line_number"], how="left", nulls_equal=True)
        .with_columns(
            remark_codes=pl.col("remark_codes").fill_null(pl.lit([], dtype=pl.List(pl.String)))
        )
        .select(
            "claim_key", "patient_control_number", "line_number", "procedure_code", "modifiers",
            "service_date", "line_charge_amount", "line_paid_amount", "reason", "group_code",
            "reason_code", "carc_label", "category", "amount", "remark_codes",
        )
        .sort("claim_key", "line_number", "amount", descending=[False, False, True], nulls_last=False)
    )


def denial_summary(denials: pl.DataFrame) -> pl.DataFrame:
    """Denied claims and dollars by category, largest dollars first, with each one's share."""
    return (
        denials.group_by("category")
        .agg(claims=pl.len().cast(pl.Int64), denied_amount=pl.col("denied_amount").sum())
        .with_columns(
            claim_share=pl.col("claims") / pl.col("claims").sum(),
            dollar_share=(
                pl.col("denied_amount").cast(pl.Float64)
                / pl.col("denied_amount").cast(pl.Float64).sum()
            ),
        )
        .sort(["denied_amount", "category"], descending=[True, False])
    )


def recovered_claims(adjudications: pl.DataFrame) -> pl.DataFrame:
    """Claims once denied whose latest adjudication pays (schema RECOVERED_CLAIMS).

    `adjudications` is `build_adjudications(...)`. Recovered amount = what the latest adjudication
    pays minus what the last denied adjudication paid.
    """
    denied_before = (
        adjudications.filter("is_denied")
        .sort("adjudication_seq")
        .group_by("claim_id")
        .agg(
            first_denied_remit_date=pl.col("remit_date").first(),
            denied_amount=pl.col("denied_amount").last(),
            paid_when_denied=pl.col("paid_amount").last(),
            last_denied_seq=pl.col("adjudication_seq").last(),
        )
    )
    recovered = (
        adjudications.filter(pl.col("is_latest") & ~pl.col("is_reversal") & ~pl.col("is_denied"))
        .join(denied_before, on="claim_id")
        .filter(
            (pl.col("adjudication_seq") > pl.col("last_denied_seq"))
            & (pl.col("paid_amount") > pl.col("paid_when_denied"))
        )
        .with_columns(
            recovered_on=pl.col("remit_date"),
            recovered_amount=(pl.col("paid_amount") - pl.col("paid_when_denied")).cast(MONEY),
        )
    )
    return recovered.select([pl.col(n).cast(t) for n, t in RECOVERED_CLAIMS.items()]).sort("claim_key")


def recoupments(adjudications: pl.DataFrame, as_of: dt.date, wait_days: int = RECOUPMENT_WAIT_DAYS) -> pl.DataFrame:
    """Payments the payer took back and has not paid again: schema RECOUPMENTS.

    A claim whose latest adjudication (as of `as_of`) is a reversal (CLP02=22) that took money
    back, with no new adjudication of the claim in the `wait_days` since. Such a take-back is on
    no denial list (nothing is denied), yet the practice has lost the payment. A reversal of an
    unpaid claim takes nothing back and is not one. `adjudications` is `build_adjudications(...)`.
    """
    stale = adjudications.filter(
        pl.col("is_latest") & pl.col("is_reversal") & (pl.col("paid_amount") < 0)
    ).with_columns(
        days_without_replacement=(pl.lit(as_of) - pl.col("remit_date")).dt.total_days().cast(pl.Int64),
    ).filter(pl.col("days_without_replacement") >= wait_days)
    return stale.select(
        "claim_key", "claim_id", "practice_key", "patient_control_number", "payer_claim_control_number",
        "payer_name", "payer_id", "days_without_replacement",
        reversed_on="remit_date", recouped_amount=(-pl.col("paid_amount")).cast(MONEY),
    ).select([pl.col(n).cast(t) for n, t in RECOUPMENTS.items()]).sort("reversed_on", "claim_key")
