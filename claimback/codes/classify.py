"""Classify CAS adjustments: what each group/CARC pair means for the money and the work.

`classify` adds, to every adjustment row, the CARC's label, its root-cause category, who can
fix it, the route a code alone suggests and the adjustment kind (denial, pricing,
patient_share, cob, informational) the denials engine uses to tell refused money from
contract pricing and patient share. The group code refines that (PR-45 is the patient's
out-of-network share, PR-96 is a coverage denial the patient owes) and remark codes refine
vague categories (CO-16 + N30 is an eligibility problem). Unknown codes never raise: they
are `unknown` denials (or patient share under PR) and `unknown_codes` lists them.
"""
from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from claimback.codes import registry
from claimback.codes.tables import carc, rarc
from claimback.codes.vocab import CATEGORY_DEFAULTS, HINT_PRECEDENCE, REFINABLE_CATEGORIES

_ADDED = (
    "carc_label",
    "category",
    "fixable_by",
    "suggested_route",
    "adjustment_kind",
    "code_known",
    "code_deactivated",
)


# Scratch columns of classify(); never part of its output.
_WORK_COLUMNS = ("_code", "_group", "_category", "_fixable_by", "_route", "_kind", "_stop_date", "_status", "_listed",
                 "_refined")


def normalize_code(expr: pl.Expr) -> pl.Expr:
    """A code as the lists spell it: trimmed, upper case, no leading zeros on numbers ("045" -> "45")."""
    text = expr.cast(pl.String).str.strip_chars().str.to_uppercase()
    return pl.when(text != "").then(text.str.replace(r"^0+([0-9])", "$1"))


def _normalize_remark(expr: pl.Expr) -> pl.Expr:
    # Remark codes always start with letters, so trimming and case are all that can differ;
    # kept this cheap because it runs on every element of every remark list.
    return expr.str.strip_chars().str.to_uppercase()


_hint_cache: list = []  # [(rarc frame, result)]: the loader returns the same frame until the file changes


def _hint_ranks() -> tuple[dict[str, int], dict[int, str]]:
    """(remark code -> precedence rank of its hint, rank -> category) from the current RARC list."""
    remarks = rarc()
    if _hint_cache and _hint_cache[0][0] is remarks:
        return _hint_cache[0][1]
    hints = remarks.filter(pl.col("category_hint").is_in(HINT_PRECEDENCE))
    rank_of = {category: rank for rank, category in enumerate(HINT_PRECEDENCE)}
    by_code = {
        code: rank_of[hint] for code, hint in zip(hints["code"], hints["category_hint"], strict=True)
    }
    result = (by_code, {rank: category for category, rank in rank_of.items()})
    _hint_cache[:] = [(remarks, result)]
    return result


def refine_category_expr(category: pl.Expr | str, remark_codes: pl.Expr | str) -> pl.Expr:
    """Polars form of `refine_category`: `category` a String column, `remark_codes` a List[String]."""
    category = pl.col(category) if isinstance(category, str) else category
    remark_codes = pl.col(remark_codes) if isinstance(remark_codes, str) else remark_codes
    rank_by_code, category_by_rank = _hint_ranks()
    base = category.fill_null("unknown")
    best_rank = remark_codes.list.eval(
        _normalize_remark(pl.element()).replace_strict(rank_by_code, default=None, return_dtype=pl.Int32)
    ).list.min()
    # A hint replaces the base only when the base may be refined and the hint is more
    # specific (ranks before it); otherwise the rank is pushed past every hint so the lookup
    # misses and the base stands. (Arithmetic rather than when/then: Polars evaluates a
    # list.eval inside a when/then branch row by row, hundreds of times slower.)
    base_rank = base.replace_strict(_base_ranks(category_by_rank), default=None, return_dtype=pl.Int32)
    stays = base_rank.is_null() | (best_rank >= base_rank)
    hinted = (best_rank + stays.cast(pl.Int32) * len(category_by_rank)).replace_strict(
        category_by_rank, default=None, return_dtype=pl.String
    )
    return hinted.fill_null(base)


def _base_ranks(category_by_rank: dict[int, str]) -> dict[str, int]:
    """Rank of each refinable category: hints ranked before it may replace it."""
    rank_of = {category: rank for rank, category in category_by_rank.items()}
    return {category: rank_of.get(category, len(rank_of)) for category in REFINABLE_CATEGORIES}


