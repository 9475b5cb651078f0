"""The ingested tables' quality checks, each night over the batches it added: the counts of the
batches checked on earlier nights are kept, so a night's checks cost its new data, not the history.

The x12 suites of `claimback.quality` count rows: is CLP01 there, does the claim balance, is the
code a CARC. A claim's rows and a transaction's rows all come from one file, so they are all in
one batch's part of lake/current (claimback.ingest.consolidate), and a suite's counts over the
whole table are the sums of its counts over any split of the parts. So each night Great
Expectations validates, as one group, the batches no earlier night validated; each group's counts
are kept in lake/state/check_outcomes_<check> with its batches and their versions (the
consolidation's fingerprint of the transaction sets that stand in the part). A group one of whose parts was
written again or dropped since is validated again, whole.

Two rules do not add up over parts, and are worked out otherwise:
* uniqueness (claim_key unique over every remit or 837 claim): a claim key begins with the hash
  of the file it was read from (x12.fields.key_prefix), and a file's rows are all in one batch's
  part, so when no key prefix is in two batches' parts no key can be either, and the groups'
  counts add up; the prefixes of each part are kept (lake/state/check_key_prefixes_<check>, read
  once per part). Should a prefix be in two parts (a file read twice, a lake assembled by hand),
  the keys are counted over every part's key column in Polars, as GX counts them: every non-null
  key that occurs more than once is unexpected;
* the remit date's upper bound moves with the as-of date (a month after it): a group's counts
  stand for tonight's bound when every remit day of the group lay within both its night's bounds
  and tonight's (so none was, or is, outside); otherwise the group is validated again.

The sentences, counts and outcomes are the same as the suites' over the whole tables
(tests/incremental/test_checks_by_part.py checks it night by night).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl

from claimback import ingest, quality
from claimback.lake import Lake

STATE = "check_outcomes"  # lake/state/check_outcomes_<check>: one file per check, as the checks
# may run at once in separate processes (multiprocess or Celery executor) and must not overwrite
# each other's counts
PREFIXES = "check_key_prefixes"  # lake/state/check_key_prefixes_<check>: each part's claim key prefixes
UNIQUE = "ExpectColumnValuesToBeUnique"


@dataclass(frozen=True)
class Check:
    """One x12 check: its tables and columns, in the order `suites` takes them."""
    tables: dict[str, tuple[str, ...]]
    suites: Callable[..., list[quality.SuiteResult]]
    takes_as_of: bool = False
    unique_in: dict[str, str] | None = None  # suite name -> the table whose key must be unique
    dated: bool = False  # the remit dates' bound moves with the as-of date


CHECKS = {
    "remit_structure": Check(
        {"remit_claims": quality.REMIT_STRUCTURE_COLUMNS, "remit_adjustments": quality.ADJUSTMENT_STRUCTURE_COLUMNS},
        quality.remit_structure, unique_in={"remit_claims_structure": "remit_claims"}),
    "submitted_structure": Check(
        {"submitted_claims": quality.SUBMITTED_STRUCTURE_COLUMNS}, quality.submitted_structure,
        unique_in={"submitted_claims_structure": "submitted_claims"}),
    "remit_data_quality": Check(quality.REMIT_DATA_QUALITY_COLUMNS, quality.remit_data_quality,
                                takes_as_of=True, dated=True),
    "submitted_data_quality": Check({"submitted_claims": quality.SUBMITTED_DATA_QUALITY_COLUMNS},
                                    quality.submitted_data_quality, takes_as_of=True),
}

_STATE_SCHEMA = {
    "check": pl.String, "group_batches": pl.List(pl.String), "group_versions": pl.List(pl.String),
    "bound": pl.Int64, "first_day": pl.Int64, "last_day": pl.Int64,
    "suite": pl.String, "rule": pl.Int64, "unexpected": pl.Int64, "total": pl.Int64, "success": pl.Boolean,
}


def run_check(lake: Lake, name: str, as_of: date) -> list[quality.SuiteResult]:
    """Check `name` of CHECKS over the whole ingested tables, validating only what is new."""
    check = CHECKS[name]
    versions = batch_versions(lake, next(iter(check.tables)))
    if versions is None:  # a lake without parts (nothing read yet): the tables whole
        return _suites(check, {t: lake.read(t, c) for t, c in check.tables.items()}, as_of)
    kept = lake.read_state(state_table(name))
    kept = kept if kept.height else pl.DataFrame(schema=_STATE_SCHEMA)
    earliest, latest = quality.remit_date_bounds(as_of)
    bound = latest if check.dated else 0
    kept = _standing(kept, versions, bound, earliest)
    covered = set(kept["group_batches"].explode().drop_nulls().to_list())
    new = sorted(set(versions) - covered)
    frames = {t: lake.read_parts(t, new, c) for t, c in check.tables.items()}
    suites = _suites(check, frames, as_of)
    days = _remit_days(frames) if check.dated else (None, None)
    group = _state_rows(name, suites, new, [versions[b] for b in new], bound, days) if new else kept.clear()
    every_group = pl.concat([kept, group])
    lake.write_state(state_table(name), every_group)
    return _summed(check, suites, every_group, lake, _keys_apart(lake, name, check, versions))


def state_table(name: str) -> str:
    """The lake state table keeping check `name`'s counts per group of batches."""
    return f"{STATE}_{name}"


