"""Underpayments: paid service lines the payer allowed materially below what it should have.

A line paid "in full" after a CO-45 looks settled, yet when the payer loaded the wrong fee
schedule the CO-45 took part of the contracted amount with it. Each paid line of each claim's
latest adjudication is compared with the amount expected for it; a line allowed materially below
is an `underpaid_lines` row, and a claim with such lines (and no other denial) becomes a denial of
category `underpayment` whose denied amount is the shortfall, routed as a payment dispute (Level I).

**Allowed amount of a line** (X12 835 005010X221A1, loop 2110):

* AMT*B6 ("Allowed - Actual") when the payer sent it: the TR3 defines the allowed amount as what
  the payer deems payable before patient responsibility is applied.
* Else SVC03 (paid) plus the line's CAS amounts of group PR (patient responsibility: deductible,
  coinsurance, copay...). The TR3's line balancing (SVC02 − every CAS amount = SVC03) makes this the
  charge minus the CO/OA/PI/CR adjustments, but it does not depend on the line balancing: a remit
  that leaves out a CAS still reports what it paid. Medicare's sequestration (CO-253, 2%) lowers
  this figure a little; the materiality threshold below is above it.

Only lines that can be judged are: adjudications that pay or deny (not reversals or
predeterminations), processed as primary (CLP02 1 or 19: a secondary payer's allowed amount is
shaped by the primary's payment), lines with no denying adjustment of their own and claims with no
claim-level denial (those lines are denials, worked as such), and an allowed amount above zero.

**Expected allowed amount** (`expected_source`):

* `fee_schedule`: the organisation's contract fee schedule (every inbox file whose name ends in
  `fee_schedule.csv`, or the file the `fee_schedule` setting names): columns payer, product,
  procedure, modifier, expected_allowed, effective_from, effective_to. A row applies to a line of
  its payer (payer id or name), product (CLP06 claim filing indicator; blank: every product),
  procedure, modifier (blank: any; else the line must carry it) and date of service within its
  effective dates (blank: open). The most specific row wins (a modifier row over a blank one, a
  product row over a blank one), then the latest effective_from, then the first in the file.
  `expected_allowed` is per unit, times the line's units (SVC05).
* `payer_modal_180d`, for lines no row covers: the payer's own modal allowed amount per unit for
  the same procedure and modifiers at the same practice, over the lines it remitted in the 180 days
  BEFORE this line's remit (so a batch of wrongly priced lines never votes for itself). Used only
  with at least `min_observations` such lines (default 5) and a clear mode: the modal amount is on
  at least half of them and on more than any other amount.

Either way a line billed below the expected amount is expected at its charge (contracts pay the
lesser of the billed charge and the fee schedule).

**Materially below**: shortfall = expected − allowed ≥ max($5, 5% of expected) (settings
`underpayment_min_dollars`, `underpayment_min_share`). `hidden_by` names the line's largest CAS
of a group other than PR ("CO-45": the classic wrong fee schedule); it becomes the denial's
`primary_reason`.

A claim denied for another reason keeps that denial: its underpaid lines are listed
(`is_denial` false) and not counted twice.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl

from claimback import codes, denials as denial_rules
from claimback.codes import registry
from claimback.lifecycle import blank_to_null, normalise_payer_name, payer_key
from claimback.reconsiderations import PROBLEMS_SCHEMA, find_logs, parse_date, read_rows, row_messages
from claimback.schema import MONEY, conform, empty

CATEGORY = "underpayment"
FEE_SCHEDULE = "fee_schedule"
PAYER_MODAL = "payer_modal_180d"
FEE_SCHEDULE_SUFFIX = "fee_schedule.csv"

FEE_COLUMNS = ("payer", "product", "procedure", "modifier", "expected_allowed", "effective_from", "effective_to")
FEE_REQUIRED = ("payer", "procedure", "expected_allowed")
# Processed as primary (CLP02 1) or as primary and forwarded to another payer (19).
PRIMARY_STATUSES = ("1", "19")
MODAL_LOOKBACK_DAYS = 180
CLEAR_MODE_SHARE = 0.5
_AMOUNT = r"^\d+(\.\d{1,2})?$"


@dataclass(frozen=True)
class Thresholds:
    """When a line is materially below expected, and when the payer's own amounts can tell."""
    min_dollars: float = 5.0
    min_share: float = 0.05
    min_observations: int = 5