def refine_category(category: str | None, remark_codes: Sequence[str] | None) -> str:
    """The category after remark codes: a vague category takes the most actionable remark hint.

    Only `unknown`, `missing_information`, `non_covered_benefit_limit` and `payer_error` are
    refined, and only by a hint more specific than themselves (HINT_PRECEDENCE): CO-16 + N30
    is eligibility, but CO-16 + N14 (priced per contract) stays missing information. Specific
    CARC categories (medical necessity, authorization...) always stand.
    """
    base = category or "unknown"
    rank_by_code, category_by_rank = _hint_ranks()
    base_rank = _base_ranks(category_by_rank).get(base)
    if base_rank is None:
        return base
    ranks = [rank_by_code.get(code.strip().upper()) for code in remark_codes or () if code]
    ranks = [rank for rank in ranks if rank is not None and rank < base_rank]
    return category_by_rank[min(ranks)] if ranks else base


def _default_for(category: pl.Expr, position: int) -> pl.Expr:
    mapping = {name: defaults[position] for name, defaults in CATEGORY_DEFAULTS.items()}
    return category.replace_strict(mapping, default=None, return_dtype=pl.String)


def classify(adjustments: pl.DataFrame) -> pl.DataFrame:
    """Add carc_label, category, fixable_by, suggested_route, adjustment_kind to adjustments.

    Needs `reason_code`; uses `group_code` when present, `remark_codes` (List[String]) to
    refine vague categories when present, and `remit_date` to judge whether a code had been
    deactivated when it was sent (`code_deactivated`; without a date, any stop date counts).
    Also adds `code_known`. Nulls and unknown codes never raise; rows keep their order, and
    columns of these names already in the input are replaced.
    """
    if "reason_code" not in adjustments.columns:
        raise ValueError("classify needs a reason_code column")
    clash = [c for c in _ADDED if c in adjustments.columns]
    frame = adjustments.drop(clash)
    group = (
        pl.col("group_code").cast(pl.String).str.strip_chars().str.to_uppercase()
        if "group_code" in frame.columns
        else pl.lit(None, dtype=pl.String)
    )
    codes = carc().select(
        pl.col("code").alias("_code"),
        pl.col("label").alias("carc_label"),
        pl.col("category").alias("_category"),
        pl.col("fixable_by").alias("_fixable_by"),
        pl.col("suggested_route").alias("_route"),
        pl.col("adjustment_kind").alias("_kind"),
        pl.col("stop_date").alias("_stop_date"),
        pl.col("status").alias("_status"),
        pl.lit(True).alias("_listed"),
    )
    joined = frame.with_columns(
        normalize_code(pl.col("reason_code")).alias("_code"), group.alias("_group")
    ).join(codes, on="_code", how="left", maintain_order="left")

    # A code added from an official list has no kind or category of ours yet: it is listed
    # (known) but treated like an unknown code until someone classifies it.
    known = pl.col("_kind").is_not_null()
    listed = pl.col("_listed").fill_null(False)
    is_pr = (pl.col("_group") == "PR").fill_null(False)
    kind = (
        pl.when(~known)
        .then(pl.when(is_pr).then(pl.lit("patient_share")).otherwise(pl.lit("denial")))
        # The patient's share of a price cut: out-of-network balance (PR-45) and the like.
        .when(is_pr & (pl.col("_kind") == "pricing"))
        .then(pl.lit("patient_share"))
        .otherwise(pl.col("_kind"))
    )
    category = (
        pl.when(~known)
        .then(pl.lit("unknown"))
        .when(is_pr & (pl.col("_kind") == "pricing"))
        .then(pl.lit("patient_responsibility"))
        .otherwise(pl.col("_category"))
    )
    joined = joined.with_columns(kind.alias("adjustment_kind"), category.alias("category"))
    if "remark_codes" in frame.columns:
        # Two steps on purpose: the refinement must not sit inside a when/then (see
        # refine_category_expr); only denials are refined, pricing and shares keep theirs.
        remarks = pl.col("remark_codes").cast(pl.List(pl.String))
        joined = joined.with_columns(refine_category_expr("category", remarks).alias("_refined")).with_columns(
            pl.when(pl.col("adjustment_kind") == "denial")
            .then(pl.col("_refined"))
            .otherwise(pl.col("category"))
            .alias("category")
        )

    changed = ~known | (pl.col("category") != pl.col("_category"))
    fixable = pl.when(changed).then(_default_for(pl.col("category"), 0)).otherwise(pl.col("_fixable_by"))
    route = pl.when(changed).then(_default_for(pl.col("category"), 1)).otherwise(pl.col("_route"))
    # Whatever the reason, money under PR is collected from (or disputed for) the patient.
    fixable = pl.when(is_pr).then(pl.lit("patient")).otherwise(fixable)
    for group_code, entry in registry.registry().groups.items():
        route = pl.when(pl.col("_group") == group_code).then(pl.lit(entry.route)).otherwise(route)
    route = pl.when(pl.col("adjustment_kind") == "denial").then(route).otherwise(None)

    stop = pl.col("_stop_date")
    if "remit_date" in frame.columns:
        deactivated = stop.is_not_null() & (pl.col("remit_date").cast(pl.Date) >= stop)
    else:
        deactivated = stop.is_not_null()
    # X12 says deactivated without saying since when: deactivated whatever the remit's date
    deactivated = deactivated | (stop.is_null() & (pl.col("_status") == "deactivated"))
    return joined.with_columns(
        fixable.alias("fixable_by"),
        route.alias("suggested_route"),
        listed.alias("code_known"),
        deactivated.fill_null(False).alias("code_deactivated"),
    ).drop(_WORK_COLUMNS, strict=False)