def state_tables() -> tuple[str, ...]:
    return (*(state_table(name) for name in CHECKS),
            *(f"{PREFIXES}_{name}" for name, check in CHECKS.items() if check.unique_in))


def _keys_apart(lake: Lake, name: str, check: Check, versions: dict[str, str]) -> bool:
    """Whether no claim key prefix of the check's unique table is in two batches' parts, so that no
    key can be (each part's prefixes kept between nights, read for the parts new or rewritten)."""
    if not check.unique_in:
        return False
    table = next(iter(check.unique_in.values()))
    versions = versions if table == next(iter(check.tables)) else batch_versions(lake, table) or {}
    tonight = pl.DataFrame({"batch": list(versions), "version": list(versions.values())},
                           schema={"batch": pl.String, "version": pl.String})
    stored = lake.read_state(f"{PREFIXES}_{name}")
    kept = stored.join(tonight, on=["batch", "version"], how="semi") if stored.height else \
        pl.DataFrame(schema={"batch": pl.String, "version": pl.String, "prefix": pl.String})
    missing = tonight.join(kept, on=["batch", "version"], how="anti")
    # a part without keys keeps one row with no prefix: known, and not read again
    read = [pl.concat([missing.filter(pl.col("batch") == batch).with_columns(prefix=pl.lit(None, pl.String)),
                       lake.read_parts(table, [batch], ["claim_key"]).select(
                           batch=pl.lit(batch), version=pl.lit(version),
                           prefix=pl.col("claim_key").str.slice(0, ingest.KEY_FILE_CHARS)).drop_nulls()]).unique()
            for batch, version in missing.iter_rows()]
    prefixes = pl.concat([kept, *read]).sort("batch", "prefix", nulls_last=True)
    if read or kept.height != stored.height:
        lake.write_state(f"{PREFIXES}_{name}", prefixes)
    return not prefixes["prefix"].drop_nulls().is_duplicated().any()


def batch_versions(lake: Lake, table: str) -> dict[str, str] | None:
    """batch -> the version of its parts (when they were written, which transaction sets stood),
    for the batches with a part of `table`; None when the table is not in parts."""
    parts = lake.current_parts(table)
    if not parts:
        return None
    written = lake.read_state(ingest.CONSOLIDATED)
    known = {} if written.is_empty() else {
        batch: f"{fmt}:{standing}:{fingerprint}"
        for batch, standing, fingerprint, fmt in written.select("batch", "standing", "fingerprint", "format").iter_rows()}
    # consolidation lists every batch it keeps on every run, before the checks; a part it does not
    # list (a lake assembled by hand, as in tests) goes by its name
    return {p.stem: known.get(p.stem, f"unknown:{p.stem}") for p in parts}


