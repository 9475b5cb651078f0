"""Check the CARC usage rules in remits: allowed group codes, and CARCs that need a remark.

The CARC texts restrict some codes to certain groups (23 and 133 only with OA, 45 only with
CO or PR) and require a remark code with others (16, 96, 252, A1...). The CAQH CORE uniform
use rule makes these binding for health plans, so a payer that sends CO-16 without a RARC
has not said what to fix: that is a payer finding, worth a reconsideration or a trend report,
not a billing error of ours. Findings name claim keys and codes only.
"""
from __future__ import annotations

import polars as pl

from claimback.codes.classify import normalize_code
from claimback.codes.tables import carc

FINDING_SCHEMA: dict[str, pl.DataType] = {
    "claim_key": pl.String,
    "line_number": pl.Int64,
    "group_code": pl.String,
    "reason_code": pl.String,
    "rule": pl.String,  # group_not_allowed | remark_missing
    "message": pl.String,
}


def usage_findings(adjustments: pl.DataFrame, remarks: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per adjustment that breaks a CARC usage rule (see FINDING_SCHEMA).

    `adjustments` is remit_adjustments-shaped (claim_key, line_number, group_code,
    reason_code). The remark rule is checked only when `remarks` (remit_remarks-shaped) is
    given: a remark on the same line, or at claim level, satisfies it; a claim-level
    adjustment is satisfied by any remark on the claim.
    """
    rules = carc().select(
        pl.col("code").alias("_code"),
        pl.col("requires_remark").fill_null(False).alias("_requires_remark"),
        pl.col("allowed_groups").str.split(" ").alias("_allowed_groups"),
    )
    frame = adjustments.with_columns(
        pl.col("claim_key").cast(pl.String),
        pl.col("line_number").cast(pl.Int64),
        normalize_code(pl.col("reason_code")).alias("_code"),
        pl.col("group_code").cast(pl.String).str.strip_chars().str.to_uppercase().alias("_group"),
    ).join(rules, on="_code", how="inner")
    pair = pl.concat_str(pl.col("_group"), pl.lit("-"), pl.col("_code"))

    wrong_group = frame.filter(
        pl.col("_allowed_groups").is_not_null()
        & pl.col("_group").is_not_null()
        & ~pl.col("_allowed_groups").list.contains(pl.col("_group"))
    ).with_columns(
        pl.lit("group_not_allowed").alias("rule"),
        pl.concat_str(
            pair, pl.lit(": CARC "), pl.col("_code"), pl.lit(" may only be sent with group "),
            pl.col("_allowed_groups").list.join(" or "),
        ).alias("message"),
    )
    findings = [wrong_group]
    if remarks is not None:
        findings.append(_missing_remarks(frame.filter(pl.col("_requires_remark")), remarks, pair))
    return pl.concat(
        [part.select(pl.col(name).cast(dtype) for name, dtype in FINDING_SCHEMA.items()) for part in findings],
        how="vertical",
    ).sort("claim_key", "line_number", "rule", "reason_code", nulls_last=False)


def _missing_remarks(needing: pl.DataFrame, remarks: pl.DataFrame, pair: pl.Expr) -> pl.DataFrame:
    present = remarks.filter(pl.col("remark_code").is_not_null()).select(
        pl.col("claim_key").cast(pl.String), pl.col("line_number").cast(pl.Int64)
    )
    claim_level = present.filter(pl.col("line_number").is_null()).select("claim_key").unique()
    any_remark = present.select("claim_key").unique()
    on_line = present.filter(pl.col("line_number").is_not_null()).unique()
    at_line = needing.filter(pl.col("line_number").is_not_null())
    at_claim = needing.filter(pl.col("line_number").is_null())
    missing = pl.concat(
        [
            at_line.join(on_line, on=["claim_key", "line_number"], how="anti").join(
                claim_level, on="claim_key", how="anti"
            ),
            at_claim.join(any_remark, on="claim_key", how="anti"),
        ],
        how="vertical",
    )
    return missing.with_columns(
        pl.lit("remark_missing").alias("rule"),
        pl.concat_str(
            pair, pl.lit(": sent without a remark code; CARC "), pl.col("_code"),
            pl.lit(" requires one to say what is wrong"),
        ).alias("message"),
    )