# --- the fee schedule ------------------------------------------------------------------------
def read_fee_schedule(paths: Iterable[str | Path]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(fee schedule rows in schema `fee_schedule`, problems[source_file, line_number, problem]).

    A row that cannot be trusted (no payer or procedure, an amount that is not one, a date that
    is not a date, dates the wrong way round) is reported with its file and line and skipped; the
    rest load. Messages name columns and lines, never cell values.
    """
    raws, problems = [], []
    for path in find_logs(paths, FEE_SCHEDULE_SUFFIX):
        raw, structural = read_rows(path, FEE_COLUMNS, FEE_REQUIRED)
        problems.extend(structural)
        if raw.height:
            raws.append(raw)
    if not raws:
        return empty(FEE_SCHEDULE), pl.DataFrame(problems, schema=PROBLEMS_SCHEMA)
    raw = pl.concat(raws, how="diagonal_relaxed")
    raw = raw.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in FEE_COLUMNS if c not in raw.columns)
    raw = raw.with_columns(blank_to_null(pl.col(c)).alias(c) for c in FEE_COLUMNS)
    amount_text = pl.col("expected_allowed").str.replace_all(r"[$,\s]", "")
    typed = raw.with_columns(
        payer=pl.col("payer"),
        product=pl.col("product").str.to_uppercase(),
        procedure=pl.col("procedure").str.to_uppercase(),
        modifier=pl.col("modifier").str.to_uppercase(),
        expected_allowed=pl.when(amount_text.str.contains(_AMOUNT)).then(amount_text).cast(MONEY, strict=False),
        effective_from=parse_date(pl.col("effective_from")),
        effective_to=parse_date(pl.col("effective_to")),
    )
    checks = [
        (raw["payer"].is_null(), "payer is blank"),
        (raw["procedure"].is_null(), "procedure is blank"),
        (raw["expected_allowed"].is_null(), "expected_allowed is blank"),
        (raw["expected_allowed"].is_not_null() & typed["expected_allowed"].is_null(),
         "expected_allowed is not an amount (e.g. 120.00)"),
        (typed["expected_allowed"] <= 0, "expected_allowed is not above zero"),
        (raw["effective_from"].is_not_null() & typed["effective_from"].is_null(),
         "effective_from is not a date (YYYY-MM-DD or MM/DD/YYYY)"),
        (raw["effective_to"].is_not_null() & typed["effective_to"].is_null(),
         "effective_to is not a date (YYYY-MM-DD or MM/DD/YYYY)"),
        (typed["effective_to"] < typed["effective_from"], "effective_to is before effective_from"),
    ]
    typed = typed.with_columns(problems=row_messages(checks))
    bad = (
        typed.filter(pl.col("problems").list.len() > 0)
        .explode("problems")
        .select("source_file", pl.col("source_line").alias("line_number"), pl.col("problems").alias("problem"))
    )
    rows = typed.filter(pl.col("problems").list.len() == 0).sort("source_file", "source_line")
    all_problems = pl.concat([pl.DataFrame(problems, schema=PROBLEMS_SCHEMA), bad]).sort("source_file", "line_number")
    return conform(rows, FEE_SCHEDULE), all_problems


# --- the lines that can be judged --------------------------------------------------------------
def judged_lines(
    adjudications: pl.DataFrame,
    remit_claims: pl.DataFrame,
    remit_service_lines: pl.DataFrame,
    remit_adjustments: pl.DataFrame,
) -> pl.DataFrame:
    """Every line of a primary, paying adjudication with no denial on it, and its allowed amount.

    `adjudications` is `denials.build_adjudications(...)`; `remit_claims` needs claim_key,
    claim_status_code, is_reversal, paid_amount and claim_filing_indicator; the lines need units
    and allowed_amount. Narrow on purpose (a million claims have millions of paid lines, and only
    a few are underpaid): claim_key, `_adj` and `_line` (the row of the adjudication and of the
    line, by which `with_identity` adds the rest to the lines that are kept), `is_latest`,
    practice_key, payer_name, payer_id, product, remit_date, the line's number, procedure,
    `modifier_key` ("26:59", "" for none), service_date, units, charge, paid, allowed_amount and
    `_b6` (it came from AMT*B6).
    """
    claims = adjudications.with_row_index("_adj").filter(
        ~pl.col("is_reversal") & pl.col("claim_status_code").is_in(PRIMARY_STATUSES)
    ).select(
        "_adj", "claim_key", "is_latest", "practice_key", "payer_name", "payer_id", "remit_date",
        pl.col("service_date").alias("claim_service_date"),
    ).join(remit_claims.select("claim_key", pl.col("claim_filing_indicator").alias("product")),
           on="claim_key", how="left")
    adjustments = remit_adjustments.join(claims.select("claim_key"), on="claim_key", how="semi")
    # what denies is a property of the group and CARC: classified once per pair, not per adjustment
    pairs = adjustments.select("group_code", "reason_code").unique()
    denying_pairs = codes.classify(pairs).filter(pl.col("adjustment_kind") == denial_rules.DENIAL_KIND).select(
        "group_code", "reason_code")
    denying = adjustments.join(denying_pairs, on=["group_code", "reason_code"], how="semi", nulls_equal=True)
    claim_denied = denying.filter(pl.col("line_number").is_null()).select("claim_key").unique()
    line_denied = denying.filter(pl.col("line_number").is_not_null()).select("claim_key", "line_number").unique()
    group = pl.col("group_code").str.strip_chars().str.to_uppercase()
    line_adjustments = adjustments.filter(pl.col("line_number").is_not_null())
    patient_share = (
        line_adjustments.filter(group == "PR")
        .group_by("claim_key", "line_number")
        .agg(patient_share=pl.col("amount").sum())
    )
    del adjustments, denying, line_adjustments
    modifier_key = (
        pl.col("modifiers").list.eval(pl.element().str.strip_chars().str.to_uppercase()
                                      .filter(pl.element() != "")).list.sort().list.join(":")
    ).fill_null("")
    lines = (
        remit_service_lines.select("claim_key", "line_number", "procedure_code", "modifiers", "service_date",
                                   "units", "charge_amount", "paid_amount", "allowed_amount")
        .with_row_index("_line")
        .join(claims, on="claim_key")
        .join(claim_denied, on="claim_key", how="anti")
        .join(line_denied, on=["claim_key", "line_number"], how="anti")
        .join(patient_share, on=["claim_key", "line_number"], how="left")
        .with_columns(
            procedure_code=pl.col("procedure_code").str.strip_chars().str.to_uppercase(),
            modifier_key=modifier_key,
            units=pl.when(pl.col("units") > 0).then(pl.col("units")).otherwise(1.0),
            service_date=pl.coalesce("service_date", "claim_service_date"),
            _b6=pl.col("allowed_amount").is_not_null(),
            allowed_amount=pl.coalesce(
                pl.col("allowed_amount").cast(MONEY),
                (pl.col("paid_amount") + pl.col("patient_share").fill_null(0)).cast(MONEY)),
        )
        .filter((pl.col("allowed_amount") > 0) & pl.col("procedure_code").is_not_null())
    )
    return lines.drop("claim_service_date", "patient_share", "modifiers")


def with_identity(lines: pl.DataFrame, adjudications: pl.DataFrame,
                  remit_service_lines: pl.DataFrame) -> pl.DataFrame:
    """`judged_lines` rows with what the table shows of them: the claim's claim_id, patient control
    number and payer claim number, the line's modifiers as sent, and `allowed_source` in words;
    taken by row (`_adj`, `_line`), so only for the lines that are kept."""
    claim = adjudications.select("claim_id", "patient_control_number", "payer_claim_control_number")
    return lines.with_columns(
        claim[name].gather(lines["_adj"]) for name in claim.columns
    ).with_columns(
        remit_service_lines["modifiers"].gather(lines["_line"]),
        allowed_source=pl.when("_b6").then(pl.lit("AMT*B6")).otherwise(pl.lit("paid + patient share")),
    ).drop("_adj", "_line", "_b6")


def hidden_by(lines: pl.DataFrame, remit_adjustments: pl.DataFrame) -> pl.DataFrame:
    """`lines` with `hidden_by`: the line's largest adjustment of a group other than PR ("CO-45")."""
    group = pl.col("group_code").str.strip_chars().str.to_uppercase()
    largest = (
        remit_adjustments.join(lines.select("claim_key", "line_number"), on=["claim_key", "line_number"], how="semi")
        .filter((group != "PR") & (pl.col("amount") > 0))
        .with_columns(reason=pl.concat_str(group, pl.lit("-"), codes.normalize_code(pl.col("reason_code"))))
        .group_by("claim_key", "line_number", "reason")
        .agg(pl.col("amount").sum())
        .sort(["amount", "reason"], descending=[True, False])
        .group_by("claim_key", "line_number", maintain_order=True)
        .agg(hidden_by=pl.col("reason").first())
    )
    return lines.join(largest, on=["claim_key", "line_number"], how="left")


# --- what each line should have been allowed ---------------------------------------------------
def _payer_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per (line, way of naming its payer): its id and its name, compared as words. Not the
    payer key (lifecycle.payer_key): a fee schedule row names its payer as whoever typed it chose,
    by id or by name, so a line matches a row by either."""
    return pl.concat([
        frame.with_columns(payer_match=normalise_payer_name(pl.col("payer_id"))),
        frame.with_columns(payer_match=normalise_payer_name(pl.col("payer_name"))),
    ]).drop_nulls("payer_match").unique(["claim_key", "line_number", "payer_match"])


def fee_schedule_expectations(lines: pl.DataFrame, fee_schedule: pl.DataFrame) -> pl.DataFrame:
    """claim_key, line_number, expected_per_unit and expected_basis of the lines a row covers."""
    schema = {"claim_key": pl.String, "line_number": pl.Int64, "expected_per_unit": MONEY,
              "expected_basis": pl.String}
    if fee_schedule.is_empty() or lines.is_empty():
        return pl.DataFrame(schema=schema)
    rows = fee_schedule.select(
        "expected_allowed", "effective_from", "effective_to", "source_file", "source_line",
        payer_match=normalise_payer_name(pl.col("payer")), procedure_code=pl.col("procedure"),
        row_product=pl.col("product"), row_modifier=pl.col("modifier"))
    keyed = _payer_keys(lines.select("claim_key", "line_number", "payer_id", "payer_name", "product",
                                     "procedure_code", "modifier_key", "service_date"))
    candidates = keyed.join(rows, on=["payer_match", "procedure_code"]).filter(
        pl.col("row_product").is_null() | (pl.col("row_product") == pl.col("product").str.to_uppercase()),
        pl.col("row_modifier").is_null() | pl.col("modifier_key").str.split(":").list.contains(pl.col("row_modifier")),
        pl.col("effective_from").is_null() | (pl.col("service_date") >= pl.col("effective_from")),
        pl.col("effective_to").is_null() | (pl.col("service_date") <= pl.col("effective_to")),
    )
    return (
        candidates.with_columns(
            specificity=pl.col("row_modifier").is_not_null().cast(pl.Int8) * 2
            + pl.col("row_product").is_not_null().cast(pl.Int8))
        .sort(["claim_key", "line_number", "specificity", "effective_from", "source_file", "source_line"],
              descending=[False, False, True, True, False, False], nulls_last=True)
        .unique(["claim_key", "line_number"], keep="first", maintain_order=True)
        .select("claim_key", "line_number", pl.col("expected_allowed").alias("expected_per_unit"),
                expected_basis=pl.format("{} line {}", pl.col("source_file"), pl.col("source_line")))
        .cast(schema)
    )


MODAL_KEY = ["payer_key", "practice_key", "procedure_code", "modifier_key"]
_KEY = ["modal_key"]  # MODAL_KEY hashed into one column (modal_expectations)


def modal_key() -> pl.Expr:
    """One integer per payer × practice × procedure × modifiers: the joins group by it."""
    return pl.struct(*MODAL_KEY).hash().alias("modal_key")


def with_payer_key(lines: pl.DataFrame) -> pl.DataFrame:
    """`payer_key`: the payer as every claim identity names it (lifecycle.payer_key: its id, else its
    name compared as words); practice "?" when unknown. Worked out once per payer named, not per line."""
    payers = lines.select("payer_id", "payer_name").unique().with_columns(payer_key=payer_key())
    return lines.join(payers, on=["payer_id", "payer_name"], how="left", nulls_equal=True,
                      maintain_order="left").with_columns(practice_key=pl.col("practice_key").fill_null("?"))


def votes(observed: pl.DataFrame) -> pl.DataFrame:
    """The judged lines per `modal_key`, per-unit amount and remit day (`n`): everything the modal
    vote counts. A sum over lines, so a night adds the votes of the claims it recomputed and takes
    back their old ones (claimback.stages) instead of counting every line again. `observed` may
    already be votes (then it is returned as it is)."""
    if "n" in observed.columns:
        return observed
    observed = observed if "modal_key" in observed.columns else observed.with_columns(modal_key())
    return (
        observed.drop_nulls("remit_date")
        .with_columns(per_unit=(pl.col("allowed_amount").cast(pl.Float64) / pl.col("units")).round(2))
        .group_by(*_KEY, "per_unit", "remit_date")
        .agg(n=pl.len().cast(pl.Int64))
    )


def modal_expectations(observed: pl.DataFrame, wanted: pl.DataFrame, min_observations: int = 5,
                       lookback_days: int = MODAL_LOOKBACK_DAYS) -> pl.DataFrame:
    """The payer's modal allowed amount per unit for each `wanted` line, where it is clear.

    `observed`: every judged line (MODAL_KEY or its `modal_key`, remit_date, allowed_amount,
    units), or their `votes`; `wanted`: the lines to price (claim_key, line_number, MODAL_KEY or `modal_key`,
    remit_date). A line's window is the
    `lookback_days` before its remit date, its own day excluded. Counted from running totals and
    as-of lookups, so a million lines never meet each other pairwise: the window's lines per key,
    and per amount only for the amounts that could be a clear mode, or tie one, at all: on at least
    half of at least `min_observations` lines, hence on half the lines of one of the window's days.
    Returns claim_key, line_number, expected_per_unit, expected_basis, modal_observations.
    """
    schema = {"claim_key": pl.String, "line_number": pl.Int64, "expected_per_unit": MONEY,
              "expected_basis": pl.String, "modal_observations": pl.Int64}
    if observed.is_empty() or wanted.is_empty():
        return pl.DataFrame(schema=schema)
    wanted = wanted if "modal_key" in wanted.columns else wanted.with_columns(modal_key())
    counted = clear_modes(observed, wanted.select(*_KEY, "remit_date"), min_observations, lookback_days)
    basis = pl.format(
        "the payer's modal allowed amount ${} per unit, on {} of {} lines remitted {} to {}",
        pl.col("mode").round(2).cast(MONEY).cast(pl.String), pl.col("mode_count"), pl.col("observations"),
        (pl.col("remit_date") - timedelta(days=lookback_days)).cast(pl.String),
        (pl.col("remit_date") - timedelta(days=1)).cast(pl.String),
    )
    return (
        wanted.join(counted, on=[*_KEY, "remit_date"])
        .select("claim_key", "line_number", expected_per_unit=pl.col("mode"), expected_basis=basis,
                modal_observations=pl.col("observations"))
        .cast(schema)
    )


def clear_modes(observed: pl.DataFrame, days: pl.DataFrame, min_observations: int = 5,
                lookback_days: int = MODAL_LOOKBACK_DAYS) -> pl.DataFrame:
    """The clear mode of each window of `days` (modal_key, remit_date), where there is one: modal_key,
    remit_date, `mode` (per unit), `mode_count` and `observations` (the window's lines); what the
    vote gives a line remitted that day, and all of it that its `underpaid_lines` row shows.
    `observed` as for `modal_expectations`."""
    schema = {"modal_key": pl.UInt64, "remit_date": pl.Date, "mode": pl.Float64, "mode_count": pl.Int64,
              "observations": pl.Int64}
    if observed.is_empty() or days.is_empty():
        return pl.DataFrame(schema=schema)
    daily = votes(observed)
    # An amount on half a window's lines is on half the lines of at least one of its days, and on
    # at least half of `min_observations` lines in all: only such amounts are counted per window.
    could_be_mode = max(1, math.ceil(CLEAR_MODE_SHARE * min_observations))
    day_lines = pl.col("n").sum().over(*_KEY, "remit_date")
    candidates = (
        daily.with_columns(day_majority=pl.col("n") >= CLEAR_MODE_SHARE * day_lines)
        .group_by(*_KEY, "per_unit")
        .agg(total=pl.col("n").sum(), day_majority=pl.col("day_majority").any())
        .filter((pl.col("total") >= could_be_mode) & pl.col("day_majority"))
        .drop("total", "day_majority")
    )
    days = days.select(*_KEY, "remit_date").drop_nulls("remit_date").unique().with_columns(
        upto=pl.col("remit_date") - timedelta(days=1),
        before=pl.col("remit_date") - timedelta(days=lookback_days + 1),
    )
    # lines in the window per key, then per candidate amount
    observations = _in_window(days, daily.group_by(*_KEY, "remit_date").agg(pl.col("n").sum()), _KEY)
    by_amount = _in_window(days.join(candidates, on=_KEY),
                           daily.join(candidates, on=[*_KEY, "per_unit"], how="semi"), [*_KEY, "per_unit"])
    return (
        by_amount.filter(pl.col("count") > 0)
        .sort(["count", "per_unit"], descending=[True, False])
        .group_by(*_KEY, "remit_date", maintain_order=True)
        .agg(
            mode=pl.col("per_unit").first(),
            mode_count=pl.col("count").first(),
            runner_up=pl.col("count").get(1, null_on_oob=True).fill_null(0),
        )
        .join(observations.select(*_KEY, "remit_date", observations="count"), on=[*_KEY, "remit_date"])
        .filter(
            (pl.col("observations") >= min_observations)
            & (pl.col("mode_count") >= CLEAR_MODE_SHARE * pl.col("observations"))
            & (pl.col("mode_count") > pl.col("runner_up"))
        )
        .select(schema.keys())
        .cast(schema)
    )


def _in_window(grid: pl.DataFrame, daily: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """`grid` (by, remit_date, upto, before) with `count`: the `daily` lines (by, remit_date, n)
    remitted after `before` and up to `upto`, as the difference of two running totals."""
    running = daily.sort("remit_date").with_columns(cum=pl.col("n").cum_sum().over(by))
    for edge in ("upto", "before"):
        at_edge = running.select(*by, pl.col("remit_date").alias(edge), pl.col("cum").alias(f"cum_{edge}"))
        grid = grid.sort(edge).join_asof(at_edge.sort(edge), on=edge, by=by, strategy="backward",
                                          check_sortedness=False)  # sorted on `edge` just above
    return grid.with_columns(count=pl.col("cum_upto").fill_null(0) - pl.col("cum_before").fill_null(0))


def find_underpaid_lines(*args, **kwargs) -> pl.DataFrame:
    """The `underpaid_lines` table: latest-adjudication lines allowed materially below expected
    (`priced_lines`' rows, from the same arguments)."""
    return priced_lines(*args, **kwargs).underpaid


@dataclass(frozen=True)
class Priced:
    underpaid: pl.DataFrame  # the underpaid_lines rows of the claims priced
    votes: pl.DataFrame  # `votes` of their judged lines (every adjudication's)
    unpriced: pl.DataFrame  # claim_key, modal_key, remit_date of their latest lines no fee schedule row covers


def priced_lines(
    adjudications: pl.DataFrame,
    remit_claims: pl.DataFrame,
    remit_service_lines: pl.DataFrame,
    remit_adjustments: pl.DataFrame,
    fee_schedule: pl.DataFrame | None = None,
    thresholds: Thresholds = Thresholds(),
    denied_claim_keys: pl.Series | None = None,
    all_votes: pl.DataFrame | None = None,
) -> Priced:
    """The underpaid lines of the claims of `adjudications`, with what a night keeps: their votes
    and unpriced lines. `denied_claim_keys`: claims already denied for another reason (their lines
    are listed with `is_denial` false, so the shortfall is not a second denial of the claim).
    `all_votes`: every claim's votes, when these are some claims only."""
    lines = with_payer_key(judged_lines(adjudications, remit_claims, remit_service_lines, remit_adjustments))
    latest = lines.filter("is_latest")
    # every judged line votes for its payer's mode: with its key, date and amount only
    own_votes = votes(lines.select(modal_key(), "remit_date", "allowed_amount", "units"))
    del lines
    by_fee = fee_schedule_expectations(latest, fee_schedule if fee_schedule is not None else empty(FEE_SCHEDULE))
    unpriced = latest.join(by_fee, on=["claim_key", "line_number"], how="anti").select(
        "claim_key", "line_number", modal_key(), "remit_date")
    by_mode = modal_expectations(own_votes if all_votes is None else all_votes, unpriced, thresholds.min_observations)
    unpriced = unpriced.select("claim_key", "modal_key", "remit_date").unique()
    expected = pl.concat([
        by_fee.with_columns(expected_source=pl.lit(FEE_SCHEDULE), modal_observations=pl.lit(None, dtype=pl.Int64)),
        by_mode.with_columns(expected_source=pl.lit(PAYER_MODAL)),
    ], how="diagonal_relaxed")
    expected_amount = pl.min_horizontal(
        (pl.col("expected_per_unit").cast(pl.Float64) * pl.col("units")).round(2),
        pl.col("charge_amount").cast(pl.Float64),
    ).cast(MONEY)
    denied = denied_claim_keys.implode() if denied_claim_keys is not None else pl.lit([], dtype=pl.List(pl.String))
    judged = (
        latest.join(expected, on=["claim_key", "line_number"])
        .with_columns(expected_allowed=expected_amount)
        .with_columns(shortfall=(pl.col("expected_allowed") - pl.col("allowed_amount")).cast(MONEY))
        .filter(pl.col("shortfall").cast(pl.Float64) >= pl.max_horizontal(
            pl.lit(thresholds.min_dollars), thresholds.min_share * pl.col("expected_allowed").cast(pl.Float64)))
        .with_columns(is_denial=~pl.col("claim_key").is_in(denied))
    )
    judged = hidden_by(with_identity(judged, adjudications, remit_service_lines), remit_adjustments)
    return Priced(conform(judged.sort("remit_date", "claim_key", "line_number"), "underpaid_lines"),
                  own_votes, unpriced)


def claim_votes(adjudications: pl.DataFrame, remit_claims: pl.DataFrame, remit_service_lines: pl.DataFrame,
                remit_adjustments: pl.DataFrame) -> pl.DataFrame:
    """The `votes` of these adjudications' judged lines (what they add to the modal vote)."""
    lines = with_payer_key(judged_lines(adjudications, remit_claims, remit_service_lines, remit_adjustments))
    return votes(lines.select(modal_key(), "remit_date", "allowed_amount", "units"))


def windows_moved(unpriced: pl.DataFrame, changed: pl.DataFrame,
                  lookback_days: int = MODAL_LOOKBACK_DAYS) -> pl.DataFrame:
    """The `unpriced` lines (claim_key, modal_key, remit_date) whose modal window (the
    `lookback_days` before their remit day) holds a day of `changed` (modal_key, remit_date: votes
    added or taken back): their expected amount may have moved; no other line's can have."""
    if unpriced.is_empty() or changed.is_empty():
        return unpriced.head(0)
    days = changed.select("modal_key", day="remit_date").unique().sort("day")
    return (
        unpriced.sort("remit_date")
        .join_asof(days, left_on="remit_date", right_on="day", by="modal_key", strategy="backward",
                   allow_exact_matches=False, check_sortedness=False)  # both sorted on the day above
        .filter((pl.col("remit_date") - pl.col("day")).dt.total_days() <= lookback_days)
        .select(unpriced.columns)
    )


def results_moved(unpriced: pl.DataFrame, before: pl.DataFrame, after: pl.DataFrame, shown: pl.Series,
                  min_observations: int = 5, lookback_days: int = MODAL_LOOKBACK_DAYS) -> pl.Series:
    """The claim keys of `unpriced` lines (claim_key, modal_key, remit_date) whose published result
    differs between the votes `before` and `after` (`votes`, each holding every vote of these lines'
    windows): the line's clear mode appeared, went or moved, or its mode's counts changed and the
    claim is one of `shown` (claims with `underpaid_lines` rows: a row shows the counts; a line
    without a row keeps none as long as its expected amount holds). A new vote rarely moves a mode,
    so this is far fewer claims than those whose window holds a changed day. Modes worked out per
    distinct key and remit day, with the votes of those keys only."""
    if unpriced.is_empty():
        return pl.Series("claim_key", [], dtype=pl.String)
    days = unpriced.select("modal_key", "remit_date").unique()
    old, new = (clear_modes(kept.join(days, on="modal_key", how="semi"), days, min_observations, lookback_days)
                for kept in (before, after))
    compared = old.join(new, on=["modal_key", "remit_date"], how="full", coalesce=True, suffix="_after")
    mode_moved = pl.col("mode").ne_missing(pl.col("mode_after"))
    counts_moved = (pl.col("mode_count") != pl.col("mode_count_after")) | (
        pl.col("observations") != pl.col("observations_after"))
    moved = compared.filter(mode_moved | counts_moved).select(
        "modal_key", "remit_date", mode_moved=mode_moved)
    return (
        unpriced.join(moved, on=["modal_key", "remit_date"])
        .filter(pl.col("mode_moved") | pl.col("claim_key").is_in(shown.implode()))
        ["claim_key"].unique()
    )


def underpayment_denials(
    underpaid: pl.DataFrame,
    adjudications: pl.DataFrame,
    remit_claims: pl.DataFrame,
    remit_remarks: pl.DataFrame,
    submitted_claims: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One `denials` row per claim whose underpaid lines are its denial (`is_denial`).

    Denied amount = the lines' shortfalls; primary reason = what hid the largest one (CO-45);
    procedure codes = the underpaid lines', largest shortfall first; category `underpayment`, with
    who fixes it and the route from the code registry (a Level I payment dispute).
    """
    mine = underpaid.filter("is_denial")
    if mine.is_empty():
        return empty("denials")
    per_claim = (
        mine.sort(["claim_key", "shortfall", "line_number"], descending=[False, True, False])
        .group_by("claim_key", maintain_order=True)
        .agg(
            denied_amount=pl.col("shortfall").sum(),
            primary_reason=pl.col("hidden_by").drop_nulls().first(),
            reason_codes=pl.col("hidden_by").drop_nulls().unique(maintain_order=True),
            procedure_codes=pl.col("procedure_code").unique(maintain_order=True),
            denied_lines=pl.len().cast(pl.Int64),
        )
    )
    first_remit = adjudications.group_by("claim_id").agg(first_remit_date=pl.col("remit_date").min())
    latest = adjudications.join(per_claim.select("claim_key"), on="claim_key", how="semi").select(
        "claim_key", "claim_id", "practice_key", "patient_control_number", "payer_claim_control_number",
        "payer_name", "payer_id", "remit_date", "service_date", "charge_amount", "paid_amount", "adjudication_count")
    category = registry.registry().categories[CATEGORY]
    frame = (
        per_claim.join(latest, on="claim_key")
        .join(first_remit, on="claim_id", how="left")
        .join(remit_claims.select("claim_key", "rendering_npi"), on="claim_key", how="left")
        .join(denial_rules.remark_lists(remit_remarks, per_claim.select("claim_key")), on="claim_key", how="left")
        .join(denial_rules.submitted_fields(remit_claims, submitted_claims, adjudications, per_claim),
              on="claim_key", how="left")
        .with_columns(
            category=pl.lit(CATEGORY),
            fixable_by=pl.lit(category.fixable_by),
            suggested_route=pl.lit(category.route),
            denial_level=pl.lit("line"),
            primary_reason=pl.col("primary_reason").fill_null(pl.lit("underpaid")),
            remark_codes=pl.col("remark_codes").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            rendering_npi=pl.coalesce("rendering_npi", "submitted_rendering_npi"),
        )
    )
    return conform(frame, "denials")


def denial_line_rows(underpaid: pl.DataFrame) -> pl.DataFrame:
    """The `denial_lines` rows of the underpayment denials: one per underpaid line, the shortfall as
    its amount and the adjustment that hid it as its reason, so a denial's lines add up to it."""
    mine = underpaid.filter("is_denial")
    reason = pl.col("hidden_by").fill_null("underpaid")
    return conform(mine.select(
        "claim_key", "patient_control_number", "line_number", "procedure_code", "modifiers", "service_date",
        line_charge_amount="charge_amount", line_paid_amount="paid_amount", reason=reason,
        group_code=reason.str.split("-").list.first(), reason_code=reason.str.split("-").list.get(1, null_on_oob=True),
        carc_label=pl.format("Allowed ${} where ${} was expected ({})", pl.col("allowed_amount").cast(pl.String),
                             pl.col("expected_allowed").cast(pl.String), pl.col("expected_source")),
        category=pl.lit(CATEGORY), amount="shortfall", remark_codes=pl.lit([], dtype=pl.List(pl.String)),
    ), "denial_lines")