def _standing(kept: pl.DataFrame, versions: dict[str, str], bound: int, earliest: int) -> pl.DataFrame:
    """The kept groups that count tonight: their parts are as they were, and their remit dates are
    judged alike under their night's bound and tonight's (`bound`, the last remit day the rule
    accepts tonight; `earliest`, the first it ever accepts)."""
    tonight = {f"{batch}={version}" for batch, version in versions.items()}
    stands = []
    for batches, group_versions, group_bound, first, last in kept.select(
            "group_batches", "group_versions", "bound", "first_day", "last_day").iter_rows():
        same_parts = all(f"{b}={v}" in tonight for b, v in zip(batches, group_versions))
        # every remit day of the group inside both bounds: no row is judged otherwise tonight
        dates_alike = group_bound == bound or first is None or (first >= earliest and last <= min(group_bound, bound))
        stands.append(same_parts and dates_alike)
    return kept.filter(pl.Series(stands, dtype=pl.Boolean)) if kept.height else kept


def _suites(check: Check, frames: dict[str, pl.DataFrame], as_of: date) -> list[quality.SuiteResult]:
    args = [frames[t] for t in check.tables]
    return check.suites(*args, as_of) if check.takes_as_of else check.suites(*args)


def _remit_days(frames: dict[str, pl.DataFrame]) -> tuple[int | None, int | None]:
    days = frames["remit_claims"].select(pl.col("remit_date").cast(pl.Int64)).drop_nulls()
    return (days["remit_date"].min(), days["remit_date"].max()) if days.height else (None, None)


def _state_rows(name, suites, batches, versions, bound, days) -> pl.DataFrame:
    rows = [{"check": name, "group_batches": batches, "group_versions": versions, "bound": bound,
             "first_day": days[0], "last_day": days[1], "suite": suite.name, "rule": index,
             "unexpected": outcome.unexpected, "total": outcome.total, "success": outcome.success}
            for suite in suites for index, outcome in enumerate(suite.outcomes)]
    return pl.DataFrame(rows, schema=_STATE_SCHEMA)


def _summed(check: Check, suites: list[quality.SuiteResult], groups: pl.DataFrame,
            lake: Lake, keys_apart: bool) -> list[quality.SuiteResult]:
    """Tonight's suites with every group's counts added up (uniqueness too when no key can be in
    two parts, `keys_apart`; else over every part)."""
    sums = groups.group_by("suite", "rule").agg(pl.col("unexpected").sum(), pl.col("total").sum(),
                                                pl.col("success").all())
    by_rule = {(s, r): (u, t, ok) for s, r, u, t, ok in sums.iter_rows()}
    out = []
    for suite in suites:
        summed = quality.SuiteResult(suite.name)
        for index, outcome in enumerate(suite.outcomes):
            unexpected, total, success = by_rule.get((suite.name, index), (0, 0, True))
            if outcome.rule.expectation == UNIQUE and check.unique_in and suite.name in check.unique_in \
                    and not keys_apart:
                unexpected, total = repeated_keys(lake, check.unique_in[suite.name], outcome.rule.kwargs["column"])
                success = unexpected == 0
            summed.outcomes.append(quality.Outcome(
                outcome.rule.sentence.format(ok=total - unexpected, total=total), bool(success), int(unexpected),
                int(total), outcome.rule))
        out.append(summed)
    return out


def repeated_keys(lake: Lake, table: str, column: str) -> tuple[int, int]:
    """(rows whose non-null `column` occurs more than once, rows) over every part of `table`: what
    GX's ExpectColumnValuesToBeUnique counts (every copy of a repeated value, nulls never)."""
    keys = lake.scan(table).select(column)
    counted = keys.select(
        repeated=(pl.col(column).is_duplicated() & pl.col(column).is_not_null()).sum(), rows=pl.len()).collect()
    return int(counted["repeated"][0]), int(counted["rows"][0])


def as_json(suites: list[quality.SuiteResult]) -> str:
    """The suites' outcomes as text, for comparing two ways of checking in tests and benches."""
    return json.dumps([[s.name, [[o.sentence, o.success, o.unexpected, o.total] for o in s.outcomes]]
                       for s in suites])
