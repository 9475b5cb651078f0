"""Validation findings the reader reports (never rejects): money that does not balance, NPIs
whose check digit is wrong, and adjustment reason or remark codes that no code list knows.

835 balancing rules (005010X221A1 §1.10.2): a claim's charge minus payment equals its CAS
adjustments (claim and line level); a line's charge minus payment equals its line CAS; the
check (BPR02) equals the claims' payments minus the provider-level adjustments (PLB).
De-identified sample files are masked and never balance, which is why these are findings.
"""
from __future__ import annotations

import polars as pl

from claimback.x12.fields import npi_is_valid

ZERO = pl.lit(0).cast(pl.Decimal(18, 2))

# Where a finding points: the `location` of a transaction set's row (payments), or the `seg_index`
# and `offset` of the claim or line it is about, which the reader turns into a location once found
# (structure.locate_found) rather than formatting one for every claim and line it reads.
WHERE = pl.col("^(location|seg_index|offset)$")


def _sum(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Decimal(18, 2)).fill_null(0).sum()


def _finding(rule: str, severity: str, message: pl.Expr, claim_key: str | None = "claim_key") -> dict:
    return dict(rule=pl.lit(rule), severity=pl.lit(severity), message=message,
                claim_key=pl.col(claim_key) if claim_key else pl.lit(None, pl.String))


def _unbalanced(rows: pl.LazyFrame, cas: pl.LazyFrame, key: str) -> pl.LazyFrame:
    """Rows whose charge minus payment differs from their CAS adjustments (`expected`, `cas_total`)."""
    return rows.join(cas, on=key, how="left").with_columns(
        pl.col("cas_total").fill_null(ZERO),
        expected=pl.col("charge_amount").cast(pl.Decimal(18, 2)).fill_null(0)
        - pl.col("paid_amount").cast(pl.Decimal(18, 2)).fill_null(0),
    ).filter(pl.col("expected") != pl.col("cas_total"))


def claim_balance(claims: pl.LazyFrame, adjustments: pl.LazyFrame) -> pl.LazyFrame:
    cas = adjustments.group_by("claim_ordinal").agg(cas_total=_sum("amount"))
    return _unbalanced(claims, cas, "claim_ordinal").select(
        "txn", WHERE,
        **_finding("claim_balance", "warning", pl.format(
            "claim {}: charge minus payment (CLP03 - CLP04) is {} but its CAS adjustments total {}",
            pl.col("patient_control_number").fill_null("-"), pl.col("expected"), pl.col("cas_total"))),
    )


def line_balance(lines: pl.LazyFrame, adjustments: pl.LazyFrame) -> pl.LazyFrame:
    cas = adjustments.filter(pl.col("line_seq").is_not_null()).group_by("line_seq").agg(cas_total=_sum("amount"))
    return _unbalanced(lines, cas, "line_seq").select(
        "txn", WHERE,
        **_finding("line_balance", "warning", pl.format(
            "service line {} ({}): charge minus payment (SVC02 - SVC03) is {} but its CAS adjustments total {}",
            pl.col("line_number"), pl.col("procedure_code").fill_null("-"), pl.col("expected"), pl.col("cas_total"))),
    )


def transaction_balance(payments: pl.LazyFrame, claims: pl.LazyFrame, plb: pl.LazyFrame) -> pl.LazyFrame:
    paid = claims.group_by("txn").agg(paid=_sum("paid_amount"))
    adj = plb.group_by("txn").agg(plb=_sum("amount"))
    p = payments.filter(pl.col("total_payment_amount").is_not_null()).join(paid, on="txn", how="left").join(
        adj, on="txn", how="left").with_columns(pl.col("paid").fill_null(ZERO), pl.col("plb").fill_null(ZERO))
    return p.filter(pl.col("total_payment_amount").cast(pl.Decimal(18, 2)) != pl.col("paid") - pl.col("plb")).select(
        "txn", WHERE,
        **_finding("transaction_balance", "error", pl.format(
            "BPR02 total payment {} does not equal claim payments {} minus provider adjustments {}",
            pl.col("total_payment_amount"), pl.col("paid"), pl.col("plb")), claim_key=None),
    )


