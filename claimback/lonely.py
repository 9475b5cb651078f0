"""Lonely payments: 835 claims that answer no 837 we sent, each with its closest 837 candidates.

A payment whose claim we cannot find (sent by another billing system, or a typo in the patient
control number) leaves posting and denial work silently partial: its denial is worked without the
837's provider fields, its 837 looks unanswered. Da Vinci's Postable Remittance guide calls these
"lonely payments". Matching stays claimback.lifecycle's (`match_claims`, never across practices or
members); this module only lists what it could not match and suggests where to look.

Candidates, closest first (the first rule a pair meets is its `candidate_reason`):
  1. `same_member_payer_service_date`: the 837's subscriber is the 835's member (NM1*QC, or NM1*IL
     for a dependent), same payer (id, else normalised name), same first date of service;
  2. `same_member_payer_near_date`: as 1 with the dates of service at most `near_days` apart;
  3. `same_pcn_other_practice`: the same patient control number billed by another practice
     (another NPI/TIN of the organisation), member not contradicting.
Within a rule, an 837 of the payment's own practice, then the nearest date of service, then the
latest submission comes first. At most `MAX_CANDIDATES` are kept; `candidate_count` counts all.
"""
from __future__ import annotations

import polars as pl

from claimback import lifecycle, schema

# What the candidates are found from (the lake's columns; a caller reads only these).
INPUTS = {
    "remit_claims": ("claim_key", "payer_id", "payer_name", "member_id", "insured_member_id"),
    "submitted_claims": ("claim_key", "patient_control_number", "payer_id", "payer_name", "billing_npi",
                         "billing_tax_id", "subscriber_member_id", "statement_from", "source_file", "claim_ordinal"),
}
MAX_CANDIDATES = 3
# A date of service keyed one or two days off, or a visit billed on the day after: "a few days".
NEAR_DAYS = 3

REASONS = {1: "same_member_payer_service_date", 2: "same_member_payer_near_date", 3: "same_pcn_other_practice"}


