"""Payer trend clusters: many denied claims at one payer that are one problem, not many.

Coordinated Care (and most payers) take one "Claim Trend Identification" form — one example
claim and a brief description — for 10+ claims with the same denial codes, instead of one
reconsideration per claim. `find_clusters` finds those groups in the `denials` table:

* **Signature.** A claim's denial signature is its primary group-CARC (``CO-197``) refined
  by ONE remark code: among the claim's RARCs, the one carried by the most denied claims
  with the same primary reason at the same payer in the window (ties: alphabetical). So
  claims with ``N54`` and ``N54 + M127`` share ``CO-197|N54`` rather than splitting into
  every remark combination. Payer-wide boilerplate remarks (carried by ≥ 80% of the payer's
  denied claims across two or more primary reasons, e.g. the MA01 appeal-rights alert) do
  not refine, because they say nothing about this denial. A claim without remarks has the
  bare signature ``CO-197``.
* **Cluster.** Per payer (payer_id, else payer name) and per PRACTICE (the billing TIN, else
  the billing NPI — the payer's trend form is about "your practice's claims"; clusters never
  span payers or practices), the distinct claims sharing a signature whose remit date falls
  in ``(as_of − lookback_days, as_of]``. Claims are counted once by identity (payer +
  practice + patient control number), so a claim re-adjudicated twice is one claim. For
  authorization and medical-necessity denials, when the 837s are known, claims whose 837
  carried a prior authorization (REF*G1) and claims whose 837 did not are separate clusters
  (``evidence``): the first is the payer's error to report, the second the provider's own. Status ``flagged`` when the count reaches the
  payer's threshold (default 10) and the problem is the payer's to correct; ``provider_fix``
  when 10+ claims share a root cause the provider fixes itself (registration, wrong payer,
  duplicates, late filing, authorizations that were never obtained). ``cluster_id`` hashes payer +
  practice + signature + evidence + window length,
  so reruns are identical and a payer problem keeps its id from night to night.
* **Early warning.** Below the threshold a signature is ``emerging`` when last week's
  count rises well above its own weekly baseline: one-sided Poisson test
  P(X ≥ k | μ) < 0.01 with k = distinct claims remitted in the last 7 days (k ≥ 3) and μ
  = the mean weekly count over the complete weeks of the window BEFORE the last four (a
  rise that began two or three weeks ago must not inflate its own baseline), plus a
  0.5-claim pseudo-count so a brand-new signature has a small positive baseline, not zero.
* **Description.** What the cluster's claims share beyond the codes — procedure code,
  modifier, place of service, rendering NPI, plan/product — measured as lift: share of
  cluster claims with the value ÷ share of the payer's OTHER claims with it (the payer's
  submitted claims when the 837s are given, else its denied claims in the window; the
  cluster's own claims taken out). A feature is named when its share ≥ 60% and lift ≥ 2
  — at most half as common elsewhere. For authorization and medical-necessity denials it
  also says on how many claims the 837 carried a prior authorization (REF*G1), since that
  makes the denial the payer's error. No patient data ever enters it.

Non-denials are dropped defensively (patient responsibility, contractual pricing, PR-1/2/3,
CARC 45, zero denied amount) even though the denials table should not contain them.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import date, timedelta

import polars as pl

from claimback.codes import registry
from claimback.codes.vocab import format_codes
from claimback.schema import conform, empty

DEFAULT_THRESHOLD = 10
DEFAULT_LOOKBACK_DAYS = 180

# Categories and reasons that are never a payer problem to escalate.
NON_DENIAL_CATEGORIES = ("patient_responsibility", "contractual_underpayment")
NON_DENIAL_REASONS = ("PR-1", "PR-2", "PR-3", "CO-45", "PR-45", "OA-45", "PI-45")
# Lines allowed below their expected amount (claimback.underpayments): clustered by procedure.
UNDERPAYMENT = "underpayment"
# Denials where "an authorization was on file" is the payer's problem, worth saying.
AUTH_RELEVANT_CATEGORIES = ("authorization", "medical_necessity")

# Many claims with these root causes are the provider's own fix (status `provider_fix`):
# visible to analysts as an internal trend, never routed to the payer's trend form.
# (the code registry's `many: provider_fix` categories)
PROVIDER_FIX_CATEGORIES = registry.provider_fix_categories()
AUTH_ON_FILE_SHARE = 0.5

# One cluster = one payer x one practice x one signature x one evidence state.
GROUP = ["cluster_payer", "practice", "signature", "evidence"]
UNKNOWN_PRACTICE = "?"  # no billing TIN or NPI on the 837 or the 835 (kept apart from every practice)
AUTH_ON_FILE = "authorization on file"
NO_AUTH_ON_FILE = "no authorization on file"

BOILERPLATE_REMARK_SHARE = 0.8
EMERGING_P_VALUE = 0.01
EMERGING_MIN_CLAIMS = 3
RECENT_WEEKS = 4  # the last four weeks are the "recent" period kept out of the baseline
BASELINE_PSEUDO_COUNT = 0.5
FEATURE_MIN_SHARE = 0.6
FEATURE_MIN_LIFT = 2.0

# Order features appear in the description, and how each reads in a sentence.
FEATURE_PHRASES = {
    "procedure_code": "for procedure {value}",
    "modifier": "billed with modifier {value}",
    "place_of_service": "at place of service {value}",
    "rendering_npi": "rendered by NPI {value}",
    "plan": "under {value}",
}

# SBR09 / CLP06 claim filing indicator → the product name an analyst recognises.
PLAN_NAMES = {
    "MA": "Medicare Part A",
    "MB": "Medicare Part B",
    "MC": "Medicaid",
    "CI": "commercial insurance",
    "BL": "Blue Cross/Blue Shield",
    "HM": "an HMO plan",
    "16": "a Medicare risk HMO",
    "CH": "TRICARE",
    "VA": "VA",
    "WC": "workers' compensation",
    "12": "a PPO plan",
    "13": "a POS plan",
    "14": "an EPO plan",
    "15": "an indemnity plan",
}


def find_clusters(
    denials: pl.DataFrame,
    as_of: date,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    threshold: int = DEFAULT_THRESHOLD,
    thresholds_by_payer: dict[str, int] | None = None,
    submitted_claims: pl.DataFrame | None = None,
    submitted_service_lines: pl.DataFrame | None = None,
    paid_before: pl.DataFrame | Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    underpaid_lines: pl.DataFrame | None = None,
    payer_counts: tuple[pl.DataFrame, pl.DataFrame] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Flagged and emerging trend clusters, and their member claims.

    Returns (trend_clusters, trend_cluster_claims) conformed to the contract schemas.
    `thresholds_by_payer` keys match payer_id or payer_name, case-insensitively.
    `paid_before` (claim_key, paid_before_count; `routing.evidence.paid_before`): how often this
    payer recently paid the denied procedure without an authorization — an authorization cluster
    the payer used to pay is the payer's trend, not the provider's fix. Read only for the members
    of flagged authorization clusters; a function of their claim keys (one column, `claim_key`)
    counts it for them alone.
    `underpaid_lines` (`claimback.underpayments`): the lines behind the `underpayment` denials, whose
    signature is the procedure underpaid ("underpaid 99214") and whose description says at what
    amount instead of what.
    `payer_counts` (`payer_feature_counts` of every 837, summed): the lift's population. Given, the
    837 frames need only hold the claims the denials name; without it they must hold every 837.
    """
    window_start = as_of - timedelta(days=lookback_days - 1)
    claims = _window_claims(conform(denials, "denials"), window_start, as_of)
    if claims.is_empty():
        return empty("trend_clusters"), empty("trend_cluster_claims")
    # Conformed so a frame missing an optional column (an older lake) still works.
    if submitted_claims is not None:
        submitted_claims = conform(submitted_claims, "submitted_claims")
    if submitted_service_lines is not None:
        submitted_service_lines = conform(submitted_service_lines, "submitted_service_lines")
    authorized = _authorized_837s(submitted_claims, submitted_service_lines)
    procedures = (None if underpaid_lines is None or underpaid_lines.is_empty()
                  else underpaid_procedures(underpaid_lines))
    claims = with_evidence(with_underpayment_signature(with_signature(claims), procedures), authorized)
    rise = weekly_rise(claims, as_of, lookback_days)
    groups = _group_stats(claims).join(rise, on=GROUP, how="left")
    groups = groups.with_columns(
        _threshold_expr(threshold, thresholds_by_payer).alias("threshold")
    ).with_columns(
        pl.when(pl.col("claim_count") >= pl.col("threshold"))
        .then(pl.lit("flagged"))
        .when(
            (pl.col("last_week_claims") >= EMERGING_MIN_CLAIMS)
            & (pl.col("rise_p_value") < EMERGING_P_VALUE)
        )
        .then(pl.lit("emerging"))
        .alias("status")
    ).filter(pl.col("status").is_not_null())
    if groups.is_empty():
        return empty("trend_clusters"), empty("trend_cluster_claims")

    groups = groups.with_columns(
        pl.struct(*GROUP)
        .map_elements(
            lambda g: cluster_id(g["cluster_payer"], g["signature"], lookback_days, g["practice"], g["evidence"]),
            return_dtype=pl.String,
        )
        .alias("cluster_id"),
        pl.lit(window_start).alias("window_start"),
        pl.lit(as_of).alias("window_end"),
    )
    members = claims.join(groups.select(*GROUP, "cluster_id", "status"), on=GROUP)
    submitted = submitted_features(submitted_claims, submitted_service_lines)
    features = claim_features(claims, submitted)
    baseline = baseline_features(claims, features, submitted_claims, submitted, payer_counts)
    shared = shared_features(members, features, baseline)
    clusters = _describe(groups, members, shared, features, authorized)
    clusters = describe_underpayments(clusters, members, shared, procedures)
    clusters = clusters.join(_paid_before_counts(members, _paid_before_of(paid_before, members, clusters)),
                             on="cluster_id", how="left")
    clusters = clusters.with_columns(
        pl.when((pl.col("status") == "flagged") & _provider_side(submitted_claims is not None))
        .then(pl.lit("provider_fix"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    member_rows = members.drop("status").join(
        clusters.select("cluster_id", "status"), on="cluster_id"
    ).select(
        "cluster_id", "claim_key", "patient_control_number", "status"
    ).sort("cluster_id", "patient_control_number", "claim_key")
    return (
        conform(clusters.sort("payer_name", "payer_id", "signature", "cluster_id"), "trend_clusters"),
        conform(member_rows, "trend_cluster_claims"),
    )


def _provider_side(auth_known: bool) -> pl.Expr:
    """10+ claims that are the provider's own problem to fix, not the payer's to correct.

    Registration errors, the wrong payer billed, duplicates and late filing are fixed by the
    provider claim by claim (or in its own front-end process); reporting them to the payer as a
    payer trend would be wrong. Authorization denials count as the payer's problem only when
    the 837s show an authorization on at least half the claims (when the 837s are known), or
    when the payer paid the same procedure without one lately for at least half of them (it
    changed or mis-loaded its rule).
    """
    provider_side = pl.col("category").is_in(PROVIDER_FIX_CATEGORIES)
    if auth_known:
        auth_missing = (pl.col("category") == "authorization") & (
            pl.col("prior_auth_claims").fill_null(0) < AUTH_ON_FILE_SHARE * pl.col("claim_count")
        ) & (pl.col("paid_before_claims").fill_null(0) < AUTH_ON_FILE_SHARE * pl.col("claim_count"))
        provider_side = provider_side | auth_missing
    return provider_side


def cluster_id(cluster_payer: str, signature: str, lookback_days: int = DEFAULT_LOOKBACK_DAYS,
               practice: str = "", evidence: str = "") -> str:
    """Stable id of a cluster: payer + practice + signature + evidence + the window's length.

    The window is identified by its length, not its dates, so the same payer problem keeps
    its id from one nightly run to the next (analysts follow it, "new since last night" can
    be computed, its packet file is refreshed in place); reruns are identical either way.
    """
    text = f"{cluster_payer}|{signature}|{lookback_days}d"
    if practice or evidence:
        text += f"|{practice}|{evidence}"
    return "TC-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _window_claims(denials: pl.DataFrame, window_start: date, as_of: date) -> pl.DataFrame:
    """Denied claims remitted in the window, non-denials dropped, one row per claim identity."""
    frame = denials.with_columns(
        pl.col("primary_reason").str.strip_chars().str.to_uppercase(),
        pl.coalesce(
            pl.col("payer_id").str.strip_chars().str.to_uppercase(),
            pl.col("payer_name").str.strip_chars().str.to_uppercase(),
        # the payer a cluster is of: its id, else its name as written. Not lifecycle.payer_key
        # (which normalises names to match remits to claims): cluster ids hash this one.
        ).alias("cluster_payer"),
    )
    frame = frame.filter(
        pl.col("remit_date").is_between(window_start, as_of),
        pl.col("cluster_payer").is_not_null(),
        pl.col("primary_reason").is_not_null(),
        ~pl.col("category").fill_null("").is_in(NON_DENIAL_CATEGORIES),
        # an underpayment's CO-45 took more than the contract allows: that is its denial
        ~pl.col("primary_reason").is_in(NON_DENIAL_REASONS) | (pl.col("category") == UNDERPAYMENT),
        pl.col("denied_amount").is_null() | (pl.col("denied_amount") > 0),
    )
    frame = frame.with_columns(practice_of(pl.col("billing_tax_id"), pl.col("billing_npi")))
    # Practices number their claims independently: the same PCN at two practices is two claims;
    # claim_id (claimback.lifecycle) also keeps two members' claims under one PCN apart.
    identity = pl.concat_str(
        "practice", pl.lit("|"),
        pl.coalesce(*(["claim_id"] if "claim_id" in frame.columns else []),
                    "patient_control_number", "payer_claim_control_number", "claim_key"),
    )
    return (
        frame.with_columns(identity.alias("claim_identity"))
        .sort("remit_date", "claim_key", descending=True, nulls_last=True)
        .unique(subset=["cluster_payer", "claim_identity"], keep="first", maintain_order=True)
    )


def practice_of(tin: pl.Expr, npi: pl.Expr) -> pl.Expr:
    """The practice a trend belongs to: its billing TIN as digits, else its billing NPI (a payer's
    trend form is per practice, i.e. per TIN; several NPIs of one group are one practice)."""
    tin_digits = tin.cast(pl.String).str.replace_all(r"\D", "")
    return pl.coalesce(
        pl.when(tin_digits != "").then(tin_digits),
        pl.when(npi.cast(pl.String).str.strip_chars() != "").then(npi.cast(pl.String).str.strip_chars()),
        pl.lit(UNKNOWN_PRACTICE),
    ).alias("practice")


def with_evidence(claims: pl.DataFrame, authorized: pl.DataFrame | None) -> pl.DataFrame:
    """Add `evidence`: for authorization / medical-necessity denials whose 837 was matched, whether
    it carried a prior authorization (REF*G1 on the claim or a line: `authorized`, from
    `_authorized_837s`; None when no 837 was read); "" otherwise. Claims with and without one are
    different problems (the payer's error vs the provider's), so they never share a cluster."""
    if authorized is None:
        return claims.with_columns(pl.lit("").alias("evidence"))
    has_auth = pl.col("submitted_claim_key").is_in(authorized["submitted_claim_key"].implode())
    return claims.with_columns(
        pl.when(pl.col("category").is_in(AUTH_RELEVANT_CATEGORIES) & pl.col("submitted_claim_key").is_not_null())
        .then(pl.when(has_auth).then(pl.lit(AUTH_ON_FILE)).otherwise(pl.lit(NO_AUTH_ON_FILE)))
        .otherwise(pl.lit(""))
        .alias("evidence")
    )


def with_signature(claims: pl.DataFrame) -> pl.DataFrame:
    """Add `signature` ("CO-197|N54"): primary reason refined by the claim's most shared remark."""
    remarks = (
        claims.select("cluster_payer", "claim_identity", "primary_reason", "remark_codes")
        .explode("remark_codes")
        .rename({"remark_codes": "remark"})
        .with_columns(pl.col("remark").str.strip_chars().str.to_uppercase())
        .filter(pl.col("remark").is_not_null() & (pl.col("remark") != ""))
        .unique()
    )
    payer_claims = claims.group_by("cluster_payer").agg(pl.len().alias("payer_claims"))
    boilerplate = (
        remarks.group_by("cluster_payer", "remark")
        .agg(
            pl.col("claim_identity").n_unique().alias("claims_with_remark"),
            pl.col("primary_reason").n_unique().alias("reasons_with_remark"),
        )
        .join(payer_claims, on="cluster_payer")
        .filter(
            (pl.col("claims_with_remark") >= BOILERPLATE_REMARK_SHARE * pl.col("payer_claims"))
            & (pl.col("reasons_with_remark") >= 2)
        )
        .select("cluster_payer", "remark")
    )
    remarks = remarks.join(boilerplate, on=["cluster_payer", "remark"], how="anti")
    chosen = (
        remarks.with_columns(
            pl.col("claim_identity")
            .n_unique()
            .over("cluster_payer", "primary_reason", "remark")
            .alias("remark_claims")
        )
        .sort(["remark_claims", "remark"], descending=[True, False])
        .group_by("cluster_payer", "claim_identity", maintain_order=True)
        .agg(pl.col("remark").first().alias("signature_remark"))
    )
    return claims.join(chosen, on=["cluster_payer", "claim_identity"], how="left").with_columns(
        pl.when(pl.col("signature_remark").is_null())
        .then(pl.col("primary_reason"))
        .otherwise(pl.concat_str("primary_reason", pl.lit("|"), "signature_remark"))
        .alias("signature")
    )


def underpaid_procedures(underpaid_lines: pl.DataFrame) -> pl.DataFrame:
    """Per underpaid claim (claim_key), its largest shortfall's line: `procedure` ("97110-GP"), the
    allowed and expected amounts per unit, and where the expected amount came from."""
    modifiers = pl.col("modifiers").list.eval(pl.element().filter(pl.element() != "")).list.join("-").fill_null("")
    return (
        underpaid_lines.filter(pl.col("is_denial").fill_null(True))
        .sort(["claim_key", "shortfall", "line_number"], descending=[False, True, False])
        .unique("claim_key", keep="first", maintain_order=True)
        .select(
            "claim_key", "expected_source",
            procedure=pl.when(modifiers != "").then(pl.concat_str("procedure_code", pl.lit("-"), modifiers))
            .otherwise(pl.col("procedure_code")),
            allowed_per_unit=(pl.col("allowed_amount").cast(pl.Float64) / pl.col("units")).round(2),
            expected_per_unit=pl.col("expected_per_unit").cast(pl.Float64),
        )
    )


def with_underpayment_signature(claims: pl.DataFrame, procedures: pl.DataFrame | None) -> pl.DataFrame:
    """An underpayment's signature is the procedure underpaid ("underpaid 99214"), not its CO-45:
    a fee schedule is loaded wrong one procedure at a time, and CO-45 is on every paid claim.
    `procedures`: underpaid_procedures of the underpaid lines, None without any."""
    if procedures is None:
        procedure = pl.col("procedure_codes").list.first()
    else:
        claims = claims.join(procedures.select("claim_key", "procedure"), on="claim_key", how="left")
        procedure = pl.coalesce("procedure", pl.col("procedure_codes").list.first())
    signature = pl.when(pl.col("category") == UNDERPAYMENT).then(
        pl.concat_str(pl.lit("underpaid "), procedure.fill_null("?"))).otherwise(pl.col("signature"))
    return claims.with_columns(signature=signature).drop("procedure", strict=False)


def describe_underpayments(clusters: pl.DataFrame, members: pl.DataFrame, shared: pl.DataFrame,
                           procedures: pl.DataFrame | None) -> pl.DataFrame:
    """Underpayment clusters described as the payer's trend form takes a fee-schedule loading error:
    "CPT 99214 paid at $95.00 instead of contracted $120.00 on 12 claims remitted since 2026-11-09
    (dates of service from 2026-10-01); …"
    (the amounts per unit most of the claims show; "its usual" where no contract row says it).
    `procedures`: underpaid_procedures of the underpaid lines, None without any."""
    if procedures is None or not (clusters["category"] == UNDERPAYMENT).any():
        return clusters
    amounts = (
        members.select("cluster_id", "claim_key")
        .join(procedures, on="claim_key")
        .group_by("cluster_id")
        .agg(
            pl.col("procedure").mode().sort().first(),
            pl.col("allowed_per_unit").mode().sort().first(),
            pl.col("expected_per_unit").mode().sort().first(),
            contracted=(pl.col("expected_source") == "fee_schedule").mean() >= 0.5,
        )
    )
    details = shared.filter(~pl.col("feature").is_in(["procedure_code", "modifier"]))
    texts = {}
    for row in clusters.filter(pl.col("category") == UNDERPAYMENT).join(amounts, on="cluster_id").iter_rows(named=True):
        usual = "contracted" if row["contracted"] else "its usual"
        parts = [f"CPT {row['procedure']} paid at ${row['allowed_per_unit']:,.2f} instead of {usual} "
                 f"${row['expected_per_unit']:,.2f} on {row['claim_count']} claims remitted since "
                 f"{row['first_remit_date'].isoformat()}"
                 + (f" (dates of service from {row['first_service_date'].isoformat()})"
                    if row["first_service_date"] else "")]
        parts += [f"{f['share']:.0%} " + FEATURE_PHRASES[f["feature"]].format(value=_feature_value(f["feature"], f["value"]))
                  for f in details.filter(pl.col("cluster_id") == row["cluster_id"]).iter_rows(named=True)]
        texts[row["cluster_id"]] = "; ".join(parts) + "."
    return clusters.with_columns(description=pl.col("cluster_id").replace_strict(
        texts, default=pl.col("description"), return_dtype=pl.String))


def weekly_rise(claims: pl.DataFrame, as_of: date, lookback_days: int) -> pl.DataFrame:
    """Per payer and signature: last week's claims, baseline weekly mean, one-sided Poisson p.

    Week 0 is the 7 days ending at `as_of`; the baseline is weeks RECENT_WEEKS .. the last
    complete week of the window (weeks 1-3 are a guard band, so a rise already under way is
    not its own baseline; a partial week at the window start would dilute the mean).
    """
    first_baseline_week = RECENT_WEEKS
    last_baseline_week = lookback_days // 7 - 1
    baseline_weeks = last_baseline_week - first_baseline_week + 1
    weekly = claims.with_columns(
        ((pl.lit(as_of) - pl.col("remit_date")).dt.total_days() // 7).alias("week")
    )
    stats = weekly.group_by(*[c for c in GROUP if c in claims.columns]).agg(
        (pl.col("week") == 0).sum().cast(pl.Int64).alias("last_week_claims"),
        pl.col("week").is_between(first_baseline_week, last_baseline_week).sum().alias("baseline_claims"),
    )
    if baseline_weeks < 1:
        return stats.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("baseline_weekly_claims"),
            pl.lit(None, dtype=pl.Float64).alias("rise_p_value"),
        ).drop("baseline_claims")
    stats = stats.with_columns(
        (pl.col("baseline_claims") / baseline_weeks).alias("baseline_weekly_claims"),
        ((pl.col("baseline_claims") + BASELINE_PSEUDO_COUNT) / baseline_weeks).alias("mu"),
    )
    # imported here: scipy.stats is a second to import, and the packet-drawing processes import
    # this module for its code formatting only
    from scipy.stats import poisson

    p_values = poisson.sf(
        stats["last_week_claims"].to_numpy() - 1, stats["mu"].to_numpy()
    )
    return stats.with_columns(pl.Series("rise_p_value", p_values, dtype=pl.Float64)).drop(
        "baseline_claims", "mu"
    )


def _threshold_expr(threshold: int, thresholds_by_payer: dict[str, int] | None) -> pl.Expr:
    expr = pl.lit(threshold, dtype=pl.Int64)
    for key, value in (thresholds_by_payer or {}).items():
        key = key.strip().upper()
        matches = (pl.col("cluster_payer") == key) | (pl.col("payer_name_upper") == key)
        expr = pl.when(matches).then(pl.lit(value, dtype=pl.Int64)).otherwise(expr)
    return expr


def _group_stats(claims: pl.DataFrame) -> pl.DataFrame:
    return (
        claims.group_by(*GROUP)
        .agg(
            pl.col("payer_name").drop_nulls().mode().sort().first().alias("payer_name"),
            pl.col("payer_id").drop_nulls().mode().sort().first().alias("payer_id"),
            pl.col("billing_tax_id").drop_nulls().mode().sort().first().alias("billing_tin"),
            pl.col("billing_npi").drop_nulls().mode().sort().first().alias("billing_npi"),
            pl.col("category").drop_nulls().mode().sort().first().alias("category"),
            pl.len().alias("claim_count"),
            pl.col("denied_amount").sum().alias("denied_amount"),
            pl.col("remit_date").min().alias("first_remit_date"),
            pl.col("remit_date").max().alias("last_remit_date"),
            pl.col("service_date").min().alias("first_service_date"),
            pl.col("service_date").max().alias("last_service_date"),
        )
        .with_columns(
            pl.col("payer_name").str.strip_chars().str.to_uppercase().alias("payer_name_upper")
        )
    )


FEATURE_SCHEMA = {"submitted_claim_key": pl.String, "feature": pl.String, "value": pl.String}


def submitted_features(
    submitted_claims: pl.DataFrame | None, submitted_service_lines: pl.DataFrame | None
) -> pl.DataFrame:
    """Long frame (submitted_claim_key, feature, value) of what each 837 claim carried."""
    if submitted_claims is None:
        return pl.DataFrame(schema=FEATURE_SCHEMA)
    claim_level = _long(
        submitted_claims.rename({"claim_key": "submitted_claim_key", "claim_filing_indicator": "plan"}),
        ["submitted_claim_key"],
        ["plan", "rendering_npi", "place_of_service"],
    )
    if submitted_service_lines is None:
        return claim_level
    line_level = _long(
        submitted_service_lines.rename({"claim_key": "submitted_claim_key", "modifiers": "modifier"})
        .explode("modifier"),
        ["submitted_claim_key"],
        ["procedure_code", "modifier", "rendering_npi", "place_of_service"],
    )
    return pl.concat([claim_level, line_level]).unique()


def _long(frame: pl.DataFrame, keys: list[str], features: list[str]) -> pl.DataFrame:
    """One row per (keys, feature, non-blank value)."""
    return (
        frame.select(*keys, *[pl.col(f).cast(pl.String) for f in features])
        .unpivot(index=keys, on=features, variable_name="feature", value_name="value")
        .filter(pl.col("value").is_not_null() & (pl.col("value").str.strip_chars() != ""))
        .unique()
    )


def claim_features(claims: pl.DataFrame, submitted: pl.DataFrame) -> pl.DataFrame:
    """Long frame (cluster_payer, claim_identity, feature, value) describing each denied claim.

    Denied procedure codes, rendering NPI and place of service come from the denial itself;
    modifiers and plan/product from the matched 837 (`submitted_features`). Values present
    on the denial win, so a claim is never described twice for one feature.
    """
    keys = ["cluster_payer", "claim_identity"]
    own = _long(
        claims.rename({"procedure_codes": "procedure_code"}).explode("procedure_code"),
        keys,
        ["procedure_code", "rendering_npi", "place_of_service"],
    )
    from_837 = (
        claims.select(*keys, "submitted_claim_key")
        .join(submitted, on="submitted_claim_key")
        .select(*keys, "feature", "value")
        # 837 values only fill features the denial itself does not carry.
        .join(own.select(*keys, "feature").unique(), on=[*keys, "feature"], how="anti")
    )
    # each part is unique already (a claim identity is one claim with one 837) and the anti join
    # makes them disjoint: no unique over their millions of rows
    return pl.concat([own, from_837])


def payer_feature_counts(submitted_claims: pl.DataFrame,
                         submitted_service_lines: pl.DataFrame | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per 837 payer (its id, else its name): how many of its claims carry each feature value
    (submitted_payer, feature, value, claims), and how many claims it has (submitted_payer,
    population). A claim is one payer's, so the counts of disjoint sets of claims add up: a night
    counts its new batches' 837s and adds them to the counts kept (claimback.stages.find_trends)."""
    submitted_claims = conform(submitted_claims, "submitted_claims")
    if submitted_service_lines is not None:
        submitted_service_lines = conform(submitted_service_lines, "submitted_service_lines")
    payers = submitted_claims.select(pl.col("claim_key").alias("submitted_claim_key"), _submitted_payer())
    counts = (
        submitted_features(submitted_claims, submitted_service_lines).join(payers, on="submitted_claim_key")
        .group_by("submitted_payer", "feature", "value")
        .agg(pl.col("submitted_claim_key").n_unique().cast(pl.Int64).alias("claims"))
    )
    totals = payers.group_by("submitted_payer").agg(
        pl.col("submitted_claim_key").n_unique().cast(pl.Int64).alias("population"))
    return counts, totals


def _submitted_payer() -> pl.Expr:
    return pl.coalesce("payer_id", "payer_name").alias("submitted_payer")


def baseline_features(
    claims: pl.DataFrame,
    features: pl.DataFrame,
    submitted_claims: pl.DataFrame | None = None,
    submitted: pl.DataFrame | None = None,
    payer_counts: tuple[pl.DataFrame, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Per payer, feature and value: how many of the payer's claims carry it, of how many.

    The population is the payer's submitted claims when the 837s are given and at least one
    of its denials links to them (the 837 payer id may differ from the 835's, so the payer is
    mapped through those links); otherwise the payer's denied claims in the window.
    `features` is `claim_features(claims, ...)`, `submitted` is `submitted_features(...)`;
    `payer_counts` as in `find_clusters` (then `submitted_claims` need only hold the denials' 837s).
    """
    denied = _shares(features.rename({"claim_identity": "claim_ref"}))
    if submitted_claims is None or submitted is None:
        return denied
    payer_map = (
        claims.select("cluster_payer", "submitted_claim_key")
        .join(
            submitted_claims.select(pl.col("claim_key").alias("submitted_claim_key"), _submitted_payer()),
            on="submitted_claim_key",
        )
        .select("cluster_payer", "submitted_payer")
        .drop_nulls()
        .unique()
    )
    if payer_map.is_empty():
        return denied
    if payer_counts is not None:
        counts, totals = (frame.join(payer_map, on="submitted_payer") for frame in payer_counts)
        from_submitted = (
            counts.group_by("cluster_payer", "feature", "value").agg(pl.col("claims").sum().cast(pl.UInt32))
            .join(totals.group_by("cluster_payer").agg(pl.col("population").sum().cast(pl.UInt32)), on="cluster_payer")
            .select("cluster_payer", "feature", "value", pl.col("claims").alias("payer_claims"), "population")
        )
        return pl.concat([from_submitted,
                          denied.join(payer_map.select("cluster_payer").unique(), on="cluster_payer", how="anti")])
    population = submitted_claims.select(
        pl.col("claim_key").alias("submitted_claim_key"), _submitted_payer()).join(payer_map, on="submitted_payer")
    population_features = (
        population.join(submitted, on="submitted_claim_key")
        .select("cluster_payer", pl.col("submitted_claim_key").alias("claim_ref"), "feature", "value")
        .unique()
    )
    totals = population.group_by("cluster_payer").agg(
        pl.col("submitted_claim_key").n_unique().alias("population")
    )
    from_submitted = _shares(population_features, totals)
    return pl.concat(
        [
            from_submitted,
            denied.join(payer_map.select("cluster_payer").unique(), on="cluster_payer", how="anti"),
        ]
    )


def _shares(long: pl.DataFrame, totals: pl.DataFrame | None = None) -> pl.DataFrame:
    if totals is None:
        totals = long.group_by("cluster_payer").agg(pl.col("claim_ref").n_unique().alias("population"))
    return (
        long.group_by("cluster_payer", "feature", "value")
        .agg(pl.col("claim_ref").n_unique().alias("claims"))
        .join(totals, on="cluster_payer")
        .select("cluster_payer", "feature", "value", pl.col("claims").alias("payer_claims"), "population")
    )


def shared_features(
    members: pl.DataFrame, features: pl.DataFrame, baseline: pl.DataFrame
) -> pl.DataFrame:
    """Per cluster: features with share ≥ 60% and lift ≥ 2, most shared first."""
    sizes = members.group_by("cluster_id").agg(pl.len().alias("cluster_claims"))
    return (
        members.select("cluster_id", "cluster_payer", "claim_identity")
        .join(features, on=["cluster_payer", "claim_identity"])
        .group_by("cluster_id", "cluster_payer", "feature", "value")
        .agg(pl.col("claim_identity").n_unique().alias("claims"))
        .join(sizes, on="cluster_id")
        .join(baseline, on=["cluster_payer", "feature", "value"], how="left")
        .with_columns(
            (pl.col("claims") / pl.col("cluster_claims")).alias("share"),
            # The cluster's own claims are taken out of the payer's population, so the lift
            # compares the cluster with the payer's OTHER claims (clipped: with 837s as the
            # population the cluster's contribution is approximate).
            (
                (pl.col("payer_claims").fill_null(0) - pl.col("claims")).clip(lower_bound=0)
                / (pl.col("population").fill_null(0) - pl.col("cluster_claims")).clip(lower_bound=1)
            ).alias("other_share"),
        )
        .with_columns(
            # A value none of the payer's other claims carry is as distinctive as it gets.
            pl.when(pl.col("other_share") > 0)
            .then(pl.col("share") / pl.col("other_share"))
            .otherwise(float("inf"))
            .alias("lift")
        )
        .filter((pl.col("share") >= FEATURE_MIN_SHARE) & (pl.col("lift") >= FEATURE_MIN_LIFT))
        .with_columns(
            pl.col("feature")
            .replace_strict(list(FEATURE_PHRASES), list(range(len(FEATURE_PHRASES))), default=99)
            .alias("feature_order")
        )
        .sort(["cluster_id", "feature_order", "share", "value"], descending=[False, False, True, False])
        .drop("feature_order")
    )


def _describe(
    groups: pl.DataFrame,
    members: pl.DataFrame,
    shared: pl.DataFrame,
    features: pl.DataFrame,
    authorized: pl.DataFrame | None,
) -> pl.DataFrame:
    """Add description, shared_features, example claim and prior-authorization counts."""
    auth = _prior_auth_counts(members, authorized)
    example = _example_claims(members, shared, features)
    shared_lists = shared.group_by("cluster_id", maintain_order=True).agg(
        pl.struct("feature", "value", "share", "lift").alias("shared")
    )
    frame = (
        groups.join(example, on="cluster_id", how="left")
        .join(auth, on="cluster_id", how="left")
        .join(shared_lists, on="cluster_id", how="left")
    )
    descriptions, listed = [], []
    for row in frame.iter_rows(named=True):
        shared_rows = row["shared"] or []
        descriptions.append(describe_cluster(row, shared_rows))
        listed.append([_feature_note(f) for f in shared_rows])
    return frame.with_columns(
        pl.Series("description", descriptions, dtype=pl.String),
        pl.Series("shared_features", listed, dtype=pl.List(pl.String)),
    )


def _paid_before_of(paid_before: pl.DataFrame | Callable[[pl.DataFrame], pl.DataFrame] | None,
                    members: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame | None:
    """`paid_before` as given, or, given a function, counted for the members it is read for: those of
    flagged authorization clusters (`_provider_side`). The window of a 10 M-claim history holds 479 k
    denials, its authorization clusters 57 k."""
    if not callable(paid_before):
        return paid_before
    read_for = clusters.filter((pl.col("status") == "flagged") & (pl.col("category") == "authorization"))
    return paid_before(members.join(read_for.select("cluster_id"), on="cluster_id", how="semi")
                       .select("claim_key").unique())


def _paid_before_counts(members: pl.DataFrame, paid_before: pl.DataFrame | None) -> pl.DataFrame:
    """Per cluster: member claims of a procedure the payer lately paid without an authorization."""
    if paid_before is None or paid_before.is_empty():
        return pl.DataFrame(schema={"cluster_id": pl.String, "paid_before_claims": pl.UInt32})
    paid = paid_before.filter(pl.col("paid_before_count") > 0).select("claim_key")
    return (
        members.join(paid, on="claim_key", how="semi")
        .group_by("cluster_id")
        .agg(pl.col("claim_key").n_unique().alias("paid_before_claims"))
    )


def _authorized_837s(
    submitted_claims: pl.DataFrame | None, submitted_service_lines: pl.DataFrame | None
) -> pl.DataFrame | None:
    """`submitted_claim_key` of the 837 claims that carried a prior authorization, on the claim
    (2300 REF*G1) or on a line (2400 REF*G1), as routing's evidence reads it; None without 837s."""
    if submitted_claims is None:
        return None
    sent = [
        frame.filter(pl.col("prior_authorization").str.strip_chars().fill_null("") != "")
        .select(pl.col("claim_key").alias("submitted_claim_key"))
        for frame in (submitted_claims, submitted_service_lines)
        if frame is not None and "prior_authorization" in frame.columns
    ]
    if not sent:
        return pl.DataFrame(schema={"submitted_claim_key": pl.String})
    return pl.concat(sent).unique()


def _prior_auth_counts(members: pl.DataFrame, authorized: pl.DataFrame | None) -> pl.DataFrame:
    if authorized is None:
        return pl.DataFrame(schema={"cluster_id": pl.String, "prior_auth_claims": pl.UInt32})
    return (
        members.join(authorized, on="submitted_claim_key", how="semi")
        .group_by("cluster_id")
        .agg(pl.col("claim_identity").n_unique().alias("prior_auth_claims"))
    )


def _example_claims(members: pl.DataFrame, shared: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
    """The example claim: carries the most shared features, then the latest remit, then largest $."""
    matches = (
        members.select("cluster_id", "cluster_payer", "claim_identity")
        .join(features, on=["cluster_payer", "claim_identity"])
        .join(shared.select("cluster_id", "feature", "value"), on=["cluster_id", "feature", "value"])
        .group_by("cluster_id", "claim_identity")
        .agg(pl.len().alias("shared_hits"))
    )
    # each cluster's first claim in that order, found within the cluster (a window of 670 k members
    # sorted whole took 1.7 s); the claim key breaks every tie, so the claim is the same either way
    example = pl.struct(example_claim_key="claim_key", example_patient_control_number="patient_control_number")
    return (
        members.join(matches, on=["cluster_id", "claim_identity"], how="left")
        .with_columns(pl.col("shared_hits").fill_null(0))
        .group_by("cluster_id")
        .agg(example.sort_by(["shared_hits", "remit_date", "denied_amount", "claim_key"],
                             descending=[True, True, True, False], nulls_last=True).first().alias("example"))
        .unnest("example")
    )


def _feature_value(feature: str, value: str) -> str:
    return PLAN_NAMES.get(value, f"plan {value}") if feature == "plan" else value


def _feature_note(f: dict) -> str:
    lift = "new at this payer" if math.isinf(f["lift"]) else f"lift {f['lift']:.1f}"
    return f"{f['feature']}={f['value']} ({f['share']:.0%} of claims, {lift})"


def describe_cluster(row: dict, shared_rows: list[dict]) -> str:
    """One plain sentence a payer can act on, e.g.

    "23 claims for procedure 97110 denied CO-197 (N54) with dates of service 2026-09-01 to
    2026-10-20; 100% rendered by NPI 1234567893; prior authorization was on file for 18."
    """
    n = row["claim_count"]
    lead_features = [f for f in shared_rows if f["share"] >= 1.0 and f["feature"] in ("procedure_code", "modifier")]
    details = [f for f in shared_rows if f not in lead_features]
    lead = f"{n} claims"
    for f in lead_features:
        lead += " " + FEATURE_PHRASES[f["feature"]].format(value=f["value"])
    lead += f" denied {format_codes(row['signature'])}"
    if row.get("first_service_date") and row.get("last_service_date"):
        first, last = row["first_service_date"], row["last_service_date"]
        lead += (
            f" for date of service {first.isoformat()}"
            if first == last
            else f" with dates of service {first.isoformat()} to {last.isoformat()}"
        )
    else:
        lead += f" on remits of {row['first_remit_date'].isoformat()} to {row['last_remit_date'].isoformat()}"
    parts = [lead]
    for f in details:
        phrase = FEATURE_PHRASES[f["feature"]].format(value=_feature_value(f["feature"], f["value"]))
        parts.append(f"{f['share']:.0%} {phrase}")
    if row.get("evidence") == NO_AUTH_ON_FILE:
        parts.append("none of the claims as sent carried a prior authorization number")
    elif row.get("prior_auth_claims") and row.get("category") in AUTH_RELEVANT_CATEGORIES:
        on_file = row["prior_auth_claims"]
        parts.append("a prior authorization number was on every claim as sent" if on_file == n
                     else f"prior authorization was on file for {on_file}")
    return "; ".join(parts) + "."