def which_may_find(payments: pl.DataFrame, claims: pl.DataFrame, adjustments: pl.DataFrame,
                   remarks: pl.DataFrame) -> dict[str, bool]:
    """Whether the payee and rendering NPI checks and unknown_codes can find anything, tested on
    the distinct values alone (a practice's few NPIs and codes, where the rows are hundreds of
    thousands) in one collect, so that a piece with nothing to report skips those checks."""
    def any_bad_npi(frame: pl.DataFrame, column: str) -> pl.LazyFrame:
        return frame.lazy().select(pl.col(column).unique()).select(found=(npi_is_valid(pl.col(column)) == False).any())  # noqa: E712

    plans = {
        "payee_npi": any_bad_npi(payments, "payee_npi"),
        "rendering_npi": any_bad_npi(claims, "rendering_npi"),
        "carc": adjustments.lazy().select(pl.col("reason_code").unique()).with_columns(_code=_carc_code())
        .select(found=_unknown_carc().any()),
        "rarc": remarks.lazy().select(pl.col("remark_code").unique()).with_columns(_code=_rarc_code())
        .select(found=_unknown_rarc().any()),
    }
    found = dict(zip(plans, (frame.item() for frame in pl.collect_all(plans.values()))))
    return {"payee_npi": found["payee_npi"], "rendering_npi": found["rendering_npi"],
            "codes": found["carc"] or found["rarc"]}


def npi_check_digits(frame: pl.LazyFrame, column: str, role: str, with_claim: bool = True) -> pl.LazyFrame:
    """NPIs in `column` that are ten digits but fail the Luhn check digit."""
    bad = frame.filter(npi_is_valid(pl.col(column)) == False)  # noqa: E712 - null means "not an NPI"
    return bad.select(
        "txn", WHERE,
        **_finding("npi_check_digit", "warning", pl.format(
            "{} NPI {} fails the NPI check digit (Luhn with prefix 80840)", pl.lit(role), pl.col(column)),
            claim_key="claim_key" if with_claim else None),
    ).unique(maintain_order=True)


def _unknown_carc() -> pl.Expr:
    """Whether an adjustment's CARC (`_code`, normalised) has no category in the CARC list."""
    from claimback import codes

    carcs = codes.carc()
    categorised = carcs.filter((pl.col("category") != "unknown") & pl.col("adjustment_kind").is_not_null())
    return pl.col("_code").is_not_null() & ~pl.col("_code").is_in(categorised["code"].implode())


def _unknown_rarc() -> pl.Expr:
    """Whether a remark code (`_code`, normalised) is not in the RARC list."""
    from claimback import codes

    return pl.col("_code").is_not_null() & (pl.col("_code") != "") & ~pl.col("_code").is_in(
        codes.rarc()["code"].implode())


def _carc_code() -> pl.Expr:
    from claimback import codes

    return codes.normalize_code(pl.col("reason_code"))


def _rarc_code() -> pl.Expr:
    return pl.col("remark_code").str.strip_chars().str.to_uppercase()


def unknown_codes(claims: pl.LazyFrame, adjustments: pl.LazyFrame, remarks: pl.LazyFrame) -> pl.LazyFrame:
    """CARCs and RARCs the code lists do not know (or know but have not categorised yet).

    Such a code is never silently a denial or silently ignored: the denial it makes is routed for
    review under category `unknown`, and this finding names the code and the claim.
    """
    from claimback import codes

    listed_carc = codes.carc()["code"].implode()
    where = claims.select("claim_ordinal", "txn", WHERE, "claim_key",
                          pcn=pl.col("patient_control_number").fill_null("-"))
    # the claim's own txn, segment and offset: the codes' rows are narrowed to what the messages read
    bad_carc = adjustments.select("claim_ordinal", "group_code", "reason_code", "amount").with_columns(
        _code=_carc_code()).filter(_unknown_carc()).join(where, on="claim_ordinal").select(
        "txn", WHERE,
        **_finding("unknown_carc", "warning", pl.format(
            "claim {}: adjustment {}-{} ({}) {}; a denial it makes is routed for review",
            pl.col("pcn"), pl.col("group_code").fill_null("-"), pl.col("_code"),
            pl.col("amount").cast(pl.String).fill_null("-"),
            pl.when(pl.col("_code").is_in(listed_carc))
            .then(pl.lit("has no category in our CARC list yet"))
            .otherwise(pl.lit("is not in the X12 CARC list (code source 139)")))),
    )
    bad_rarc = remarks.select("claim_ordinal", "remark_code", "source_segment").with_columns(
        _code=_rarc_code()).filter(_unknown_rarc()).join(
        where, on="claim_ordinal").select(
        "txn", WHERE,
        **_finding("unknown_rarc", "warning", pl.format(
            "claim {}: remark code {} ({}) is not in the X12 RARC list (code source 411); kept on the "
            "claim without a category hint", pl.col("pcn"), pl.col("_code"), pl.col("source_segment"))),
    )
    return pl.concat([bad_carc, bad_rarc])