def lonely_payments(
    adjudications: pl.DataFrame,
    remit_claims: pl.DataFrame,
    submitted_claims: pl.DataFrame,
    near_days: int = NEAR_DAYS,
    matches: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Tables `lonely_payments` (one row per claim none of whose adjudications matches an 837) and
    `lonely_payment_candidates` (its closest 837s, one row each; schemas in claimback.schema).

    `adjudications` is `claimback.denials.build_adjudications` (or `lifecycle.adjudication_history`)
    of `remit_claims`; `matches` its `lifecycle.match_claims`, when the caller has it already.
    Without any 837 in the lake there is nothing to be lonely from: both empty.
    """
    if adjudications.height == 0 or submitted_claims.height == 0:
        return schema.empty("lonely_payments"), schema.empty("lonely_payment_candidates")
    if matches is None:
        matches = lifecycle.match_claims(remit_claims, submitted_claims, history=adjudications)
    return with_candidates(unmatched(adjudications, matches), remit_claims, submitted_claims, near_days)


def unmatched(adjudications: pl.DataFrame, matches: pl.DataFrame) -> pl.DataFrame:
    """The latest adjudication of each claim (claim_id) none of whose adjudications `matches` an 837:
    a claim's status depends on its own adjudications and matches alone."""
    matched_claims = adjudications.join(
        matches, left_on="claim_key", right_on="remit_claim_key", how="semi"
    ).select("claim_id")
    return adjudications.filter("is_latest").join(matched_claims, on="claim_id", how="anti")


def with_candidates(lonely: pl.DataFrame, remit_claims: pl.DataFrame, submitted_claims: pl.DataFrame,
                    near_days: int = NEAR_DAYS) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(`lonely_payments`, `lonely_payment_candidates`) of these lonely adjudications. A payment's
    candidates are the 837s of its member (NM1*QC or NM1*IL) or its patient control number
    (`candidate_tests`): `submitted_claims` needs to hold those, not every 837."""
    candidates = _closest(_candidates(lonely, remit_claims, submitted_claims, near_days))
    closest = candidates.filter(pl.col("candidate_rank") == 1).select(
        "claim_key", "candidate_count", "candidate_reason",
        closest_candidate_pcn="patient_control_number",
        closest_candidate_claim_key="submitted_claim_key",
    )
    payments = lonely.join(closest, on="claim_key", how="left").with_columns(
        pl.col("candidate_count").fill_null(0)
    )
    return (
        schema.conform(payments, "lonely_payments").sort("remit_date", "claim_key", nulls_last=True),
        schema.conform(candidates, "lonely_payment_candidates").sort("claim_key", "candidate_rank"),
    )


def payment_keys(lonely: pl.DataFrame, remit_claims: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """(member ids, patient control numbers) of these payments as the candidate rules compare them."""
    remits = remit_claims.join(lonely.select("claim_key"), on="claim_key", how="semi")
    members = pl.concat([remits.select(m=lifecycle.identifier(lifecycle.column_or_null(remits, c)))["m"]
                         for c in ("member_id", "insured_member_id")])
    pcns = lonely.select(p=lifecycle.blank_to_null(pl.col("patient_control_number")))["p"]
    return members.drop_nulls().unique(), pcns.drop_nulls().unique()


def candidate_tests(members: pl.Series, pcns: pl.Series) -> list[tuple[pl.Expr | lifecycle.Normalised, pl.Series]]:
    """Which 837s (submitted_claims rows, `among.among_any`) can be a candidate of payments with
    these member ids or patient control numbers: rules 1-2 pair by member, rule 3 by patient
    control number."""
    return [(lifecycle.identifier_of("subscriber_member_id"), members),
            (lifecycle.blank_to_null(pl.col("patient_control_number")), pcns)]


def _candidates(
    lonely: pl.DataFrame, remit_claims: pl.DataFrame, submitted_claims: pl.DataFrame, near_days: int
) -> pl.DataFrame:
    """Every (lonely payment, 837) pair meeting a rule, with its rule number as `rule`."""
    identifier, column = lifecycle.identifier, lifecycle.column_or_null  # the match's own comparisons
    remits = lonely.select("claim_key", "practice_key", "service_date", "patient_control_number").join(
        remit_claims.select(
            "claim_key", "payer_id", "payer_name",
            r_member=identifier(column(remit_claims, "member_id")),
            r_insured=identifier(column(remit_claims, "insured_member_id")),
        ),
        on="claim_key",
    ).select(
        "claim_key", "r_member", "r_insured",
        r_practice="practice_key",
        r_dos="service_date",
        r_pcn=lifecycle.blank_to_null(pl.col("patient_control_number")),
        r_id=lifecycle.blank_to_null(pl.col("payer_id")).str.to_uppercase(),
        r_name=lifecycle.normalise_payer_name(pl.col("payer_name")),
    )
    submitted = submitted_claims.select(
        s_key="claim_key",
        s_pcn=lifecycle.blank_to_null(pl.col("patient_control_number")),
        s_id=lifecycle.blank_to_null(pl.col("payer_id")).str.to_uppercase(),
        s_name=lifecycle.normalise_payer_name(pl.col("payer_name")),
        s_practice=lifecycle.provider_key_of(submitted_claims, "billing_npi", "billing_tax_id"),
        s_member=identifier(column(submitted_claims, "subscriber_member_id")),
        s_dos="statement_from",
        s_file="source_file",
        s_ordinal="claim_ordinal",
    )
    # Rules 1-2 pair by member, rule 3 by patient control number: two equi-joins, never a cross join.
    by_member = pl.concat([
        remits.drop_nulls(member).join(submitted.drop_nulls("s_member"), left_on=member, right_on="s_member")
        .with_columns(s_member=pl.col(member))
        for member in ("r_member", "r_insured")
    ])
    by_pcn = remits.drop_nulls("r_pcn").join(
        submitted.drop_nulls("s_pcn"), left_on="r_pcn", right_on="s_pcn", how="inner", coalesce=False
    )
    same_payer = ((pl.col("r_id") == pl.col("s_id")).fill_null(False)
                  | (pl.col("r_name") == pl.col("s_name")).fill_null(False))
    days_apart = (pl.col("r_dos") - pl.col("s_dos")).dt.total_days().abs()
    member_known = pl.col("s_member").is_not_null() & (
        pl.col("r_member").is_not_null() | pl.col("r_insured").is_not_null())
    same_member = ((pl.col("s_member") == pl.col("r_member")).fill_null(False)
                   | (pl.col("s_member") == pl.col("r_insured")).fill_null(False))
    other_practice = (pl.col("r_practice") != pl.col("s_practice")).fill_null(False)
    return pl.concat([
        by_member.filter(same_payer).with_columns(
            rule=pl.when(days_apart == 0).then(1).when(days_apart <= near_days).then(2)),
        by_pcn.filter(other_practice & (~member_known | same_member)).with_columns(rule=pl.lit(3)),
    ], how="diagonal_relaxed").drop_nulls("rule").with_columns(
        own_practice=(pl.col("r_practice") == pl.col("s_practice")).fill_null(False),
        days_apart=days_apart,
    )


def _closest(pairs: pl.DataFrame) -> pl.DataFrame:
    """The closest `MAX_CANDIDATES` 837s of each lonely payment, ranked, with the count of all."""
    ranked = (
        pairs.sort(["claim_key", "s_key", "rule"])
        .unique(["claim_key", "s_key"], keep="first", maintain_order=True)  # one rule per 837: its best
        .sort(["claim_key", "rule", "own_practice", "days_apart", "s_file", "s_ordinal"],
              descending=[False, False, True, False, True, True], nulls_last=True)
        .with_columns(
            candidate_rank=pl.int_range(1, pl.len() + 1).over("claim_key"),
            candidate_count=pl.len().over("claim_key"),
        )
    )
    return ranked.filter(pl.col("candidate_rank") <= MAX_CANDIDATES).select(
        "claim_key", "candidate_rank", "candidate_count",
        candidate_reason=pl.col("rule").replace_strict(REASONS, return_dtype=pl.String),
        submitted_claim_key="s_key",
        patient_control_number="s_pcn",
        practice_key="s_practice",
        service_date="s_dos",
        days_apart="days_apart",
    )