def unknown_codes(adjustments: pl.DataFrame, remarks: pl.DataFrame | None = None) -> pl.DataFrame:
    """Codes we cannot classify, with how often and how much: one row per (kind, code).

    `kind` is "carc" for adjustment reason codes and "rarc" for remark codes (from `remarks`,
    a remit_remarks-shaped frame with `remark_code`). `listed` is False for codes in no list
    (a payer's own code, a newer list) and True for CARCs an official import added that no one
    has categorised yet. Blank codes are not codes and are left to the X12 validator.
    """
    carcs = carc()
    classified = carcs.filter((pl.col("category") != "unknown") & pl.col("adjustment_kind").is_not_null())
    parts = [_unknown(adjustments, "reason_code", classified["code"], carcs["code"], "carc")]
    if remarks is not None:
        remark_codes = rarc()["code"]
        parts.append(_unknown(remarks, "remark_code", remark_codes, remark_codes, "rarc"))
    return pl.concat(parts, how="vertical").sort(
        ["kind", "occurrences", "code"], descending=[False, True, False]
    )


_UNKNOWN_SCHEMA = {
    "kind": pl.String,
    "code": pl.String,
    "listed": pl.Boolean,
    "occurrences": pl.UInt32,
    "claim_count": pl.UInt32,
    "total_amount": pl.Decimal(18, 2),
}


def _unknown(frame: pl.DataFrame, column: str, known: pl.Series, listed: pl.Series, kind: str) -> pl.DataFrame:
    if column not in frame.columns:
        raise ValueError(f"unknown_codes needs a {column} column")
    claims = pl.col("claim_key").n_unique() if "claim_key" in frame.columns else pl.lit(None)
    amount = pl.col("amount").sum() if "amount" in frame.columns else pl.lit(None)
    found = (
        frame.with_columns(normalize_code(pl.col(column)).alias("code"))
        .filter(pl.col("code").is_not_null() & ~pl.col("code").is_in(known.implode()))
        .group_by("code")
        .agg(
            pl.len().alias("occurrences"),
            claims.alias("claim_count"),
            amount.alias("total_amount"),
        )
        .with_columns(pl.lit(kind).alias("kind"), pl.col("code").is_in(listed.implode()).alias("listed"))
    )
    return found.select(pl.col(name).cast(dtype) for name, dtype in _UNKNOWN_SCHEMA.items())


def explain(code: str) -> dict[str, object]:
    """What one code means, for a notebook or a message: "CO-197", "197", "N54", "PR-96".

    A group-CARC pair (or a bare CARC) goes through `classify`, so the answer is exactly what
    the pipeline does with it; a RARC returns its label and category hint. Unknown codes
    come back with `known` False rather than an error.
    """
    text = (code or "").strip().upper()
    group, _, reason = text.rpartition("-") if "-" in text else ("", "", text)
    remark = rarc().filter(pl.col("code") == reason)
    if not group and remark.height:
        row = remark.row(0, named=True)
        return {
            "kind": "rarc",
            "code": reason,
            "known": True,
            "label": row["label"],
            "category_hint": row["category_hint"],
        }
    frame = pl.DataFrame(
        {"group_code": [group or None], "reason_code": [reason]},
        schema={"group_code": pl.String, "reason_code": pl.String},
    )
    row = classify(frame).row(0, named=True)
    return {
        "kind": "carc",
        "code": text,
        "known": row["code_known"],
        "label": row["carc_label"],
        "category": row["category"],
        "fixable_by": row["fixable_by"],
        "suggested_route": row["suggested_route"],
        "adjustment_kind": row["adjustment_kind"],
        "deactivated": row["code_deactivated"],
    }
